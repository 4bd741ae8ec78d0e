// How many threads the image preprocessing uses: one band of output rows per thread, run by
// core's parallel_for once per image (the spawn cost, tens of µs a thread, paid once per call).
#pragma once

#include <cstdint>

namespace gemma::media {

// More threads than this gain little on one image (memory bound) and take cores from the model.
constexpr int kMaxImageThreads = 8;

// Threads for `work` units: `requested` when > 0 (tests pin it), else the hardware concurrency
// capped at kMaxImageThreads, lowered so that each thread gets at least `min_work_per_thread`
// (small images stay on the caller's thread). Always >= 1.
int image_thread_count(int requested, int64_t work, int64_t min_work_per_thread);

}  // namespace gemma::media
