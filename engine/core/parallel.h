// A plain fork-join loop over std::thread for host-side work outside the backends (media
// preprocessing, the CPU towers): no pool, so it suits calls of a few milliseconds and more.
#pragma once

#include <cstdint>
#include <functional>

namespace gemma {

// fn(begin, end) over [0, n) split into contiguous ranges of at least `grain` items across the
// hardware threads (inline when one range suffices). fn must be safe for disjoint ranges; it must
// not call OpenBLAS (which has its own threads).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> & fn);

}  // namespace gemma
