// Shared by the gemdesk-cli benchmarks that take an image: the deterministic test image and the
// image-turn benchmark (`bench --image N`, cmd_bench_image.cpp).
#pragma once

#include "media/image.h"

namespace gemdesk::cli {

// A deterministic textured RGB image (gradients plus a hash pattern), so resizing does real work.
gemma::media::Image bench_test_image(int w, int h);

// gemdesk-cli bench --image BUDGET ...: image -> first token timing (usage in the .cpp).
int cmd_bench_image(int argc, char ** argv);

}  // namespace gemdesk::cli
