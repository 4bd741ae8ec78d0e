// image_thread_count (image_threads.h).
#include "media/image_threads.h"

#include <algorithm>
#include <thread>

namespace gemma::media {

int image_thread_count(int requested, int64_t work, int64_t min_work_per_thread) {
    if (requested > 0) return requested;
    const int64_t hw =
        std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, kMaxImageThreads);
    return int(std::clamp<int64_t>(work / std::max<int64_t>(min_work_per_thread, 1), 1, hw));
}

}  // namespace gemma::media
