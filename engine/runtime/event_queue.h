// A blocking, closable multi-producer queue: how the inference thread hands events to whoever
// reads a response stream (HTTP handler, UI, CLI), with timeouts so readers can poll for cancel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace gemma::runtime {

// Thread-safe. After close(), pop() drains what is left and then returns false at once.
template <class T>
class EventQueue {
public:
    void push(T item) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (closed_) return;
            items_.push_back(std::move(item));
        }
        cv_.notify_all();
    }
    void close() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            closed_ = true;
        }
        cv_.notify_all();
    }
    // Waits up to `wait` for an item; false on timeout or when closed and empty.
    bool pop(T & out, std::chrono::milliseconds wait) {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, wait, [&] { return !items_.empty() || closed_; })) return false;
        if (items_.empty()) return false;
        out = std::move(items_.front());
        items_.pop_front();
        return true;
    }
    bool closed() const {
        std::lock_guard<std::mutex> lock(mu_);
        return closed_ && items_.empty();
    }

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<T> items_;
    bool closed_ = false;
};

}  // namespace gemma::runtime
