// Backend registry: lists backends by name ("cpu-ref", "cpu", "cuda", ...) and creates them.
// Built-in backends are listed by the engine's backend library (backends/cpu/registry.cpp, the one
// place for `#if GEMMA_HAS_CUDA` and friends: core cannot link the backends below it); extra ones
// may be added at startup with backend_register(). Read-only after startup; thread-safe reads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"

namespace gemma {

struct BackendEntry {
    std::string name;
    std::string description;
    std::function<Result<std::unique_ptr<Backend>>()> create;
};

// Every registered backend, built-ins first. A backend listed here may still fail to create
// (no device): backend_create() then returns device_error.
std::vector<BackendEntry> backend_list();
std::vector<std::string> backend_names();
// not_found (listing the known names) for an unknown name.
Result<std::unique_ptr<Backend>> backend_create(const std::string & name);
// Adds a backend (call at startup, before other threads use the registry).
void backend_register(BackendEntry entry);

}  // namespace gemma
