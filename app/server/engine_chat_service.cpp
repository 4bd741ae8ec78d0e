// EngineChatService: background load with progress, CompletionJob (text and media) -> runtime
// request, and the runtime's ResponseStream -> the server's EventStream (logprobs on content,
// reasoning tokens counted, finish reasons and usage mapped); dropping a stream cancels it.
#include "server/engine_chat_service.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "runtime/chat_request.h"
#include "runtime/engine_chat.h"
#include "server/media.h"

namespace gemdesk::server {

namespace rt = gemma::runtime;

namespace {

// text_config.max_position_embeddings, when the config has it (0 otherwise).
int context_length_of(const std::filesystem::path & config_path) {
    std::ifstream in(config_path);
    nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return 0;
    auto text = config.find("text_config");
    const nlohmann::json & tc = text != config.end() && text->is_object() ? *text : config;
    auto it = tc.find("max_position_embeddings");
    return it != tc.end() && it->is_number_integer() ? it->get<int>() : 0;
}

FinishReason finish_of(rt::FinishReason r) {
    switch (r) {
        case rt::FinishReason::length:
            return FinishReason::length;
        case rt::FinishReason::tool_calls:
            return FinishReason::tool_calls;
        case rt::FinishReason::cancelled:
            return FinishReason::cancelled;
        default:
            return FinishReason::stop;
    }
}

rt::SamplingParams sampling_of(const CompletionJob & job) {
    rt::SamplingParams p;
    p.temperature = float(job.sampling.temperature);
    p.top_p = float(job.sampling.top_p);
    p.top_k = job.sampling.top_k;
    if (job.sampling.seed) {
        p.has_seed = true;
        p.seed = *job.sampling.seed;
    }
    // Token events always: they carry logprobs and let reasoning tokens be counted.
    p.top_logprobs = std::max(0, job.top_logprobs);
    return p;
}

// The runtime's stream as the server's: token events are folded into the next content event
// (logprobs) or counted as reasoning; the engine is kept alive as long as the stream.
class EngineEventStream : public EventStream {
public:
    EngineEventStream(std::shared_ptr<rt::ChatEngine> engine, std::unique_ptr<rt::ResponseStream> s,
                      bool want_logprobs, double audio_seconds)
        : engine_(std::move(engine)),
          stream_(std::move(s)),
          want_logprobs_(want_logprobs),
          audio_seconds_(audio_seconds) {}
    ~EngineEventStream() override { stream_.reset(); }  // cancels, before the engine can go

    bool next(Event & out, std::chrono::milliseconds wait) override {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        rt::StreamEvent ev;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (!stream_->next(ev, std::max(left, std::chrono::milliseconds(0)))) return false;
            if (convert(ev, out)) return true;
        }
    }
    void cancel() override { stream_->cancel(); }

private:
    TokenLogprob logprob_of(const rt::StreamEvent & ev) const {
        TokenLogprob t{ev.text, ev.token.logprob, {}};
        for (const rt::TokenLogprob & alt : ev.token.top) {
            auto text = engine_->tokenizer().decode(std::span<const int32_t>(&alt.id, 1));
            t.top.push_back({text.ok() ? *text : std::string(), alt.logprob});
        }
        return t;
    }

    // False for events that only update state (token events).
    bool convert(const rt::StreamEvent & ev, Event & out) {
        out = Event{};
        switch (ev.kind) {
            case rt::StreamEvent::Kind::token:
                pending_.push_back(logprob_of(ev));
                return false;
            case rt::StreamEvent::Kind::content:
                out.kind = Event::Kind::content;
                out.text = ev.text;
                if (want_logprobs_) out.logprobs = std::move(pending_);
                pending_.clear();
                return true;
            case rt::StreamEvent::Kind::reasoning:
                out.kind = Event::Kind::reasoning;
                out.text = ev.text;
                reasoning_tokens_ += int(pending_.size());
                pending_.clear();
                return true;
            case rt::StreamEvent::Kind::tool_call:
                out.kind = Event::Kind::tool_call;
                out.tool_call = {ev.tool_call.id, ev.tool_call.name, ev.tool_call.arguments};
                pending_.clear();
                return true;
            case rt::StreamEvent::Kind::finish:
                out.kind = Event::Kind::finish;
                out.finish = finish_of(ev.finish);
                out.usage = {ev.usage.prompt_tokens, ev.usage.completion_tokens, reasoning_tokens_};
                out.audio_seconds = audio_seconds_;
                return true;
            case rt::StreamEvent::Kind::error:
                out.kind = Event::Kind::error;
                out.error = ev.error;
                return true;
        }
        return false;
    }

    std::shared_ptr<rt::ChatEngine> engine_;
    std::unique_ptr<rt::ResponseStream> stream_;
    bool want_logprobs_;
    double audio_seconds_;
    std::vector<TokenLogprob> pending_;
    int reasoning_tokens_ = 0;
};

// The job's media bytes in part order (the order the runtime matches them to the parts).
std::vector<rt::MediaInput> media_of(const CompletionJob & job) {
    std::vector<rt::MediaInput> out;
    int n_image = 0, n_audio = 0;
    for (const MediaInput & m : job.media) {
        const bool image = m.kind == MediaInput::Kind::image;
        std::string name = image ? gemma::format("image %d", ++n_image)
                                 : gemma::format("audio clip %d", ++n_audio);
        out.push_back(rt::media_input(
            image ? gemma::gemma4::MediaKind::image : gemma::gemma4::MediaKind::audio,
            std::vector<uint8_t>(m.bytes.begin(), m.bytes.end()), name));
    }
    return out;
}

// Seconds of audio in the job (WAV only; 0 for other formats), for transcription responses.
double audio_seconds_of(const CompletionJob & job) {
    double total = 0;
    for (const MediaInput & m : job.media)
        if (m.kind == MediaInput::Kind::audio) total += wav_duration_seconds(m.bytes);
    return total;
}

// Server job (validated JSON) -> runtime chat request; media parts ({"type":"image"|"audio"})
// pair with job.media in order.
gemma::Result<rt::ChatGenerateRequest> chat_request_of(const CompletionJob & job) {
    gemma::chat::Json body = gemma::chat::Json::object();
    body["messages"] = gemma::chat::Json::parse(job.messages.dump());
    if (!job.tools.empty()) body["tools"] = gemma::chat::Json::parse(job.tools.dump());
    body["chat_template_kwargs"] = {{"enable_thinking", job.enable_thinking},
                                    {"preserve_thinking", job.preserve_thinking}};
    auto chat =
        gemma::chat::chat_request_from_json(body, gemma::chat::ChatRequestOptions::server());
    if (!chat.ok()) return chat.error();
    rt::ChatGenerateRequest r;
    r.chat = std::move(*chat);
    r.sampling = sampling_of(job);
    r.max_tokens = job.max_tokens;
    switch (job.tool_choice) {
        case ToolChoice::auto_:
            r.tool_choice = rt::ToolChoice::auto_;
            break;
        case ToolChoice::none:
            r.tool_choice = rt::ToolChoice::none;
            break;
        case ToolChoice::required:
            r.tool_choice = rt::ToolChoice::required;
            break;
        case ToolChoice::named:
            r.tool_choice = rt::ToolChoice::named;
            r.tool_name = job.tool_choice_name;
            break;
    }
    r.parallel_tool_calls = job.parallel_tool_calls;
    r.media = media_of(job);
    r.json_object = job.response_format.kind != ResponseFormat::Kind::text;
    if (job.response_format.kind == ResponseFormat::Kind::json_schema)
        r.json_schema = gemma::chat::Json::parse(job.response_format.schema.dump());
    return r;
}

class EngineChatService : public ChatService {
public:
    EngineChatService(EngineServiceOptions options, ModelInfo info)
        : options_(std::move(options)), info_(std::move(info)) {
        message_ = "the model is loading; retry in a few seconds";
        loader_ = std::thread([this] { load(); });
    }
    // Over an engine that is already loaded: ready at once.
    explicit EngineChatService(std::shared_ptr<rt::ChatEngine> engine) {
        info_.id = engine->info().id;
        adopt(std::move(engine));
    }
    ~EngineChatService() override {
        stopping_ = true;  // the progress callback cancels the load
        if (loader_.joinable()) loader_.join();
    }

    ModelInfo model() const override {
        std::lock_guard lock(mu_);
        return info_;
    }
    ServiceState state() const override { return state_.load(); }
    std::string state_message() const override {
        std::lock_guard lock(mu_);
        return message_;
    }
    ServiceStats stats() const override {
        auto e = engine();
        if (!e) return {};
        rt::SchedulerStats s = e->engine().stats();
        return {s.queued, s.running, s.kv_used};
    }

    gemma::Result<std::unique_ptr<EventStream>> submit(CompletionJob job) override {
        auto e = engine();
        if (!e) return gemma::make_error(gemma::ErrorCode::internal, state_message());
        gemma::Result<std::unique_ptr<rt::ResponseStream>> s =
            gemma::make_error(gemma::ErrorCode::internal, "");
        if (job.kind == CompletionJob::Kind::text) {
            auto t = text_request_of(*e, job);
            if (!t.ok()) return t.error();
            s = e->complete(*t);
        } else {
            auto r = chat_request_of(job);
            if (!r.ok()) return r.error();
            s = e->generate(*r);
        }
        if (!s.ok()) return s.error();
        return std::unique_ptr<EventStream>(std::make_unique<EngineEventStream>(
            e, std::move(*s), job.top_logprobs >= 0, audio_seconds_of(job)));
    }

private:
    std::shared_ptr<rt::ChatEngine> engine() const {
        std::lock_guard lock(mu_);
        return engine_;
    }

    // /v1/completions: the raw prompt after one <bos> (as vLLM's add_special_tokens does).
    static gemma::Result<rt::TextGenerateRequest> text_request_of(const rt::ChatEngine & e,
                                                                  const CompletionJob & job) {
        rt::TextGenerateRequest t;
        auto ids = e.tokenizer().encode(job.prompt);
        if (!ids.ok()) return ids.error();
        auto bos = e.tokenizer().special_id("bos_token");
        if (bos.ok() && (ids->empty() || ids->front() != *bos)) ids->insert(ids->begin(), *bos);
        t.prompt_ids = std::move(*ids);
        t.sampling = sampling_of(job);
        t.max_tokens = job.max_tokens;
        return t;
    }

    void load() {
        rt::EngineOptions o;
        o.backend = options_.backend;
        o.n_ctx = options_.n_ctx;
        o.max_seqs = options_.max_seqs;
        o.weights = options_.weights;
        o.kv_cache = options_.kv_cache;
        o.ple_on_host = options_.ple_on_host;
        auto progress = [this](const rt::LoadProgress & p) {
            std::lock_guard lock(mu_);
            message_ = gemma::format("the model is loading (%s, %d%%); retry in a few seconds",
                                     p.stage.c_str(), int(p.fraction * 100));
            return !stopping_.load();
        };
        auto loaded = rt::ChatEngine::load(options_.model_dir, o, progress);
        std::lock_guard lock(mu_);
        if (!loaded.ok()) {
            message_ = "the model '" + options_.model_dir + "' could not be loaded on backend '" +
                       options_.backend + "': " + loaded.error().message;
            state_ = ServiceState::unavailable;
            return;
        }
        adopt(std::shared_ptr<rt::ChatEngine>(std::move(*loaded)));
    }

    // Serves `engine` from now on (mu_ held by the loader, or construction).
    void adopt(std::shared_ptr<rt::ChatEngine> engine) {
        engine_ = std::move(engine);
        info_.context_length = engine_->info().context_length;
        info_.supports_images = engine_->info().has_vision;
        info_.supports_audio = engine_->info().has_audio;
        message_ = "ready";
        state_ = ServiceState::ready;
    }

    EngineServiceOptions options_;
    mutable std::mutex mu_;
    ModelInfo info_;
    std::string message_;
    std::shared_ptr<rt::ChatEngine> engine_;
    std::atomic<ServiceState> state_{ServiceState::loading};
    std::atomic<bool> stopping_{false};
    std::thread loader_;
};

}  // namespace

gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(
    const EngineServiceOptions & options) {
    std::filesystem::path dir(options.model_dir);
    std::error_code ec;
    if (options.model_dir.empty() || !std::filesystem::is_regular_file(dir / "config.json", ec))
        return gemma::make_error(
            gemma::ErrorCode::invalid_argument,
            "--model must name a model directory containing config.json (got '" +
                options.model_dir + "')");
    if (options.n_ctx < 16 || options.max_seqs < 1)
        return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                 "--ctx must be at least 16 and --parallel at least 1");
    ModelInfo info;
    std::filesystem::path abs = std::filesystem::absolute(dir).lexically_normal();
    info.id =
        abs.filename().empty() ? abs.parent_path().filename().string() : abs.filename().string();
    int max_ctx = context_length_of(dir / "config.json");
    info.context_length = max_ctx > 0 ? std::min(max_ctx, options.n_ctx) : options.n_ctx;
    return std::shared_ptr<ChatService>(
        std::make_shared<EngineChatService>(options, std::move(info)));
}

gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(const std::string & model_dir,
                                                                     const std::string & backend) {
    EngineServiceOptions o;
    o.model_dir = model_dir;
    if (!backend.empty()) o.backend = backend;
    return make_engine_chat_service(o);
}

gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(
    std::shared_ptr<rt::ChatEngine> engine) {
    if (!engine)
        return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                 "no engine is loaded yet; load a model first");
    return std::shared_ptr<ChatService>(std::make_shared<EngineChatService>(std::move(engine)));
}

}  // namespace gemdesk::server
