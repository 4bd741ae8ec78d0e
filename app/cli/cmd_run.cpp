// gemdesk-cli run: one-shot generation. Renders one user turn (plus --system; --image / --audio /
// --video files go before the prompt text) with the chat template, streams only the answer to
// stdout (reasoning is not printed), errors to stderr. Same seed and settings -> same output.
// Exit 0 ok, 1 generation failed (a corrupt media file included), 2 bad usage / model / file.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/generate_opts.h"
#include "common/args.h"
#include "runtime/engine_chat.h"

namespace gemdesk::cli {

int cmd_run(int argc, char ** argv) {
    Args args(argc, argv, {"think", "ple-host"});
    std::vector<std::string> known = generate_option_names();
    known.insert(known.end(), {"prompt", "system", "think"});
    std::string bad = args.check_known(known);
    if (!bad.empty() || !args.has("model") || !args.has("prompt")) {
        std::fprintf(stderr,
                     "%s\nusage: gemdesk-cli run --model DIR --prompt TEXT [--system TEXT] "
                     "[--image F] [--audio F] [--video F] [--image-budget N] [--max-tokens N] "
                     "[--temperature T] [--top-p P] [--top-k K] [--seed S] [--think] "
                     "[--backend B] [--ctx N] [--weights bf16|q8_0|q4_0] [--kv-cache "
                     "f32|bf16|q8_0] [--ple-host] [--vision-backend auto|host|B]\n",
                     bad.empty() ? "run: --model and --prompt are required" : bad.c_str());
        return 2;
    }
    auto opts = parse_generate_options(args);
    if (!opts.ok()) {
        std::fprintf(stderr, "run: %s\n", opts.error().message.c_str());
        return 2;
    }
    auto media = load_media_options(args);
    if (!media.ok()) {
        std::fprintf(stderr, "run: %s\n", media.error().message.c_str());
        return 2;
    }
    auto engine = load_chat_engine(args.get("model"), *opts, /*quiet=*/true);
    if (!engine) return 2;
    gemma::runtime::ChatGenerateRequest req = make_chat_request(*opts);
    if (args.has("system")) req.chat.messages.push_back(text_message("system", args.get("system")));
    req.chat.messages.push_back(user_message(args.get("prompt"), *media));
    req.media = std::move(*media);
    req.chat.enable_thinking = args.has("think");
    auto stream = engine->generate(req);
    if (!stream.ok()) {
        std::fprintf(stderr, "run: %s\n", stream.error().message.c_str());
        return 1;
    }
    auto last = gemma::runtime::stream_drain(**stream, [](const gemma::runtime::StreamEvent & ev) {
        if (ev.kind == gemma::runtime::StreamEvent::Kind::content) {
            std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
            std::fflush(stdout);
        } else if (ev.kind == gemma::runtime::StreamEvent::Kind::tool_call) {
            std::printf("%s(%s)", ev.tool_call.name.c_str(), ev.tool_call.arguments.c_str());
        }
    });
    std::printf("\n");
    if (last.kind == gemma::runtime::StreamEvent::Kind::error) {
        std::fprintf(stderr, "run: %s\n", last.error.message.c_str());
        return 1;
    }
    return 0;
}

}  // namespace gemdesk::cli
