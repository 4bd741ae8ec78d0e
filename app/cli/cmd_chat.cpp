// gemdesk-cli chat: not built yet (issue #5).
#include <cstdio>

#include "cli/commands.h"

namespace gemdesk::cli {

int cmd_chat(int, char **) {
    std::fprintf(stderr, "gemdesk-cli chat: not available yet (tracked in issue #5)\n");
    return 2;
}

}  // namespace gemdesk::cli
