// Streaming Gemma 4 output parser (tool_protocol.h). Text is scanned for the special-token texts;
// any suffix that could still become one is held back until the next chunk decides it, so the
// result never depends on chunk boundaries.
#include "runtime/tool_protocol.h"

#include <algorithm>
#include <cstdio>

#include "runtime/tool_call_args.h"

namespace gemma::chat {
namespace {

constexpr std::string_view kChannelOpen = "<|channel>";
constexpr std::string_view kChannelClose = "<channel|>";
constexpr std::string_view kCallOpen = "<|tool_call>";
constexpr std::string_view kCallClose = "<tool_call|>";
constexpr std::string_view kToolResponse = "<|tool_response>";
constexpr std::string_view kTurnEnd = "<turn|>";
constexpr std::string_view kEos = "<eos>";
constexpr std::string_view kLabel = "thought\n";
constexpr std::string_view kLabelThenClose = "thought<channel|>";

constexpr std::string_view kAllMarkers[] = {kChannelOpen,  kChannelClose, kCallOpen, kCallClose,
                                            kToolResponse, kTurnEnd,      kEos};
// What ends a call: its closer, recovery closers, or the next call's opener.
constexpr std::string_view kCallEnders[] = {kCallClose, kTurnEnd, kEos, kToolResponse, kCallOpen};

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

struct Found {
    size_t pos = std::string_view::npos;
    std::string_view token;
};

template <size_t N>
Found find_marker(std::string_view s, const std::string_view (&markers)[N]) {
    Found f;
    for (auto m : markers) {
        size_t p = s.find(m);
        if (p < f.pos) f = {p, m};
    }
    return f;
}

// Length of the longest suffix of s that is a proper prefix of one of the markers.
template <size_t N>
size_t held_suffix(std::string_view s, const std::string_view (&markers)[N]) {
    size_t best = 0;
    for (auto m : markers) {
        for (size_t k = std::min(s.size(), m.size() - 1); k > best; --k) {
            if (s.substr(s.size() - k) == m.substr(0, k)) {
                best = k;
                break;
            }
        }
    }
    return best;
}

// Emits `text` with end trimming: leading whitespace is dropped until something was emitted,
// trailing whitespace is held in `pending` until more non-space text follows.
void emit_trimmed(std::string_view text, bool & emitted, std::string & pending,
                  ChatEvent::Kind kind, std::vector<ChatEvent> & events) {
    size_t end = text.size();
    while (end > 0 && is_ws(text[end - 1])) --end;
    if (end == 0) {
        if (emitted) pending += text;
        return;
    }
    size_t begin = 0;
    if (!emitted) {
        while (begin < end && is_ws(text[begin])) ++begin;
    }
    ChatEvent e;
    e.kind = kind;
    e.text = pending;
    e.text += text.substr(begin, end - begin);
    events.push_back(std::move(e));
    pending.assign(text.substr(end));
    emitted = true;
}

}  // namespace

ChatOutputParser::ChatOutputParser(ChatParserOptions options) : options_(std::move(options)) {
    uint64_t seed = options_.id_seed;
    if (seed == 0) {
        std::random_device rd;
        seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    }
    rng_.seed(seed);
    if (options_.start_in_reasoning_label) {
        mode_ = Mode::label;
    } else if (options_.start_in_reasoning) {
        mode_ = Mode::reasoning;
    }
    at_output_start_ = mode_ == Mode::content;
}

std::vector<ChatEvent> ChatOutputParser::feed(std::string_view chunk) {
    std::vector<ChatEvent> events;
    if (mode_ == Mode::done) return events;
    buf_.append(chunk);
    process(false, events);
    return events;
}

std::vector<ChatEvent> ChatOutputParser::finish() {
    std::vector<ChatEvent> events;
    process(true, events);
    content_ws_.clear();
    reasoning_ws_.clear();
    buf_.clear();
    mode_ = Mode::done;
    return events;
}

void ChatOutputParser::process(bool final, std::vector<ChatEvent> & events) {
    while (true) {
        bool progressed = false;
        switch (mode_) {
            case Mode::content:
                progressed = step_content(final, events);
                break;
            case Mode::label:
                progressed = step_label(final);
                break;
            case Mode::reasoning:
                progressed = step_reasoning(final, events);
                break;
            case Mode::tool:
                progressed = step_tool(final, events);
                break;
            case Mode::done:
                buf_.clear();
                break;
        }
        if (!progressed) return;
    }
}

// After a `<|tool_call>` at buf_[at]: the opener's full length when `call:` (or `:call:`) follows,
// 0 when something else follows (literal text), -1 when the next chunk is needed to tell.
int ChatOutputParser::call_opener_length(size_t at, bool final) const {
    std::string_view rest = std::string_view(buf_).substr(at + kCallOpen.size());
    for (std::string_view form : {std::string_view("call:"), std::string_view(":call:")}) {
        if (starts_with(rest, form)) return static_cast<int>(kCallOpen.size() + form.size());
    }
    bool may_follow = starts_with("call:", rest) || starts_with(":call:", rest);
    return (may_follow && !final) ? -1 : 0;
}

// At a segment start: a bare `call:NAME{` for a declared NAME opens a recovered call.
bool ChatOutputParser::bare_call_start(bool final, bool & wait) {
    if (options_.declared_tools.empty()) return false;
    size_t k = 0;
    while (k < buf_.size() && is_ws(buf_[k])) ++k;
    std::string_view rest = std::string_view(buf_).substr(k);
    bool maybe = false;
    for (const auto & name : options_.declared_tools) {
        std::string pattern = "call:" + name + "{";
        if (starts_with(rest, pattern)) {
            content_ws_.clear();
            buf_.erase(0, k + 5);
            tool_opener_ = "call:";
            tool_body_.clear();
            tool_bare_ = true;
            segment_start_ = false;
            mode_ = Mode::tool;
            return true;
        }
        maybe = maybe || starts_with(pattern, rest);
    }
    wait = maybe && !final;
    return false;
}

// The first n bytes of buf_ open a tool call: keep them as the opener, parse the body next.
void ChatOutputParser::begin_tool_call(size_t n) {
    tool_opener_ = buf_.substr(0, n);
    tool_body_.clear();
    tool_bare_ = false;
    buf_.erase(0, n);
    mode_ = Mode::tool;
}

bool ChatOutputParser::step_content(bool final, std::vector<ChatEvent> & events) {
    if (at_output_start_) {
        if (starts_with(buf_, kLabel)) {
            buf_.erase(0, kLabel.size());
        } else if (!final && starts_with(kLabel, buf_)) {
            return false;
        }
        at_output_start_ = false;
        return true;
    }
    if (!content_emitted_) {
        size_t k = 0;
        while (k < buf_.size() && is_ws(buf_[k])) ++k;
        buf_.erase(0, k);
        if (buf_.empty()) return false;
    }
    if (segment_start_) {
        bool wait = false;
        if (bare_call_start(final, wait)) return true;
        if (wait) return false;
        segment_start_ = false;
        return true;
    }
    std::string_view token;  // a marker other than a call, consumed
    if (auto r =
            text_until_marker(final, &ChatOutputParser::emit_content, content_ws_, events, &token))
        return *r;
    if (token == kChannelOpen) {
        content_ws_.clear();
        mode_ = Mode::label;
    } else if (token == kChannelClose) {
        segment_start_ = true;  // stray close: swallowed
    } else if (token != kCallClose) {
        content_ws_.clear();  // <turn|>, <eos>, <|tool_response>: end of the reply
        mode_ = Mode::done;
    }
    return true;
}

// The shared part of the content and reasoning steps: the text before the next marker goes out
// through `emit` (a possible partial marker at the end is held back unless final), and
// "<|tool_call>" starts a call (clearing the text's held whitespace `ws`): then the step's result
// (false: wait for more input). Any other marker at the front is consumed, returned in *token,
// and the result is empty: the caller acts on the marker.
std::optional<bool> ChatOutputParser::text_until_marker(bool final, EmitFn emit, std::string & ws,
                                                        std::vector<ChatEvent> & events,
                                                        std::string_view * token) {
    Found f = find_marker(buf_, kAllMarkers);
    if (f.pos != 0) {
        size_t n = f.pos != std::string_view::npos
                       ? f.pos
                       : buf_.size() - (final ? 0 : held_suffix(buf_, kAllMarkers));
        if (n == 0) return false;
        (this->*emit)(std::string_view(buf_).substr(0, n), events);
        buf_.erase(0, n);
        return true;
    }
    if (f.token == kCallOpen) {
        int n = call_opener_length(0, final);
        if (n < 0) return false;
        if (n == 0) {
            (this->*emit)(kCallOpen, events);
            buf_.erase(0, kCallOpen.size());
            return true;
        }
        ws.clear();
        begin_tool_call(size_t(n));
        return true;
    }
    *token = f.token;
    buf_.erase(0, f.token.size());
    return std::nullopt;
}

bool ChatOutputParser::step_label(bool final) {
    if (starts_with(buf_, kLabel)) {
        buf_.erase(0, kLabel.size());
    } else if (starts_with(buf_, kLabelThenClose)) {
        buf_.erase(0, kLabelThenClose.size() - kChannelClose.size());
    } else if (!final && (starts_with(kLabel, buf_) || starts_with(kLabelThenClose, buf_))) {
        return false;
    } else if (buf_ == "thought") {
        buf_.clear();
    }
    mode_ = Mode::reasoning;
    return true;
}

bool ChatOutputParser::step_reasoning(bool final, std::vector<ChatEvent> & events) {
    if (!reasoning_emitted_) {
        size_t k = 0;
        while (k < buf_.size() && is_ws(buf_[k])) ++k;
        buf_.erase(0, k);
        if (buf_.empty()) return false;
    }
    std::string_view token;  // a call ends the reasoning implicitly (its held whitespace dropped)
    if (auto r = text_until_marker(final, &ChatOutputParser::emit_reasoning, reasoning_ws_, events,
                                   &token))
        return *r;
    if (token == kChannelClose) {
        reasoning_ws_.clear();
        segment_start_ = true;
        mode_ = Mode::content;
    } else if (token != kChannelOpen && token != kCallClose) {
        reasoning_ws_.clear();
        mode_ = Mode::done;
    }
    return true;
}

bool ChatOutputParser::step_tool(bool final, std::vector<ChatEvent> & events) {
    Found f = find_marker(buf_, kCallEnders);
    if (tool_bare_) {
        size_t scan = f.pos == std::string_view::npos ? buf_.size() : f.pos;
        auto end = tool_call_object_end(tool_body_ + buf_.substr(0, scan));
        if (end && *end >= tool_body_.size()) {
            size_t take = *end - tool_body_.size();
            tool_body_ += buf_.substr(0, take);
            buf_.erase(0, take);
            complete_call(true, events);
            mode_ = Mode::content;
            return true;
        }
    }
    if (f.pos != std::string_view::npos) {
        tool_body_ += buf_.substr(0, f.pos);
        buf_.erase(0, f.pos);
        complete_call(true, events);
        if (f.token == kCallOpen) {
            mode_ = Mode::content;  // the next call's opener is handled there
        } else {
            buf_.erase(0, f.token.size());
            mode_ = f.token == kCallClose ? Mode::content : Mode::done;
        }
        return true;
    }
    size_t n = buf_.size() - (final ? 0 : held_suffix(buf_, kCallEnders));
    tool_body_ += buf_.substr(0, n);
    buf_.erase(0, n);
    if (final) {
        complete_call(false, events);
        mode_ = Mode::content;
        return true;
    }
    return n > 0;
}

void ChatOutputParser::emit_content(std::string_view text, std::vector<ChatEvent> & events) {
    emit_trimmed(text, content_emitted_, content_ws_, ChatEvent::Kind::content, events);
}

void ChatOutputParser::emit_reasoning(std::string_view text, std::vector<ChatEvent> & events) {
    emit_trimmed(text, reasoning_emitted_, reasoning_ws_, ChatEvent::Kind::reasoning, events);
}

// `closed`: a closing token ended the call, so an unfinished last value may be repaired.
void ChatOutputParser::complete_call(bool closed, std::vector<ChatEvent> & events) {
    auto parsed = tool_call_parse(tool_body_, closed);
    bool ok = parsed.ok();
    if (ok && tool_bare_) {
        const auto & names = options_.declared_tools;
        ok = std::find(names.begin(), names.end(), parsed->name) != names.end();
    }
    if (ok) {
        ChatEvent e;
        e.kind = ChatEvent::Kind::tool_call;
        e.call.index = n_calls_++;
        e.call.id = next_id();
        e.call.name = parsed->name;
        e.call.arguments = tool_args_dump(parsed->arguments);
        events.push_back(std::move(e));
    } else {
        emit_content(tool_opener_ + tool_body_, events);
    }
    tool_opener_.clear();
    tool_body_.clear();
    tool_bare_ = false;
    segment_start_ = true;
}

std::string ChatOutputParser::next_id() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                  static_cast<unsigned long long>(rng_()));
    return std::string("chatcmpl-tool-") + buf;
}

ChatParserOptions chat_parser_options_for_prompt(std::string_view prompt) {
    ChatParserOptions options;
    size_t turn = prompt.rfind("<|turn>");
    std::string_view tail = turn == std::string_view::npos ? prompt : prompt.substr(turn);
    size_t open = tail.rfind(kChannelOpen);
    size_t close = tail.rfind(kChannelClose);
    if (open != std::string_view::npos && (close == std::string_view::npos || close < open)) {
        bool label_seen = open + kChannelOpen.size() < tail.size();
        options.start_in_reasoning = label_seen;
        options.start_in_reasoning_label = !label_seen;
    }
    return options;
}

void chat_reply_apply(ParsedReply & reply, const ChatEvent & event) {
    switch (event.kind) {
        case ChatEvent::Kind::content:
            reply.content += event.text;
            break;
        case ChatEvent::Kind::reasoning:
            reply.reasoning += event.text;
            break;
        case ChatEvent::Kind::tool_call:
            reply.tool_calls.push_back(event.call);
            break;
    }
}

ParsedReply chat_parse_reply(std::string_view text, const ChatParserOptions & options) {
    ChatOutputParser parser(options);
    ParsedReply reply;
    for (const auto & e : parser.feed(text)) chat_reply_apply(reply, e);
    for (const auto & e : parser.finish()) chat_reply_apply(reply, e);
    return reply;
}

std::string chat_finish_reason(const ParsedReply & reply, const std::string & engine_reason) {
    return reply.tool_calls.empty() ? engine_reason : "tool_calls";
}

Json chat_reply_to_json(const ParsedReply & reply) {
    auto text_or_null = [](const std::string & s) { return s.empty() ? Json() : Json(s); };
    Json out = Json::object();
    out["content"] = text_or_null(reply.content);
    out["reasoning"] = text_or_null(reply.reasoning);
    out["reasoning_content"] = text_or_null(reply.reasoning);
    out["tool_calls"] = Json::array();
    for (const auto & c : reply.tool_calls) {
        Json call = Json::object();
        call["id"] = c.id;
        call["type"] = "function";
        call["function"] = Json{{"name", c.name}, {"arguments", c.arguments}};
        out["tool_calls"].push_back(std::move(call));
    }
    return out;
}

std::vector<std::string> chat_tool_names(const ChatRequest & request) {
    std::vector<std::string> names;
    for (const auto & t : request.tools) names.push_back(t.name);
    return names;
}

}  // namespace gemma::chat
