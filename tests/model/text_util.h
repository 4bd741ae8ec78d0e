// Helpers for the text-decoder golden tests: fixture paths, golden tensors as host vectors, the
// relative error used everywhere (||out - ref|| / ||ref||).
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"
#include "../common/golden.h"
#include "io/tensor_source.h"
#include "model/gemma4/text.h"

namespace text_test {

using golden_test::Golden;
using golden_test::kChat;
using golden_test::kTiny;
using golden_test::kTol;
using golden_test::open_golden;
using golden_test::rel_error;

inline double rel_error(const std::vector<float> & out, const float * ref, size_t n) {
    return golden_test::rel_error(out.data(), ref, n);
}

}  // namespace text_test
