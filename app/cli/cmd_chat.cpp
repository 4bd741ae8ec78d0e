// gemdesk-cli chat: interactive terminal chat over the engine. Streams the reply as it comes,
// thinking shown dimmed (/think toggles thinking, /reset forgets the conversation, /exit or EOF
// quits). --json prints one JSON object per event instead (machine-readable). --image / --audio
// / --video go with the first message. Earlier turns (their media included) are served from the
// prefix cache and the media cache, so each turn only computes its new tokens.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/generate_opts.h"
#include "common/args.h"
#include "runtime/engine_chat.h"

namespace gemdesk::cli {
namespace {

using gemma::runtime::StreamEvent;

nlohmann::json event_json(const StreamEvent & ev) {
    switch (ev.kind) {
        case StreamEvent::Kind::content:
            return {{"type", "content"}, {"text", ev.text}};
        case StreamEvent::Kind::reasoning:
            return {{"type", "reasoning"}, {"text", ev.text}};
        case StreamEvent::Kind::tool_call:
            return {{"type", "tool_call"},
                    {"id", ev.tool_call.id},
                    {"name", ev.tool_call.name},
                    {"arguments", ev.tool_call.arguments}};
        case StreamEvent::Kind::finish:
            return {{"type", "finish"},
                    {"reason", gemma::runtime::finish_reason_name(ev.finish)},
                    {"usage",
                     {{"prompt_tokens", ev.usage.prompt_tokens},
                      {"completion_tokens", ev.usage.completion_tokens},
                      {"cached_tokens", ev.usage.cached_tokens}}}};
        case StreamEvent::Kind::error:
            return {{"type", "error"},
                    {"code", gemma::error_code_name(ev.error.code)},
                    {"message", ev.error.message}};
        case StreamEvent::Kind::token:
            break;
    }
    return {{"type", "token"}, {"id", ev.token.id}, {"text", ev.text}};
}

struct Chat {
    gemma::runtime::ChatEngine & engine;
    GenerateOptions opts;
    bool json = false, think = false, color = false;
    std::vector<gemma::chat::ChatMessage> history;
    std::vector<gemma::runtime::MediaInput> media;  // of every media part in the history
};

// One turn: streams the reply, appends it to the history. False when generation failed (the
// user message and its media are then dropped again).
bool turn(Chat & c, const std::string & text,
          const std::vector<gemma::runtime::MediaInput> & media) {
    c.history.push_back(user_message(text, media));
    c.media.insert(c.media.end(), media.begin(), media.end());
    gemma::runtime::ChatGenerateRequest req = make_chat_request(c.opts);
    req.chat.messages = c.history;
    req.chat.enable_thinking = c.think;
    req.media = c.media;
    auto stream = c.engine.generate(req);
    if (!stream.ok()) {
        c.history.pop_back();
        c.media.resize(c.media.size() - media.size());
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::error;
        ev.error = stream.error();
        if (c.json)
            std::printf("%s\n", event_json(ev).dump().c_str());
        else
            std::fprintf(stderr, "error: %s\n", stream.error().message.c_str());
        return false;
    }
    gemma::chat::ChatMessage reply;
    reply.role = "assistant";
    reply.content.kind = gemma::chat::MessageContent::Kind::text;
    bool in_reasoning = false;
    auto last = gemma::runtime::stream_drain(**stream, [&](const StreamEvent & ev) {
        if (c.json) {
            std::printf("%s\n", event_json(ev).dump().c_str());
        } else if (ev.kind == StreamEvent::Kind::reasoning ||
                   ev.kind == StreamEvent::Kind::content) {
            bool r = ev.kind == StreamEvent::Kind::reasoning;
            if (c.color && r != in_reasoning) std::printf(r ? "\x1b[2m" : "\x1b[0m");
            in_reasoning = r;
            std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
        } else if (ev.kind == StreamEvent::Kind::tool_call) {
            std::printf("\n[tool call] %s %s\n", ev.tool_call.name.c_str(),
                        ev.tool_call.arguments.c_str());
        }
        std::fflush(stdout);
        if (ev.kind == StreamEvent::Kind::content) reply.content.text += ev.text;
        if (ev.kind == StreamEvent::Kind::reasoning) reply.reasoning += ev.text;
        if (ev.kind == StreamEvent::Kind::tool_call) {
            auto args = nlohmann::ordered_json::parse(ev.tool_call.arguments, nullptr, false);
            reply.tool_calls.push_back(
                {ev.tool_call.id, ev.tool_call.name,
                 args.is_discarded() ? nlohmann::ordered_json::object() : args});
        }
    });
    if (!c.json) {
        if (c.color && in_reasoning) std::printf("\x1b[0m");
        std::printf("\n");
        if (last.kind == StreamEvent::Kind::error)
            std::fprintf(stderr, "error: %s\n", last.error.message.c_str());
    }
    if (last.kind == StreamEvent::Kind::error) {  // e.g. a corrupt image: forget that turn
        c.history.pop_back();
        c.media.resize(c.media.size() - media.size());
        return false;
    }
    c.history.push_back(std::move(reply));
    return true;
}

}  // namespace

int cmd_chat(int argc, char ** argv) {
    Args args(argc, argv, {"think", "json", "ple-host"});
    std::vector<std::string> known = generate_option_names();
    known.insert(known.end(), {"system", "think", "json"});
    std::string bad = args.check_known(known);
    if (!bad.empty() || !args.has("model")) {
        std::fprintf(stderr,
                     "%s\nusage: gemdesk-cli chat --model DIR [--system TEXT] [--think] "
                     "[--image F] [--audio F] [--video F] [--image-budget N] [--json] "
                     "[--max-tokens N] [--temperature T] [--seed S] [--backend B] [--ctx N]\n"
                     "       [--weights bf16|q8_0|q4_0] [--kv-cache f32|bf16|q8_0] [--ple-host]\n"
                     "       [--vision-backend auto|host|B]\n",
                     bad.empty() ? "chat: --model is required" : bad.c_str());
        return 2;
    }
    auto opts = parse_generate_options(args);
    if (!opts.ok()) {
        std::fprintf(stderr, "chat: %s\n", opts.error().message.c_str());
        return 2;
    }
    auto media = load_media_options(args);
    if (!media.ok()) {
        std::fprintf(stderr, "chat: %s\n", media.error().message.c_str());
        return 2;
    }
    bool json = args.has("json");
    auto engine = load_chat_engine(args.get("model"), *opts, /*quiet=*/json);
    if (!engine) return 2;
    Chat c{*engine, *opts, json, args.has("think"), !json && isatty(STDOUT_FILENO) != 0, {}, {}};
    if (args.has("system")) c.history.push_back(text_message("system", args.get("system")));
    std::vector<gemma::runtime::MediaInput> first = std::move(*media);
    bool interactive = isatty(STDIN_FILENO) != 0;
    std::string line;
    for (;;) {
        if (interactive && !json) std::fprintf(stderr, "%s> ", c.think ? "[think] " : "");
        if (!std::getline(std::cin, line) || line == "/exit") break;
        if (line.empty()) continue;
        if (line == "/think") {
            c.think = !c.think;
            std::fprintf(stderr, "thinking %s\n", c.think ? "on" : "off");
            continue;
        }
        if (line == "/reset") {
            size_t keep = args.has("system") ? 1 : 0;
            c.history.resize(keep);
            c.media.clear();
            continue;
        }
        turn(c, line, first);
        first.clear();  // media go with the first message only (dropped if it failed)
    }
    return 0;
}

}  // namespace gemdesk::cli
