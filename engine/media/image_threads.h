// Threads for the image preprocessing: one fork-join per image over contiguous row ranges
// (std::thread, no pool), so the spawn cost (tens of µs a thread) is paid once per call, not per
// pass.
#pragma once

#include <cstdint>
#include <functional>

namespace gemma::media {

// More threads than this gain little on one image (memory bound) and take cores from the model.
constexpr int kMaxImageThreads = 8;

// Threads for `work` units: `requested` when > 0 (tests pin it), else the hardware concurrency
// capped at kMaxImageThreads, lowered so that each thread gets at least `min_work_per_thread`
// (small images stay on the caller's thread). Always >= 1.
int image_thread_count(int requested, int64_t work, int64_t min_work_per_thread);

// fn(part, begin, end) over [0, n) split into min(n_parts, n) contiguous ranges of near-equal
// length, part k on its own thread (part 0 on the caller's); returns when all are done. fn must be
// safe for disjoint ranges and must not throw. A thread that cannot be started (system limits)
// has its range run on the caller instead, so the result never depends on the thread count.
void run_row_ranges(int64_t n, int n_parts, const std::function<void(int, int64_t, int64_t)> & fn);

}  // namespace gemma::media
