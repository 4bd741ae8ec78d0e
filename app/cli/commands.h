// The gemdesk-cli subcommands. Each takes argv with argv[0] = the subcommand name and returns
// the process exit code (0 ok, 1 failure of the work, 2 bad usage).
#pragma once

namespace gemdesk::cli {

int cmd_verify(int argc, char ** argv);    // golden comparison (issue 3)
int cmd_bench(int argc, char ** argv);     // speed benchmark (issues 3, 5, 8)
int cmd_bench_media(int argc, char ** argv);  // media encoder benchmark (issue 7)
int cmd_tokenize(int argc, char ** argv);  // JSON lines text -> ids (issue 4)
int cmd_render(int argc, char ** argv);    // chat request JSON -> prompt text (issue 4)
int cmd_parse(int argc, char ** argv);     // completion text -> message JSON (issue 4)
int cmd_run(int argc, char ** argv);       // one-shot generation (issue 5)
int cmd_chat(int argc, char ** argv);      // interactive terminal chat (issue 5)

}  // namespace gemdesk::cli
