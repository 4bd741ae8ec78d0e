// gemdesk-cli: one binary, many subcommands (verify, bench, tokenize, render, parse, run, chat).
#include <cstdio>
#include <cstring>

#include "cli/commands.h"

namespace {

struct Command {
    const char * name;
    int (*fn)(int, char **);
    const char * usage;
};

const Command kCommands[] = {
    {"verify", gemdesk::cli::cmd_verify, "verify --model DIR --golden FILE [--backend NAME]"},
    {"bench", gemdesk::cli::cmd_bench, "bench (--synthetic e4b | --model DIR) [--backend B] [--prompt P] [--gen G] [--weights q4_0] [--kv-cache T]"},
    {"bench-media", gemdesk::cli::cmd_bench_media, "bench-media [--preset e4b|small] [--budgets 280,1120] [--audio-seconds S] [--reps N] [--reference] [--backend NAME]"},
    {"tokenize", gemdesk::cli::cmd_tokenize, "tokenize (--model DIR | --tokenizer FILE) < jsonl"},
    {"render", gemdesk::cli::cmd_render, "render --model DIR < request.json"},
    {"parse", gemdesk::cli::cmd_parse, "parse < completion.txt"},
    {"run", gemdesk::cli::cmd_run, "run --model DIR --prompt TEXT [--max-tokens N] [--temperature T] [--seed S] [--think] [--kv-cache T]"},
    {"chat", gemdesk::cli::cmd_chat, "chat --model DIR [--system TEXT] [--think] [--image F] [--audio F] [--json]"},
};

void print_usage() {
    std::fprintf(stderr, "usage: gemdesk-cli <command> [options]\n\ncommands:\n");
    for (const auto & c : kCommands) std::fprintf(stderr, "  %s\n", c.usage);
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        print_usage();
        return argc < 2 ? 2 : 0;
    }
    for (const auto & c : kCommands) {
        if (!std::strcmp(argv[1], c.name)) return c.fn(argc - 1, argv + 1);
    }
    std::fprintf(stderr, "gemdesk-cli: unknown command '%s'\n", argv[1]);
    print_usage();
    return 2;
}
