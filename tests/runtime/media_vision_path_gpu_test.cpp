// The engine on a CUDA text backend: "auto" must encode images on the backend path, on the media
// worker's own CUDA backend (another thread than the scheduler's), and the mixed image + audio
// prompt must still reproduce the reference logits. Skipped without a GPU.
#include <gtest/gtest.h>

#include "core/registry.h"
#include "media_vision_path_util.h"

using namespace rt_test;

TEST(MediaVisionPathGpu, AutoEncodesImagesOnTheGpu) {
    for (const char * name : {"cuda-f32", "cuda"}) {
        auto probe = gemma::backend_create(name);
        if (!probe.ok()) GTEST_SKIP() << name << " unavailable: " << probe.error().message;
        probe->reset();
        // The image as decoded pixels (image.ppm): no image codec module needed on the GPU host.
        VisionPathResult r = run_vision_path(name, "auto", true);
        EXPECT_EQ(r.path, name);
        std::printf("%-8s soft tokens rel err %.3g, logits rel err %.3g\n", name, r.soft, r.logits);
        // fixtures README: fp32 within ~1e-4 (the fixture's head_dims keep "cuda" on f32
        // attention, its GEMMs are f32 class).
        EXPECT_LT(r.soft, kTol) << name;
        EXPECT_LT(r.logits, kTol) << name;
    }
}
