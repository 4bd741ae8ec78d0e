// The CPU reference backend ("cpu-ref"): host memory, eager in-order execution, every op a plain
// loop from ref/ (f32 accumulation). Slow on purpose; it is the numerical reference for the
// optimized backends and the path the goldens are checked on.
#pragma once

#include <memory>

#include "core/backend.h"

namespace gemma::cpu {

std::unique_ptr<Backend> make_cpu_ref_backend();

}  // namespace gemma::cpu
