// parallel_for (parallel.h).
#include "core/parallel.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace gemma {

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> & fn) {
    const int64_t hw = std::max(1u, std::thread::hardware_concurrency());
    const int64_t parts = std::min(hw, std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
    if (parts <= 1) {
        if (n > 0) fn(0, n);
        return;
    }
    std::vector<std::thread> threads;
    const int64_t step = (n + parts - 1) / parts;
    for (int64_t b = step; b < n; b += step)
        threads.emplace_back([&fn, b, step, n] { fn(b, std::min(n, b + step)); });
    fn(0, std::min(n, step));
    for (std::thread & t : threads) t.join();
}

}  // namespace gemma
