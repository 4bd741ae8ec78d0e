// What the server itself does to a job's events before any client sees them: stop strings on
// content (holding back partial matches), tool_choice "none" and parallel_tool_calls:false, and
// the final finish_reason. Streaming and non-streaming responses share it, so they agree.
#pragma once

#include <string>
#include <vector>

#include "server/chat_service.h"

namespace gemdesk::server {

// Finds the first occurrence of any stop string across chunk boundaries.
class StopMatcher {
public:
    explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}
    // Returns the text that is safe to emit now; sets stopped when a stop string completed (the
    // returned text then ends right before it and everything later is dropped).
    std::string feed(const std::string & text, bool & stopped);
    std::string flush();  // at the end of generation: whatever was held back
    const std::string & matched() const { return matched_; }  // the stop string hit, or ""

private:
    std::vector<std::string> stops_;
    std::string matched_;
    std::string held_;
};

struct FilterOptions {
    std::vector<std::string> stop;
    bool drop_tool_calls = false;   // tool_choice "none"
    bool single_tool_call = false;  // parallel_tool_calls false
};

class OutputFilter {
public:
    explicit OutputFilter(FilterOptions options);
    // Feeds one content/reasoning/tool_call event and appends the deltas to deliver to `out`.
    // Returns true when a stop string was hit: the caller should cancel generation.
    bool feed(const Event & event, std::vector<Event> & out);
    void flush(std::vector<Event> & out);  // held-back content at the end
    FinishReason finish_reason(FinishReason engine_reason) const;
    int tool_calls_delivered() const { return n_tool_calls_; }
    const std::string & matched_stop() const { return stop_.matched(); }

private:
    FilterOptions options_;
    StopMatcher stop_;
    std::vector<TokenLogprob> held_logprobs_;
    bool stopped_ = false;
    int n_tool_calls_ = 0;
};

}  // namespace gemdesk::server
