// ThreadPool: generation-counter handoff (spin, then condition variable), dynamic chunking.
#include "backends/cpu/fast/thread_pool.h"

#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GEMMA_CPU_RELAX() _mm_pause()
#else
#define GEMMA_CPU_RELAX() ((void)0)
#endif

namespace gemma::cpu {
namespace {

// Roughly 20-50 µs of spinning before sleeping: long enough to bridge consecutive ops of one
// forward step, short enough not to steal a shared core for long.
constexpr int kSpinIterations = 20000;

}  // namespace

int default_thread_count() {
    if (const char * env = std::getenv("GEMMA_CPU_THREADS")) {
        int n = std::atoi(env);
        if (n > 0) return n;
    }
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : int(hw);
}

ThreadPool::ThreadPool(int n_threads) {
    for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_main(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_work_.notify_all();
    for (std::thread & t : workers_) t.join();
}

void ThreadPool::run_chunks() {
    for (;;) {
        int64_t begin = next_.fetch_add(grain_, std::memory_order_relaxed);
        if (begin >= n_) return;
        int64_t end = begin + grain_ < n_ ? begin + grain_ : n_;
        (*fn_)(begin, end);
    }
}

void ThreadPool::worker_main() {
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = generation_.load(std::memory_order_acquire);
        for (int i = 0; i < kSpinIterations && gen == seen; ++i) {
            GEMMA_CPU_RELAX();
            gen = generation_.load(std::memory_order_acquire);
        }
        if (gen == seen) {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_work_.wait(lock,
                          [&] { return generation_.load(std::memory_order_acquire) != seen; });
            gen = generation_.load(std::memory_order_acquire);
        }
        seen = gen;
        if (stop_) return;
        run_chunks();
        if (n_busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);
            cv_done_.notify_one();
        }
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)> & fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (workers_.empty() || n <= grain) {
        fn(0, n);
        return;
    }
    fn_ = &fn;
    n_ = n;
    grain_ = grain;
    next_.store(0, std::memory_order_relaxed);
    n_busy_.store(int(workers_.size()), std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_work_.notify_all();
    run_chunks();
    for (int i = 0; i < kSpinIterations && n_busy_.load(std::memory_order_acquire) != 0; ++i)
        GEMMA_CPU_RELAX();
    if (n_busy_.load(std::memory_order_acquire) != 0) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_done_.wait(lock, [&] { return n_busy_.load(std::memory_order_acquire) == 0; });
    }
    fn_ = nullptr;
}

}  // namespace gemma::cpu
