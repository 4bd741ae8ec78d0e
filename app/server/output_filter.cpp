// Stop-string matching and tool-call filtering over a job's event stream.
#include "server/output_filter.h"

#include <algorithm>

namespace gemdesk::server {

std::string StopMatcher::feed(const std::string & text, bool & stopped) {
    stopped = false;
    held_ += text;
    if (stops_.empty()) {
        std::string out;
        out.swap(held_);
        return out;
    }
    size_t first = std::string::npos;
    for (const auto & s : stops_) {
        size_t at = held_.find(s);
        if (at < first) {
            first = at;
            matched_ = s;
        }
    }
    if (first != std::string::npos) {
        stopped = true;
        std::string out = held_.substr(0, first);
        held_.clear();
        return out;
    }
    // Hold back the longest suffix that could still grow into a stop string.
    size_t keep = 0;
    for (const auto & s : stops_) {
        for (size_t len = std::min(s.size() - 1, held_.size()); len > keep; --len) {
            if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
                keep = len;
                break;
            }
        }
    }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

std::string StopMatcher::flush() {
    std::string out;
    out.swap(held_);
    return out;
}

OutputFilter::OutputFilter(FilterOptions options)
    : options_(std::move(options)), stop_(options_.stop) {}

bool OutputFilter::feed(const Event & event, std::vector<Event> & out) {
    if (stopped_) return true;
    switch (event.kind) {
        case Event::Kind::reasoning:
            if (!event.text.empty()) out.push_back(event);
            return false;
        case Event::Kind::tool_call:
            if (options_.drop_tool_calls) return false;
            if (options_.single_tool_call && n_tool_calls_ >= 1) return false;
            n_tool_calls_++;
            out.push_back(event);
            return false;
        case Event::Kind::content: {
            held_logprobs_.insert(held_logprobs_.end(), event.logprobs.begin(),
                                  event.logprobs.end());
            bool hit = false;
            std::string text = stop_.feed(event.text, hit);
            if (!text.empty() || (hit && !held_logprobs_.empty())) {
                Event delta;
                delta.kind = Event::Kind::content;
                delta.text = std::move(text);
                delta.logprobs = std::move(held_logprobs_);
                held_logprobs_.clear();
                out.push_back(std::move(delta));
            }
            stopped_ = hit;
            return hit;
        }
        case Event::Kind::finish:
        case Event::Kind::error:
            break;
    }
    return false;
}

void OutputFilter::flush(std::vector<Event> & out) {
    std::string rest = stop_.flush();
    if (rest.empty() && held_logprobs_.empty()) return;
    Event delta;
    delta.kind = Event::Kind::content;
    delta.text = std::move(rest);
    delta.logprobs = std::move(held_logprobs_);
    held_logprobs_.clear();
    out.push_back(std::move(delta));
}

FinishReason OutputFilter::finish_reason(FinishReason engine_reason) const {
    if (stopped_) return FinishReason::stop;
    if (n_tool_calls_ > 0) return FinishReason::tool_calls;
    if (engine_reason == FinishReason::tool_calls)
        return FinishReason::stop;  // every call was dropped
    return engine_reason;
}

const char * finish_reason_name(FinishReason reason) {
    switch (reason) {
        case FinishReason::stop:
            return "stop";
        case FinishReason::length:
            return "length";
        case FinishReason::tool_calls:
            return "tool_calls";
        case FinishReason::cancelled:
            return "cancelled";
    }
    return "stop";
}

}  // namespace gemdesk::server
