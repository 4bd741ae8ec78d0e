// gemdesk-cli parse: a Gemma 4 completion (detokenized with special tokens) on stdin -> the
// OpenAI message fields as JSON: content, reasoning, reasoning_content, tool_calls.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "common/args.h"
#include "runtime/tool_protocol.h"

namespace gemdesk::cli {
namespace {

constexpr const char * kUsage =
    "usage: parse [--prompt-file FILE] [--reasoning-open] [--tools NAME,NAME] [--seed N] < "
    "completion.txt\n"
    "  --prompt-file FILE  the rendered prompt; its tail decides whether output starts in "
    "reasoning\n"
    "  --reasoning-open    the prompt ended with an open <|channel>thought\\n (post-tool cue)\n"
    "  --tools LIST        declared function names: a bare call:NAME{...} is recovered as a call\n"
    "  --seed N            deterministic tool-call ids\n";

std::vector<std::string> split_names(const std::string & list) {
    std::vector<std::string> names;
    std::stringstream ss(list);
    std::string name;
    while (std::getline(ss, name, ',')) {
        if (!name.empty()) names.push_back(name);
    }
    return names;
}

}  // namespace

int cmd_parse(int argc, char ** argv) {
    Args args(argc, argv, {"reasoning-open"});
    std::string err = args.check_known({"prompt-file", "reasoning-open", "tools", "seed"});
    long long seed = args.get_int("seed", 0);
    if (err.empty()) err = args.error();
    if (!err.empty() || !args.positional().empty()) {
        std::fprintf(stderr, "gemdesk-cli parse: %s\n%s",
                     err.empty() ? "unexpected argument" : err.c_str(), kUsage);
        return 2;
    }
    gemma::chat::ChatParserOptions options;
    if (args.has("prompt-file")) {
        std::ifstream f(args.get("prompt-file"), std::ios::binary);
        if (!f) {
            std::fprintf(stderr, "gemdesk-cli parse: cannot read --prompt-file '%s'\n",
                         args.get("prompt-file").c_str());
            return 1;
        }
        std::string prompt((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        options = gemma::chat::chat_parser_options_for_prompt(prompt);
    }
    if (args.has("reasoning-open")) options.start_in_reasoning = true;
    options.declared_tools = split_names(args.get("tools"));
    options.id_seed = static_cast<uint64_t>(seed);

    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto reply = gemma::chat::chat_parse_reply(text, options);
    std::string json = gemma::chat::chat_reply_to_json(reply).dump(
        -1, ' ', false, gemma::chat::Json::error_handler_t::replace);
    std::printf("%s\n", json.c_str());
    return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace gemdesk::cli
