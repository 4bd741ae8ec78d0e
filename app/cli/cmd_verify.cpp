// gemdesk-cli verify: not built yet (issue #3).
#include <cstdio>

#include "cli/commands.h"

namespace gemdesk::cli {

int cmd_verify(int, char **) {
    std::fprintf(stderr, "gemdesk-cli verify: not available yet (tracked in issue #3)\n");
    return 2;
}

}  // namespace gemdesk::cli
