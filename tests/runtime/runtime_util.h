// Shared helpers for the runtime tests: fixture paths, golden tensors, loading the tiny models on
// the CPU reference backend, and the relative error (||out - ref|| / ||ref||).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../common/golden.h"
#include "core/registry.h"
#include "io/tensor_source.h"
#include "model/gemma4/text.h"
#include "runtime/scheduler.h"

namespace rt_test {

using golden_test::Golden;
using golden_test::kChat;
using golden_test::kTiny;
using golden_test::kTol;
using golden_test::open_golden;
using golden_test::rel_error;

struct Loaded {
    std::unique_ptr<gemma::Backend> backend;
    std::unique_ptr<gemma::gemma4::TextModel> model;
};

inline Loaded load_model(const std::string & dir, gemma::gemma4::TextModelOptions opts,
                         const std::string & backend = "cpu-ref") {
    Loaded l;
    auto b = gemma::backend_create(backend);
    EXPECT_TRUE(b.ok());
    if (!b.ok()) return l;
    l.backend = std::move(*b);
    auto m = gemma::gemma4::load_text_model(dir, *l.backend, opts);
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (m.ok()) l.model = std::move(*m);
    return l;
}

// Submits r to the scheduler with a new Sink (a TokenSink with bool wait()) and waits for it to
// finish; a failed submit or wait is a test failure.
template <class Sink>
std::shared_ptr<Sink> submit_and_wait(gemma::runtime::Scheduler & s,
                                      gemma::runtime::TokenRequest r) {
    auto c = std::make_shared<Sink>();
    auto id = s.submit(std::move(r), c);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (id.ok()) {
        EXPECT_TRUE(c->wait());
    }
    return c;
}

}  // namespace rt_test
