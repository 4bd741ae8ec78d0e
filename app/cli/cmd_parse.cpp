// gemdesk-cli parse: not built yet (issue #4).
#include <cstdio>

#include "cli/commands.h"

namespace gemdesk::cli {

int cmd_parse(int, char **) {
    std::fprintf(stderr, "gemdesk-cli parse: not available yet (tracked in issue #4)\n");
    return 2;
}

}  // namespace gemdesk::cli
