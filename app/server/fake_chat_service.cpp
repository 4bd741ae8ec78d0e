// The fake ChatService: a scripted answer per job, replayed one token per token_delay.
#include "server/fake_chat_service.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <thread>

#include "server/generation.h"
#include "server/sse.h"

namespace gemdesk::server {

using nlohmann::json;

json fake_value_for_schema(const json & schema, const std::string & name, int depth) {
    if (!schema.is_object() || depth > 16) return "fake " + name;
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty())
        return (*e)[0];
    if (auto c = schema.find("const"); c != schema.end()) return *c;
    for (const char * key : {"anyOf", "oneOf", "allOf"})
        if (auto a = schema.find(key); a != schema.end() && a->is_array() && !a->empty())
            return fake_value_for_schema((*a)[0], name, depth + 1);
    std::string type = "string";
    if (auto t = schema.find("type"); t != schema.end()) {
        if (t->is_string())
            type = t->get<std::string>();
        else if (t->is_array())
            for (const auto & x : *t)
                if (x.is_string() && x != "null") {
                    type = x.get<std::string>();
                    break;
                }
    } else if (schema.contains("properties")) {
        type = "object";
    }
    auto number = [&](double fallback) {
        double v = fallback;
        if (auto m = schema.find("minimum"); m != schema.end() && m->is_number())
            v = std::max(v, m->get<double>());
        if (auto m = schema.find("maximum"); m != schema.end() && m->is_number())
            v = std::min(v, m->get<double>());
        return v;
    };
    if (type == "object") {
        json out = json::object();
        if (auto p = schema.find("properties"); p != schema.end() && p->is_object())
            for (const auto & [key, sub] : p->items())
                out[key] = fake_value_for_schema(sub, key, depth + 1);
        return out;
    }
    if (type == "array") {
        json out = json::array();
        long long n = 1;
        if (auto m = schema.find("minItems"); m != schema.end() && m->is_number_integer())
            n = std::max(1LL, m->get<long long>());
        for (long long i = 0; i < std::min(n, 8LL); ++i)
            out.push_back(
                fake_value_for_schema(schema.value("items", json::object()), name, depth + 1));
        return out;
    }
    if (type == "integer") return (long long)number(1.0);
    if (type == "number") return number(1.5);
    if (type == "boolean") return true;
    if (type == "null") return nullptr;
    return "fake " + name;
}

namespace {

struct Script {
    std::vector<std::string> reasoning, content;
    std::vector<ToolCall> calls;
    bool long_tail = false;  // keep generating filler after `content`
    int prompt_tokens = 0;
    double audio_seconds = 0.0;
};

// Pieces that concatenate back to `text`: each word with the whitespace after it.
std::vector<std::string> split_words(const std::string & text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        size_t j = text.find(' ', i);
        j = j == std::string::npos ? text.size() : j + 1;
        out.push_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

std::string text_of(const json & content) {
    if (content.is_string()) return content.get<std::string>();
    std::string out;
    if (content.is_array())
        for (const auto & p : content)
            if (p.is_object() && p.value("type", json()) == "text" && p.contains("text") &&
                p["text"].is_string())
                out += p["text"].get<std::string>();
    return out;
}

int count_words(const std::string & s) {
    std::istringstream in(s);
    std::string w;
    int n = 0;
    while (in >> w) n++;
    return n;
}

void add_tool_calls(const CompletionJob & job, const std::string & user, Script & s) {
    std::vector<const json *> chosen;
    for (const auto & t : job.tools) {
        const std::string name = t["function"]["name"];
        bool pick = job.tool_choice == ToolChoice::named
                        ? name == job.tool_choice_name
                        : user.find("all tools") != std::string::npos ||
                              user.find(name) != std::string::npos;
        if (pick) chosen.push_back(&t);
    }
    if (chosen.empty() && job.tool_choice != ToolChoice::named) chosen.push_back(&job.tools[0]);
    if (!job.parallel_tool_calls || user.find("all tools") == std::string::npos) chosen.resize(1);
    for (const json * t : chosen) {
        const json & fn = (*t)["function"];
        s.calls.push_back({random_id("chatcmpl-tool-"), fn["name"].get<std::string>(),
                           json_text(fake_value_for_schema(fn["parameters"], "arguments"))});
    }
}

Script make_script(const CompletionJob & job) {
    Script s;
    std::string user;
    for (const auto & m : job.messages) {
        std::string t = text_of(m.value("content", json()));
        s.prompt_tokens += 3 + count_words(t);
        if (m.value("role", json()) == "user") user = t;
    }
    if (job.kind == CompletionJob::Kind::text)
        user = job.prompt, s.prompt_tokens = 1 + count_words(job.prompt);
    for (const auto & media : job.media) {
        s.prompt_tokens += 64;
        if (media.kind == MediaInput::Kind::audio)
            s.audio_seconds += wav_duration_seconds(media.bytes);
    }
    if (job.enable_thinking) s.reasoning = split_words("The user said: " + user.substr(0, 40));
    bool wants_tool =
        !job.tools.empty() && job.tool_choice != ToolChoice::none &&
        (job.tool_choice != ToolChoice::auto_ || user.find("tool") != std::string::npos);
    bool has_audio = std::any_of(job.media.begin(), job.media.end(), [](const MediaInput & m) {
        return m.kind == MediaInput::Kind::audio;
    });
    if (has_audio) {
        s.content =
            split_words(gemma::format("Transcript of a %.2f second clip.", s.audio_seconds));
    } else if (wants_tool) {
        add_tool_calls(job, user, s);
    } else if (job.response_format.kind != ResponseFormat::Kind::text) {
        json value = job.response_format.kind == ResponseFormat::Kind::json_schema
                         ? fake_value_for_schema(job.response_format.schema, "value")
                         : json{{"echo", user}};
        std::string text = json_text(value);
        for (size_t i = 0; i < text.size(); i += 4) s.content.push_back(text.substr(i, 4));
    } else {
        s.content = split_words("Echo: " + user);
        s.long_tail = user.find("[long]") != std::string::npos;
    }
    return s;
}

class FakeStream : public EventStream {
public:
    FakeStream(Script script, const CompletionJob & job, std::chrono::milliseconds delay,
               std::shared_ptr<FakeCounters> counters)
        : script_(std::move(script)),
          max_tokens_(job.max_tokens < 0 ? 100000 : job.max_tokens),
          top_logprobs_(job.top_logprobs),
          delay_(delay),
          counters_(std::move(counters)),
          due_(std::chrono::steady_clock::now() + delay) {
        counters_->active++;
    }
    ~FakeStream() override {
        if (!done_) counters_->cancelled++;
        counters_->active--;
    }

    void cancel() override { cancel_requested_ = true; }

    bool next(Event & out, std::chrono::milliseconds wait) override {
        if (done_) return false;
        if (cancel_requested_) return finish(out, FinishReason::cancelled);
        auto now = std::chrono::steady_clock::now();
        if (now < due_) {
            std::this_thread::sleep_until(std::min(due_, now + wait));
            if (std::chrono::steady_clock::now() < due_) return false;
            if (cancel_requested_) return finish(out, FinishReason::cancelled);
        }
        due_ += delay_;
        return produce(out);
    }

private:
    bool produce(Event & out) {
        size_t n_r = script_.reasoning.size(), n_c = script_.content.size(),
               n_t = script_.calls.size();
        bool more = pos_ < n_r + n_c + n_t || script_.long_tail;
        if (!more) return finish(out, n_t ? FinishReason::tool_calls : FinishReason::stop);
        if (emitted_ >= max_tokens_) return finish(out, FinishReason::length);
        out = Event{};
        if (pos_ < n_r) {
            out.kind = Event::Kind::reasoning;
            out.text = script_.reasoning[pos_];
            reasoning_tokens_++;
        } else if (pos_ < n_r + n_c || (pos_ >= n_r + n_c + n_t && script_.long_tail)) {
            out.kind = Event::Kind::content;
            out.text = pos_ < n_r + n_c ? script_.content[pos_ - n_r]
                                        : std::string(pos_ % 7 ? "lorem " : "ipsum ");
            if (top_logprobs_ >= 0) out.logprobs.push_back(logprob_for(out.text));
        } else {
            out.kind = Event::Kind::tool_call;
            out.tool_call = script_.calls[pos_ - n_r - n_c];
        }
        pos_++;
        emitted_++;
        return true;
    }

    TokenLogprob logprob_for(const std::string & token) const {
        TokenLogprob lp{token, -0.1 * double(pos_ % 5 + 1), {}};
        for (int k = 0; k < top_logprobs_; ++k)
            lp.top.emplace_back(k == 0 ? token : gemma::format("alt%d", k), lp.logprob - double(k));
        return lp;
    }

    bool finish(Event & out, FinishReason reason) {
        out = Event{};
        out.kind = Event::Kind::finish;
        out.finish = reason;
        out.usage = {script_.prompt_tokens, emitted_, reasoning_tokens_};
        out.audio_seconds = script_.audio_seconds;
        done_ = true;
        (reason == FinishReason::cancelled ? counters_->cancelled : counters_->finished)++;
        return true;
    }

    Script script_;
    int max_tokens_, top_logprobs_;
    std::chrono::milliseconds delay_;
    std::shared_ptr<FakeCounters> counters_;
    std::chrono::steady_clock::time_point due_;
    std::atomic<bool> cancel_requested_{false};
    bool done_ = false;
    size_t pos_ = 0;
    int emitted_ = 0, reasoning_tokens_ = 0;
};

}  // namespace

FakeChatService::FakeChatService(FakeOptions options)
    : options_(std::move(options)), counters_(std::make_shared<FakeCounters>()) {}

ModelInfo FakeChatService::model() const {
    return {options_.model_id, options_.context_length, true, true};
}

ServiceState FakeChatService::state() const {
    std::lock_guard lock(mu_);
    return state_;
}

std::string FakeChatService::state_message() const {
    std::lock_guard lock(mu_);
    return message_;
}

ServiceStats FakeChatService::stats() const {
    int active = counters_->active.load();
    return {0, active, std::min(1.0, active / 32.0)};
}

void FakeChatService::set_state(ServiceState state, std::string message) {
    std::lock_guard lock(mu_);
    state_ = state;
    message_ = std::move(message);
}

gemma::Result<std::unique_ptr<EventStream>> FakeChatService::submit(CompletionJob job) {
    Script script = make_script(job);
    if (script.prompt_tokens > options_.context_length)
        return gemma::make_error(
            gemma::ErrorCode::context_full,
            gemma::format(
                "the prompt has %d tokens but the context holds %d; shorten the conversation",
                script.prompt_tokens, options_.context_length));
    counters_->submitted++;
    return std::unique_ptr<EventStream>(
        std::make_unique<FakeStream>(std::move(script), job, options_.token_delay, counters_));
}

}  // namespace gemdesk::server
