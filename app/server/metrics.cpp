// Metrics bookkeeping and the Prometheus text exposition format (version 0.0.4).
#include "server/metrics.h"

#include "core/status.h"

namespace gemdesk::server {

void Histogram::observe(double seconds) {
    count_++;
    sum_ += seconds;
    for (size_t i = 0; i < kBounds.size(); ++i) {
        if (seconds <= kBounds[i]) {
            counts_[i]++;
            return;
        }
    }
}

void Histogram::render(std::string & out, const std::string & name) const {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBounds.size(); ++i) {
        cumulative += counts_[i];
        out += gemma::format("%s_bucket{le=\"%g\"} %llu\n", name.c_str(), kBounds[i],
                             (unsigned long long)cumulative);
    }
    out += gemma::format("%s_bucket{le=\"+Inf\"} %llu\n", name.c_str(), (unsigned long long)count_);
    out += gemma::format("%s_sum %.6f\n%s_count %llu\n", name.c_str(), sum_, name.c_str(),
                         (unsigned long long)count_);
}

void Metrics::count_request(const std::string & route, int status) {
    std::lock_guard lock(mu_);
    requests_[{route, status}]++;
}

void Metrics::count_tokens(int prompt_tokens, int completion_tokens) {
    std::lock_guard lock(mu_);
    prompt_tokens_ += uint64_t(std::max(prompt_tokens, 0));
    completion_tokens_ += uint64_t(std::max(completion_tokens, 0));
}

void Metrics::observe_ttft(double seconds) {
    std::lock_guard lock(mu_);
    ttft_.observe(seconds);
}

void Metrics::observe_latency(double seconds) {
    std::lock_guard lock(mu_);
    latency_.observe(seconds);
}

void Metrics::count_rejected() {
    std::lock_guard lock(mu_);
    rejected_++;
}

void Metrics::count_cancelled() {
    std::lock_guard lock(mu_);
    cancelled_++;
}

std::string Metrics::render(const ServiceStats & stats, int in_flight) const {
    std::lock_guard lock(mu_);
    std::string out;
    out += "# HELP gemdesk_requests_total HTTP requests by route and status code.\n";
    out += "# TYPE gemdesk_requests_total counter\n";
    for (const auto & [key, n] : requests_)
        out += gemma::format("gemdesk_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                             key.first.c_str(), key.second, (unsigned long long)n);
    out +=
        "# HELP gemdesk_prompt_tokens_total Prompt tokens processed.\n# TYPE "
        "gemdesk_prompt_tokens_total counter\n";
    out += gemma::format("gemdesk_prompt_tokens_total %llu\n", (unsigned long long)prompt_tokens_);
    out +=
        "# HELP gemdesk_completion_tokens_total Tokens generated.\n# TYPE "
        "gemdesk_completion_tokens_total counter\n";
    out += gemma::format("gemdesk_completion_tokens_total %llu\n",
                         (unsigned long long)completion_tokens_);
    out +=
        "# HELP gemdesk_rejected_requests_total Requests refused with 429 by the concurrency "
        "cap.\n";
    out += "# TYPE gemdesk_rejected_requests_total counter\n";
    out += gemma::format("gemdesk_rejected_requests_total %llu\n", (unsigned long long)rejected_);
    out +=
        "# HELP gemdesk_cancelled_requests_total Generations cancelled because the client "
        "disconnected.\n";
    out += "# TYPE gemdesk_cancelled_requests_total counter\n";
    out += gemma::format("gemdesk_cancelled_requests_total %llu\n", (unsigned long long)cancelled_);
    out +=
        "# HELP gemdesk_time_to_first_token_seconds Time from request to the first generated "
        "token.\n";
    out += "# TYPE gemdesk_time_to_first_token_seconds histogram\n";
    ttft_.render(out, "gemdesk_time_to_first_token_seconds");
    out += "# HELP gemdesk_request_duration_seconds Generation request latency, end to end.\n";
    out += "# TYPE gemdesk_request_duration_seconds histogram\n";
    latency_.render(out, "gemdesk_request_duration_seconds");
    out += "# HELP gemdesk_requests_in_flight Generation requests being served now.\n";
    out += "# TYPE gemdesk_requests_in_flight gauge\n";
    out += gemma::format("gemdesk_requests_in_flight %d\n", in_flight);
    out +=
        "# HELP gemdesk_queue_depth Jobs waiting for an engine slot.\n# TYPE gemdesk_queue_depth "
        "gauge\n";
    out += gemma::format("gemdesk_queue_depth %d\n", stats.queue_depth);
    out += "# HELP gemdesk_running_jobs Jobs decoding now.\n# TYPE gemdesk_running_jobs gauge\n";
    out += gemma::format("gemdesk_running_jobs %d\n", stats.running);
    out += "# HELP gemdesk_kv_cache_usage_ratio Fraction of the KV cache in use.\n";
    out += "# TYPE gemdesk_kv_cache_usage_ratio gauge\n";
    out += gemma::format("gemdesk_kv_cache_usage_ratio %.4f\n", stats.kv_used);
    return out;
}

}  // namespace gemdesk::server
