// Separable antialiased bicubic resampling with uint8 rounding after each pass, mirroring Pillow's
// Resample.c (weights, bounds, pass order) and ATen's uint8 antialias kernels (int16 weights).
#include "media/image_resize.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "media/image_resize_simd.h"

namespace gemma::media {
namespace {

// Keys cubic convolution kernel with a = −0.5 (Pillow's bicubic_filter; support 2).
double cubic(double x) {
    const double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// Per output index o: input taps [start[o], start[o] + count[o]) with fixed-point weights
// w[o·ksize + j]; sum·w is rounded by adding half and shifting right by `bits`.
struct AxisTaps {
    int ksize = 0;
    int bits = 0;
    std::vector<int> start, count;
    std::vector<int32_t> w;
};

// Round half away from zero, as both references convert double weights to integers.
int32_t round_away(double v) { return int32_t(v < 0 ? v - 0.5 : v + 0.5); }

AxisTaps axis_taps(int in_size, int out_size, ResizeFixedPoint fp) {
    const double scale = double(in_size) / double(out_size);
    const double filterscale = std::max(scale, 1.0);  // stretch the kernel when downscaling
    const double support = 2.0 * filterscale;
    AxisTaps t;
    t.ksize = int(std::ceil(support)) * 2 + 1;
    t.start.resize(size_t(out_size));
    t.count.resize(size_t(out_size));
    std::vector<double> kk(size_t(out_size) * size_t(t.ksize), 0.0);
    double w_max = 0.0;
    for (int o = 0; o < out_size; ++o) {
        const double center = (o + 0.5) * scale;
        int lo = std::max(int(center - support + 0.5), 0);
        int n = std::min(int(center + support + 0.5), in_size) - lo;
        double * k = &kk[size_t(o) * size_t(t.ksize)];
        double total = 0.0;
        for (int j = 0; j < n; ++j) total += (k[j] = cubic((j + lo - center + 0.5) / filterscale));
        for (int j = 0; j < n && total != 0.0; ++j) w_max = std::max(w_max, k[j] /= total);
        t.start[size_t(o)] = lo;
        t.count[size_t(o)] = n;
    }
    if (fp == ResizeFixedPoint::pil) {
        t.bits = 22;
    } else {  // largest fraction whose rounded maximum weight still fits an int16
        for (t.bits = 0; t.bits < 22; ++t.bits) {
            if (int(0.5 + w_max * double(1 << (t.bits + 1))) >= (1 << 15)) break;
        }
    }
    t.w.resize(kk.size());
    for (size_t i = 0; i < kk.size(); ++i) t.w[i] = round_away(kk[i] * double(1 << t.bits));
    return t;
}

// Sums fit an int32, as in Pillow: |weights| sum to < 1.3 · 2^bits (bits ≤ 22) and values ≤ 255.
inline uint8_t clip8(int32_t acc, int bits) {
    return uint8_t(std::clamp<int32_t>(acc >> bits, 0, 255));
}

// Rows per parallel_for range: a few hundred thousand multiply-adds each.
constexpr int64_t kRowsPerTask = 16;

// The x taps for the SIMD row loop: every output pixel reads ksize taps (weights past its count
// are 0), so the last ones start earlier with their weights moved up to keep start + ksize <= in_w.
struct PaddedTaps {
    std::vector<int> start;
    std::vector<int32_t> w;
};

PaddedTaps padded_taps(const AxisTaps & t, int in_size) {
    const size_t out_size = t.start.size(), k = size_t(t.ksize);
    PaddedTaps p{std::vector<int>(out_size), std::vector<int32_t>(out_size * k, 0)};
    for (size_t o = 0; o < out_size; ++o) {
        const int lo = std::min(t.start[o], in_size - t.ksize);
        const size_t shift = size_t(t.start[o] - lo);
        p.start[o] = lo;
        for (size_t j = 0; j < size_t(t.count[o]); ++j) p.w[o * k + shift + j] = t.w[o * k + j];
    }
    return p;
}

// One row along x with the plain loops (the reference the SIMD loop must match).
void row_x_scalar(const uint8_t * src, int out_w, const AxisTaps & t, uint8_t * dst) {
    for (int o = 0; o < out_w; ++o) {
        const int32_t * k = &t.w[size_t(o) * size_t(t.ksize)];
        const uint8_t * s = src + size_t(t.start[size_t(o)]) * 3;
        int32_t r = int32_t(1) << (t.bits - 1), g = r, b = r;
        for (int j = 0; j < t.count[size_t(o)]; ++j) {
            r += int32_t(s[3 * j]) * k[j];
            g += int32_t(s[3 * j + 1]) * k[j];
            b += int32_t(s[3 * j + 2]) * k[j];
        }
        dst[3 * o] = clip8(r, t.bits);
        dst[3 * o + 1] = clip8(g, t.bits);
        dst[3 * o + 2] = clip8(b, t.bits);
    }
}

// Resamples along x: rows of `in` (width in_w) -> rows of width t.start.size(); rows in parallel
// (each output byte is computed exactly as by one thread). The SIMD loop reads one byte past a
// row's last tap, so the image's last row (and inputs narrower than the kernel) stay scalar.
std::vector<uint8_t> pass_x(const std::vector<uint8_t> & in, int in_w, int rows,
                            const AxisTaps & t, bool use_simd) {
    const int out_w = int(t.start.size());
    std::vector<uint8_t> out(size_t(out_w) * size_t(rows) * 3);
    use_simd = use_simd && in_w > t.ksize;
    const PaddedTaps p = use_simd ? padded_taps(t, in_w) : PaddedTaps{};
    const simd::Taps st{p.start.data(), p.w.data(), t.ksize, t.bits};
    parallel_for(rows, kRowsPerTask, [&](int64_t y0, int64_t y1) {
        for (int64_t y = y0; y < y1; ++y) {
            const uint8_t * src = &in[size_t(y) * size_t(in_w) * 3];
            uint8_t * dst = &out[size_t(y) * size_t(out_w) * 3];
            if (use_simd && y + 1 < rows)
                simd::resize_row_x(src, out_w, st, dst);
            else
                row_x_scalar(src, out_w, t, dst);
        }
    });
    return out;
}

// Resamples along y: `in` has `width` columns; output rows = t.start.size(), in parallel. The
// inner loop runs along a contiguous row (vectorized in the SIMD path).
std::vector<uint8_t> pass_y(const std::vector<uint8_t> & in, int width, const AxisTaps & t,
                            bool use_simd) {
    const int out_h = int(t.start.size());
    const size_t stride = size_t(width) * 3;
    std::vector<uint8_t> out(size_t(out_h) * stride);
    parallel_for(out_h, kRowsPerTask, [&](int64_t o0, int64_t o1) {
        std::vector<int32_t> acc(use_simd ? 0 : stride);
        std::vector<const uint8_t *> rows(size_t(t.ksize));
        for (int64_t o = o0; o < o1; ++o) {
            const int32_t * k = &t.w[size_t(o) * size_t(t.ksize)];
            const int count = t.count[size_t(o)];
            uint8_t * dst = &out[size_t(o) * stride];
            for (int j = 0; j < count; ++j)
                rows[size_t(j)] = &in[size_t(t.start[size_t(o)] + j) * stride];
            if (use_simd) {
                simd::resize_row_y(rows.data(), k, count, t.bits, int64_t(stride), dst);
                continue;
            }
            std::fill(acc.begin(), acc.end(), int32_t(1) << (t.bits - 1));
            for (int j = 0; j < count; ++j)
                for (size_t i = 0; i < stride; ++i) acc[i] += int32_t(rows[size_t(j)][i]) * k[j];
            for (size_t i = 0; i < stride; ++i) dst[i] = clip8(acc[i], t.bits);
        }
    });
    return out;
}

Image resize(const Image & in, int out_w, int out_h, ResizeFixedPoint fp, bool use_simd) {
    GEMMA_ASSERT(out_w > 0 && out_h > 0 && in.width > 0 && in.height > 0, "resize %dx%d -> %dx%d",
                 in.width, in.height, out_w, out_h);
    Image out;
    out.width = out_w;
    out.height = out_h;
    if (out_w != in.width)  // read the input in place: no copy of it first
        out.rgb = pass_x(in.rgb, in.width, in.height, axis_taps(in.width, out_w, fp), use_simd);
    const std::vector<uint8_t> & rows = out_w != in.width ? out.rgb : in.rgb;
    if (out_h != in.height)
        out.rgb = pass_y(rows, out_w, axis_taps(in.height, out_h, fp), use_simd);
    else if (out_w == in.width)
        out.rgb = in.rgb;
    return out;
}

}  // namespace

Image image_resize_bicubic(const Image & in, int out_w, int out_h, ResizeFixedPoint fp) {
    return resize(in, out_w, out_h, fp, /*use_simd=*/true);
}

Image image_resize_bicubic_scalar(const Image & in, int out_w, int out_h, ResizeFixedPoint fp) {
    return resize(in, out_w, out_h, fp, /*use_simd=*/false);
}

}  // namespace gemma::media
