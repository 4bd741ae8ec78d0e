// ThreadPool: generation-counter wake-up (spin, then condition variable), dynamic chunk claiming,
// completion counted in chunks. A worker announces itself in refs_ before touching the job, so
// the caller only ever waits for workers that are actually inside the loop.
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

// A few tens of µs of spinning before sleeping: bridges consecutive ops of one forward step
// without stealing a shared core for long.
constexpr int kSpinIterations = 4000;

// Waits until pred() holds: spins briefly, then yields the core to whoever runs the missing work.
template <class Pred>
void wait_until(Pred pred) {
    for (int i = 0; i < kSpinIterations; ++i) {
        if (pred()) return;
        GEMMA_CPU_RELAX();
    }
    while (!pred()) std::this_thread::yield();
}

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
        stop_.store(true, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_work_.notify_all();
    for (std::thread & t : workers_) t.join();
}

void ThreadPool::run_chunks(Job & job) {
    for (;;) {
        int64_t c = job.next.fetch_add(1, std::memory_order_relaxed);
        if (c >= job.n_chunks) return;
        int64_t begin = c * job.grain;
        int64_t end = begin + job.grain < job.n ? begin + job.grain : job.n;
        (*job.fn)(begin, end);
        job.done.fetch_add(1, std::memory_order_release);
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
        if (stop_.load(std::memory_order_acquire)) return;
        refs_.fetch_add(1, std::memory_order_seq_cst);
        Job * job = current_.load(std::memory_order_seq_cst);
        if (job != nullptr) run_chunks(*job);  // a late wake-up may find the loop over (null)
        refs_.fetch_sub(1, std::memory_order_release);
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)> & fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (workers_.empty() || n <= grain) {
        for (int64_t b = 0; b < n; b += grain) fn(b, b + grain < n ? b + grain : n);
        return;
    }
    job_.fn = &fn;
    job_.n = n;
    job_.grain = grain;
    job_.n_chunks = (n + grain - 1) / grain;
    job_.next.store(0, std::memory_order_relaxed);
    job_.done.store(0, std::memory_order_relaxed);
    current_.store(&job_, std::memory_order_seq_cst);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_work_.notify_all();
    run_chunks(job_);
    wait_until([&] { return job_.done.load(std::memory_order_acquire) == job_.n_chunks; });
    // Close the loop, then let any worker still holding it leave before job_ is reused.
    current_.store(nullptr, std::memory_order_seq_cst);
    wait_until([&] { return refs_.load(std::memory_order_seq_cst) == 0; });
}

}  // namespace gemma::cpu
