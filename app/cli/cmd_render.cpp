// gemdesk-cli render: chat request JSON on stdin -> the exact Gemma 4 prompt text on stdout (no
// newline added). Rendering is native; the model dir's template is only checked to be Gemma 4's.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "cli/commands.h"
#include "common/args.h"
#include "runtime/chat_request.h"
#include "runtime/chat_template.h"

namespace gemdesk::cli {

int cmd_render(int argc, char ** argv) {
    Args args(argc, argv, {"normalize"});
    std::string err = args.check_known({"model", "normalize"});
    if (!err.empty() || !args.has("model") || !args.positional().empty()) {
        std::fprintf(
            stderr,
            "gemdesk-cli render: %s\nusage: render --model DIR [--normalize] < request.json\n"
            "  --normalize  decode JSON-string tool-call arguments and default "
            "parameters.type as the server does\n",
            err.empty() ? "--model DIR is required" : err.c_str());
        return 2;
    }
    auto tmpl = gemma::chat::chat_template_load(args.get("model"));
    if (!tmpl.ok()) {
        std::fprintf(stderr, "gemdesk-cli render: %s\n", tmpl.error().message.c_str());
        return 1;
    }
    auto info = gemma::chat::chat_template_inspect(*tmpl);
    if (!info.ok()) {
        std::fprintf(stderr, "gemdesk-cli render: %s\n", info.error().message.c_str());
        return 1;
    }
    if (!info->july_revision) {
        std::fprintf(stderr,
                     "gemdesk-cli render: warning: the model's chat template predates the "
                     "2026-07-09 revision; output follows the July template\n");
    }
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto options = args.has("normalize") ? gemma::chat::ChatRequestOptions::server()
                                         : gemma::chat::ChatRequestOptions{};
    auto request = gemma::chat::chat_request_parse(input, options);
    if (!request.ok()) {
        std::fprintf(stderr, "gemdesk-cli render: %s\n", request.error().message.c_str());
        return 1;
    }
    auto text = gemma::chat::chat_render(*request, *info);
    if (!text.ok()) {
        std::fprintf(stderr, "gemdesk-cli render: %s\n", text.error().message.c_str());
        return 1;
    }
    std::fwrite(text->data(), 1, text->size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace gemdesk::cli
