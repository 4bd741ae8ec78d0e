// The Gemma 4 image processor (transformers Gemma4ImageProcessor): aspect-preserving resize to a
// soft-token budget, rescale to [0, 1], and patchify into 16×16×3 rows with (x, y) positions.
// See spec gemma4-multimodal §2. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "media/image.h"
#include "media/image_resize.h"

namespace gemma::media {

constexpr int kImagePatchSize = 16;  // pixels per patch side
constexpr int kImagePoolKernel = 3;  // patches per pooled soft-token side
constexpr int kImagePatchDim = kImagePatchSize * kImagePatchSize * 3;  // 768

// The budgets the model was trained with (soft tokens per image); others are refused.
bool image_budget_is_valid(int max_soft_tokens);

// Where an image lands after the budget rule (§2.1 step 2).
struct ImageGrid {
    int height = 0, width = 0;         // resized pixels, multiples of 48
    int patches_y = 0, patches_x = 0;  // height/16, width/16 (multiples of 3)
    int n_patches() const { return patches_y * patches_x; }
    int n_soft_tokens() const { return n_patches() / (kImagePoolKernel * kImagePoolKernel); }
};

// The resize target for an H × W image under `max_soft_tokens` (70, 140, 280, 560 or 1120).
// Errors: invalid_argument for an unknown budget or a non-positive size.
Result<ImageGrid> image_target_grid(int height, int width, int max_soft_tokens);

struct ImageOptions {
    int max_soft_tokens = 280;  // from processor_config.json or a per-request override
    float rescale_factor = 1.0f / 255.0f;
    bool pad_to_budget = false;  // pad rows to max_soft_tokens·9 like the HF batch output
    ResizeFixedPoint fixed_point = ResizeFixedPoint::torch;
    int n_threads =
        0;  // 0 = up to kMaxImageThreads, fewer for small images (media/image_threads.h)
};

// Processor output for one image.
struct ImagePatches {
    ImageGrid grid;
    int n_rows = 0;                     // grid.n_patches(), or the padded count
    std::vector<float> pixel_values;    // [n_rows, 768]: element (dy·16 + dx)·3 + c, in [0, 1]
    std::vector<int32_t> position_ids;  // [n_rows, 2]: (x = column, y = row); (−1, −1) = padding
};

// Resize (always, up or down, bicubic antialiased), rescale, patchify in raster order, on up to
// n_threads threads (one fork-join; the bytes do not depend on the thread count).
// Errors: invalid_argument for an unknown budget, an empty image, or rgb of the wrong size.
Result<ImagePatches> image_preprocess(const Image & image, const ImageOptions & options);

}  // namespace gemma::media
