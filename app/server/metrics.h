// Prometheus metrics for /metrics: request counts by route and status, token counters, TTFT and
// latency histograms, in-flight requests, plus the service's queue depth and KV-cache use.
// Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "server/chat_service.h"

namespace gemdesk::server {

class Histogram {
public:
    static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
                                                       0.5,   1.0,  2.5,   5.0,  10.0, 30.0};
    void observe(double seconds);
    void render(std::string & out, const std::string & name) const;

private:
    std::array<uint64_t, kBounds.size()> counts_{};  // non-cumulative per bucket
    uint64_t count_ = 0;
    double sum_ = 0.0;
};

class Metrics {
public:
    void count_request(const std::string & route, int status);
    void count_tokens(int prompt_tokens, int completion_tokens);
    void observe_ttft(double seconds);
    void observe_latency(double seconds);
    void count_rejected();   // 429s from the concurrency cap
    void count_cancelled();  // generations cancelled because the client went away
    // in_flight: generation requests holding a concurrency slot now.
    std::string render(const ServiceStats & stats, int in_flight) const;

private:
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    uint64_t prompt_tokens_ = 0, completion_tokens_ = 0, rejected_ = 0, cancelled_ = 0;
    Histogram ttft_, latency_;
};

}  // namespace gemdesk::server
