// The engine's choice of vision path (EngineOptions::vision_backend) on CPU text backends: "auto"
// keeps the CPU path, a backend name puts the media worker's images on the backend path (its own
// instance), an unusable name falls back to the CPU path; each must reproduce the reference's
// soft tokens and the logits of a mixed image + audio prompt.
#include <gtest/gtest.h>

#include "media_vision_path_util.h"

using namespace rt_test;

TEST(MediaVisionPath, AutoKeepsTheCpuPathOnCpuBackends) {
    VisionPathResult r = run_vision_path("cpu", "auto");
    EXPECT_EQ(r.path, "host");
    EXPECT_LT(r.soft, kTol);
    EXPECT_LT(r.logits, kTol);
}

TEST(MediaVisionPath, BackendPathOnItsOwnBackend) {
    for (const char * name : {"cpu-ref", "cpu"}) {
        VisionPathResult r = run_vision_path("cpu", name);
        EXPECT_EQ(r.path, name);
        std::printf("vision path %-8s soft tokens rel err %.3g, logits rel err %.3g\n", name,
                    r.soft, r.logits);
        // fixtures README: fp32 within ~1e-4 relative.
        EXPECT_LT(r.soft, kTol) << name;
        EXPECT_LT(r.logits, kTol) << name;
    }
}

TEST(MediaVisionPath, UnknownBackendFallsBackToTheCpuPath) {
    VisionPathResult r = run_vision_path("cpu", "no-such-backend");
    EXPECT_EQ(r.path, "host");
    EXPECT_LT(r.soft, kTol);
    EXPECT_LT(r.logits, kTol);
}

TEST(MediaVisionPath, DecodedPixelsGiveTheSameResultAsTheFile) {
    // image.ppm holds image.png's pixels: the worker skips decoding, the rest is the same.
    for (const char * vision : {"auto", "cpu"}) {
        VisionPathResult r = run_vision_path("cpu", vision, true);
        EXPECT_LT(r.soft, kTol) << vision;
        EXPECT_LT(r.logits, kTol) << vision;
    }
}
