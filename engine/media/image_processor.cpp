// Gemma 4 image processor: budget rule, resize, rescale, patchify (spec gemma4-multimodal §2.1).
#include "media/image_processor.h"

#include <cmath>

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
// (HF: reshape(C, ph, 16, pw, 16).permute(1, 3, 2, 4, 0)). Image row y = py·16 + dy is, for
// each px, one contiguous run of 48 values on both sides: patchify_row writes those runs.
void patchify_row(const uint8_t * rgb, int y, int patches_x, float scale, float * pixel_values) {
    const size_t run = size_t(kImagePatchSize) * 3;
    const size_t py = size_t(y / kImagePatchSize), dy = size_t(y % kImagePatchSize);
    for (size_t px = 0; px < size_t(patches_x); ++px) {
        const uint8_t * src = rgb + px * run;
        float * dst = pixel_values + (py * size_t(patches_x) + px) * kImagePatchDim + dy * run;
        for (size_t i = 0; i < run; ++i) dst[i] = float(src[i]) * scale;
    }
}

}  // namespace

Result<ImagePatches> image_preprocess(const Image & image, const ImageOptions & opt) {
    auto grid = image_target_grid(image.height, image.width, opt.max_soft_tokens);
    if (!grid) return grid.error();
    if (image.rgb.size() != size_t(image.width) * size_t(image.height) * 3) {
        return make_error(ErrorCode::invalid_argument,
                          format("image %d x %d has %zu RGB bytes, expected %zu; decode it with "
                                 "image_decode",
                                 image.width, image.height, image.rgb.size(),
                                 size_t(image.width) * size_t(image.height) * 3));
    }
    ImagePatches out;
    out.grid = *grid;
    const int max_rows = opt.max_soft_tokens * kImagePoolKernel * kImagePoolKernel;
    out.n_rows = opt.pad_to_budget ? max_rows : grid->n_patches();
    GEMMA_ASSERT(grid->n_patches() <= max_rows, "budget rule exceeded the budget");
    out.pixel_values.resize(size_t(out.n_rows) * kImagePatchDim);  // padding rows stay 0
    out.position_ids.assign(size_t(out.n_rows) * 2, -1);
    for (int py = 0; py < grid->patches_y; ++py) {
        for (int px = 0; px < grid->patches_x; ++px) {
            const size_t n = size_t(py) * size_t(grid->patches_x) + size_t(px);
            out.position_ids[n * 2 + 0] = px;
            out.position_ids[n * 2 + 1] = py;
        }
    }
    // Resize (or pass the rows through at the target size) and patchify each row as it comes.
    float * pixel_values = out.pixel_values.data();
    const ResizeOptions ro{opt.fixed_point, opt.n_threads, /*use_simd=*/true};
    image_resize_bicubic_rows(
        image, grid->width, grid->height, ro, [&](int y, const uint8_t * rgb) {
            patchify_row(rgb, y, grid->patches_x, opt.rescale_factor, pixel_values);
        });
    return out;
}

}  // namespace gemma::media
