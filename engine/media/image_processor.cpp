// Gemma 4 image processor: budget rule, resize, rescale, patchify (spec gemma4-multimodal §2.1).
#include "media/image_processor.h"

#include <cmath>

#include "core/parallel.h"

namespace gemma::media {

bool image_budget_is_valid(int b) {
    return b == 70 || b == 140 || b == 280 || b == 560 || b == 1120;
}

Result<ImageGrid> image_target_grid(int height, int width, int budget) {
    if (!image_budget_is_valid(budget)) {
        return make_error(ErrorCode::invalid_argument,
                          format("image budget %d soft tokens is not supported; use 70, 140, 280, "
                                 "560 or 1120",
                                 budget));
    }
    if (height <= 0 || width <= 0) {
        return make_error(ErrorCode::invalid_argument,
                          format("image size %d x %d is empty", width, height));
    }
    const int side = kImagePatchSize * kImagePoolKernel;  // 48
    const double target_px =
        double(budget) * kImagePoolKernel * kImagePoolKernel * kImagePatchSize * kImagePatchSize;
    const double f = std::sqrt(target_px / (double(height) * double(width)));
    int64_t ht = int64_t(std::floor(f * height / side)) * side;
    int64_t wt = int64_t(std::floor(f * width / side)) * side;
    // Extreme aspect ratios (beyond budget:1) round one side to 0: keep one row of pooled tokens.
    if (ht == 0 && wt == 0) return make_error(ErrorCode::internal, "image budget rule gave 0 x 0");
    if (ht == 0) {
        ht = side;
        wt = std::min<int64_t>(int64_t(width / height) * side, int64_t(budget) * side);
    } else if (wt == 0) {
        wt = side;
        ht = std::min<int64_t>(int64_t(height / width) * side, int64_t(budget) * side);
    }
    ImageGrid g;
    g.height = int(ht);
    g.width = int(wt);
    g.patches_y = g.height / kImagePatchSize;
    g.patches_x = g.width / kImagePatchSize;
    return g;
}

namespace {

// Patch n = py·pw + px holds pixel (py·16 + dy, px·16 + dx), channel c at (dy·16 + dx)·3 + c
// (HF: reshape(C, ph, 16, pw, 16).permute(1, 3, 2, 4, 0)).
// A patch's pixel row dy is 16 consecutive RGB pixels of the image: one contiguous run of 48
// values on both sides. Rows of patches are filled in parallel.
void patchify(const Image & img, const ImageGrid & g, float scale, ImagePatches & out) {
    const int p = kImagePatchSize;
    const size_t run = size_t(p) * 3;
    parallel_for(g.patches_y, 4, [&](int64_t py0, int64_t py1) {
        for (int64_t py = py0; py < py1; ++py) {
            for (int px = 0; px < g.patches_x; ++px) {
                const size_t n = size_t(py) * size_t(g.patches_x) + size_t(px);
                float * row = &out.pixel_values[n * kImagePatchDim];
                for (int dy = 0; dy < p; ++dy) {
                    const uint8_t * src = &img.rgb[(size_t(py * p + dy) * size_t(img.width) +
                                                    size_t(px) * size_t(p)) *
                                                   3];
                    float * dst = row + size_t(dy) * run;
                    for (size_t i = 0; i < run; ++i) dst[i] = float(src[i]) * scale;
                }
                out.position_ids[n * 2 + 0] = px;
                out.position_ids[n * 2 + 1] = int32_t(py);
            }
        }
    });
}

}  // namespace

Result<ImagePatches> image_preprocess(const Image & image, const ImageOptions & opt) {
    auto grid = image_target_grid(image.height, image.width, opt.max_soft_tokens);
    if (!grid) return grid.error();
    ImagePatches out;
    out.grid = *grid;
    const int max_rows = opt.max_soft_tokens * kImagePoolKernel * kImagePoolKernel;
    out.n_rows = opt.pad_to_budget ? max_rows : grid->n_patches();
    GEMMA_ASSERT(grid->n_patches() <= max_rows, "budget rule exceeded the budget");
    out.pixel_values.assign(size_t(out.n_rows) * kImagePatchDim, 0.0f);
    out.position_ids.assign(size_t(out.n_rows) * 2, -1);
    const bool same = grid->height == image.height && grid->width == image.width;
    if (same) {
        patchify(image, *grid, opt.rescale_factor, out);
    } else {
        Image resized = image_resize_bicubic(image, grid->width, grid->height, opt.fixed_point);
        patchify(resized, *grid, opt.rescale_factor, out);
    }
    return out;
}

}  // namespace gemma::media
