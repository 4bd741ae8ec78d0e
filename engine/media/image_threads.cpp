// image_thread_count and run_row_ranges (image_threads.h).
#include "media/image_threads.h"

#include <algorithm>
#include <system_error>
#include <thread>
#include <vector>

namespace gemma::media {

int image_thread_count(int requested, int64_t work, int64_t min_work_per_thread) {
    if (requested > 0) return requested;
    const int64_t hw =
        std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, kMaxImageThreads);
    return int(std::clamp<int64_t>(work / std::max<int64_t>(min_work_per_thread, 1), 1, hw));
}

void run_row_ranges(int64_t n, int n_parts, const std::function<void(int, int64_t, int64_t)> & fn) {
    if (n <= 0) return;
    const int parts = int(std::clamp<int64_t>(n_parts, 1, n));
    auto begin = [&](int k) { return n * k / parts; };
    std::vector<std::thread> threads;
    threads.reserve(size_t(parts));
    std::vector<int> inline_parts;  // parts whose thread could not be started
    for (int k = 1; k < parts; ++k) {
        try {
            threads.emplace_back([&fn, k, b = begin(k), e = begin(k + 1)] { fn(k, b, e); });
        } catch (const std::system_error &) {
            inline_parts.push_back(k);
        }
    }
    fn(0, 0, begin(1));
    for (int k : inline_parts) fn(k, begin(k), begin(k + 1));
    for (std::thread & t : threads) t.join();
}

}  // namespace gemma::media
