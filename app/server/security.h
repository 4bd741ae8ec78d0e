// Security building blocks: constant-time API-key comparison, Authorization header parsing,
// loopback detection for the bind address, the CORS allowlist and the concurrency cap.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

namespace gemdesk::server {

// Compares in time that depends only on the lengths, never on where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// The key from "Authorization: Bearer KEY" or, failing that, "x-api-key: KEY"; "" if neither.
std::string api_key_from_headers(const std::string & authorization, const std::string & x_api_key);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string & host);

// An Origin is allowed only when listed exactly ("https://app.example") or the list holds "*".
bool origin_allowed(const std::vector<std::string> & allowlist, const std::string & origin);

// Caps concurrent generation requests. Thread-safe.
class ConcurrencyGate {
public:
    explicit ConcurrencyGate(int limit) : limit_(limit) {}
    bool try_acquire();
    void release();
    int in_use() const { return in_use_.load(); }

private:
    int limit_;
    std::atomic<int> in_use_{0};
};

// RAII hold on one ConcurrencyGate slot.
class GateSlot {
public:
    explicit GateSlot(ConcurrencyGate & gate) : gate_(&gate), held_(gate.try_acquire()) {}
    ~GateSlot() {
        if (held_) gate_->release();
    }
    GateSlot(const GateSlot &) = delete;
    GateSlot & operator=(const GateSlot &) = delete;
    bool held() const { return held_; }

private:
    ConcurrencyGate * gate_;
    bool held_;
};

}  // namespace gemdesk::server
