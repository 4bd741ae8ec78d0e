// ThreadPool: the fast CPU backend's workers (all cores, no OpenMP). One caller at a time hands a
// parallel loop to the pool and takes part in it; chunks are claimed dynamically, and the caller
// waits for finished chunks, not for every worker to wake, so a worker the OS has not scheduled
// (a loaded desktop) costs nothing. Workers spin briefly, then sleep, between loops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gemma::cpu {

class ThreadPool {
public:
    // n_threads counts the caller: 1 = no worker threads (everything runs on the caller).
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool & operator=(const ThreadPool &) = delete;

    int size() const { return int(workers_.size()) + 1; }

    // Calls fn(begin, end) over [0, n) in chunks of `grain` items (the last may be shorter),
    // chunks handed out dynamically; returns when every chunk is done. Not reentrant: fn must not
    // call parallel_for. Thread-compatible: one caller thread at a time.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> & fn);

private:
    // One parallel loop; lives in the pool and is reused (workers hold refs_ while they use it).
    struct Job {
        const std::function<void(int64_t, int64_t)> * fn = nullptr;
        int64_t n = 0, grain = 1, n_chunks = 0;
        std::atomic<int64_t> next{0};  // next chunk to claim
        std::atomic<int64_t> done{0};  // chunks finished
    };

    void worker_main();
    void run_chunks(Job & job);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable cv_work_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
    Job job_;
    std::atomic<Job *> current_{nullptr};  // &job_ while a loop runs, else null
    std::atomic<int> refs_{0};             // workers between "saw a job" and "left it"
};

// Number of threads the fast backend uses by default: GEMMA_CPU_THREADS when set to a positive
// integer, else the hardware concurrency (at least 1).
int default_thread_count();

}  // namespace gemma::cpu
