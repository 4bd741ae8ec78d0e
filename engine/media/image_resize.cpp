// Separable antialiased bicubic resampling with uint8 rounding after each pass, mirroring Pillow's
// Resample.c (weights, bounds, pass order) and ATen's uint8 antialias kernels (int16 weights).
#include "media/image_resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "media/image_resize_simd.h"
#include "core/parallel.h"
#include "media/image_threads.h"

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

// Channel multiply-adds per thread before another thread pays off (a spawn costs tens of µs; this
// is about 0.2 ms of work on one core).
constexpr int64_t kMinWorkPerThread = int64_t(1) << 21;

// One resize, planned once per call: taps for the axes that change and the loops to use.
struct Plan {
    const Image * in = nullptr;
    int out_w = 0, out_h = 0;
    bool pass_x = false, pass_y = false;  // which axes change
    bool simd = false, simd_x = false;    // SIMD loops; along x only if in.width > ksize
    AxisTaps tx, ty;
    PaddedTaps px;  // tx for the SIMD row loop
    int ring = 0;   // x-pass rows a band keeps: the most y taps of one output row
};

Plan make_plan(const Image & in, int out_w, int out_h, const ResizeOptions & opt) {
    Plan p;
    p.in = &in;
    p.out_w = out_w;
    p.out_h = out_h;
    p.pass_x = out_w != in.width;
    p.pass_y = out_h != in.height;
    p.simd = opt.use_simd;
    if (p.pass_x) {
        p.tx = axis_taps(in.width, out_w, opt.fixed_point);
        p.simd_x = p.simd && in.width > p.tx.ksize;
        if (p.simd_x) p.px = padded_taps(p.tx, in.width);
    }
    if (p.pass_y) {
        p.ty = axis_taps(in.height, out_h, opt.fixed_point);
        p.ring = *std::max_element(p.ty.count.begin(), p.ty.count.end());
    }
    return p;
}

// Channel multiply-adds of the whole resize (for the thread count).
int64_t plan_work(const Plan & p) {
    const int64_t row = int64_t(p.out_w) * 3;
    int64_t work = int64_t(p.out_h) * row;  // the sink's pass over every row
    if (p.pass_x) work += int64_t(p.in->height) * row * p.tx.ksize;
    if (p.pass_y) work += int64_t(p.out_h) * row * p.ty.ksize;
    return work;
}

// A band's buffers, allocated before the threads start (workers do not allocate).
struct BandScratch {
    std::vector<uint8_t> ring;          // plan.ring x-pass rows, row r at slot r % plan.ring
    std::vector<uint8_t> row;           // one output row
    std::vector<int32_t> acc;           // the scalar y loop's sums
    std::vector<const uint8_t *> rows;  // one output row's y taps
};

BandScratch band_scratch(const Plan & p) {
    const size_t stride = size_t(p.out_w) * 3;
    BandScratch s;
    if (p.pass_x && p.pass_y) s.ring.resize(size_t(p.ring) * stride);
    if (p.pass_x || p.pass_y) s.row.resize(stride);
    if (p.pass_y && !p.simd) s.acc.resize(stride);
    if (p.pass_y) s.rows.resize(size_t(p.ty.ksize));
    return s;
}

// Input row y resampled along x into dst (out_w pixels). The SIMD loop reads one byte past a row's
// last tap, so the image's last row stays scalar.
void x_row(const Plan & p, int y, uint8_t * dst) {
    const uint8_t * src = p.in->rgb.data() + size_t(y) * size_t(p.in->width) * 3;
    if (p.simd_x && y + 1 < p.in->height)
        simd::resize_row_x(
            src, p.out_w, simd::Taps{p.px.start.data(), p.px.w.data(), p.tx.ksize, p.tx.bits}, dst);
    else
        row_x_scalar(src, p.out_w, p.tx, dst);
}

// Output row o along y from its count = ty.count[o] source rows (s.rows) into s.row.
void y_row(const Plan & p, int o, BandScratch & s) {
    const int32_t * k = &p.ty.w[size_t(o) * size_t(p.ty.ksize)];
    const int count = p.ty.count[size_t(o)];
    const size_t stride = s.row.size();
    if (p.simd) {
        simd::resize_row_y(s.rows.data(), k, count, p.ty.bits, int64_t(stride), s.row.data());
        return;
    }
    std::fill(s.acc.begin(), s.acc.end(), int32_t(1) << (p.ty.bits - 1));
    for (int j = 0; j < count; ++j)
        for (size_t i = 0; i < stride; ++i) s.acc[i] += int32_t(s.rows[size_t(j)][i]) * k[j];
    for (size_t i = 0; i < stride; ++i) s.row[i] = clip8(s.acc[i], p.ty.bits);
}

// Output rows [o0, o1) with the y pass. Taps move forward with o (start and start + count never
// decrease), so an x-pass row is computed once per band and dropped from the ring once passed.
void band_xy(const Plan & p, int o0, int o1, BandScratch & s, const ResizeRowSink & sink) {
    const size_t stride = s.row.size();
    const size_t in_stride = size_t(p.in->width) * 3;
    int next = p.ty.start[size_t(o0)];  // first x-pass row not yet in the ring
    for (int o = o0; o < o1; ++o) {
        const int lo = p.ty.start[size_t(o)], count = p.ty.count[size_t(o)];
        GEMMA_ASSERT(lo + count <= p.in->height && count <= p.ring, "y taps %d+%d", lo, count);
        if (p.pass_x) {
            for (next = std::max(next, lo); next < lo + count; ++next)
                x_row(p, next, &s.ring[size_t(next % p.ring) * stride]);
        }
        for (int j = 0; j < count; ++j) {
            const size_t r = size_t(lo + j);
            s.rows[size_t(j)] =
                p.pass_x ? &s.ring[(r % size_t(p.ring)) * stride] : &p.in->rgb[r * in_stride];
        }
        y_row(p, o, s);
        sink(o, s.row.data());
    }
}

// Output rows [o0, o1) without the y pass: input row o, resampled along x if the width changes.
void band_x(const Plan & p, int o0, int o1, BandScratch & s, const ResizeRowSink & sink) {
    for (int o = o0; o < o1; ++o) {
        if (p.pass_x) {
            x_row(p, o, s.row.data());
            sink(o, s.row.data());
        } else {
            sink(o, &p.in->rgb[size_t(o) * size_t(p.in->width) * 3]);
        }
    }
}

Image resize_image(const Image & in, int out_w, int out_h, const ResizeOptions & opt) {
    Image out;
    out.width = out_w;
    out.height = out_h;
    if (out_w == in.width && out_h == in.height) {
        out.rgb = in.rgb;
        return out;
    }
    out.rgb.resize(size_t(out_w) * size_t(out_h) * 3);
    const size_t stride = size_t(out_w) * 3;
    image_resize_bicubic_rows(in, out_w, out_h, opt, [&](int y, const uint8_t * rgb) {
        std::memcpy(&out.rgb[size_t(y) * stride], rgb, stride);
    });
    return out;
}

}  // namespace

void image_resize_bicubic_rows(const Image & in, int out_w, int out_h, const ResizeOptions & opt,
                               const ResizeRowSink & sink) {
    GEMMA_ASSERT(out_w > 0 && out_h > 0 && in.width > 0 && in.height > 0 &&
                     in.rgb.size() == size_t(in.width) * size_t(in.height) * 3,
                 "resize %dx%d (%zu bytes) -> %dx%d", in.width, in.height, in.rgb.size(), out_w,
                 out_h);
    const Plan p = make_plan(in, out_w, out_h, opt);
    const int n_threads =
        std::min(image_thread_count(opt.n_threads, plan_work(p), kMinWorkPerThread), out_h);
    std::vector<BandScratch> scratch(static_cast<size_t>(n_threads), band_scratch(p));
    // One band of output rows per thread (band k: rows [out_h·k / n, out_h·(k+1) / n)), each
    // with its own scratch; core's fork-join runs the bands.
    parallel_for(n_threads, 1, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
            const int o0 = int(out_h * k / n_threads), o1 = int(out_h * (k + 1) / n_threads);
            BandScratch & s = scratch[size_t(k)];
            if (p.pass_y)
                band_xy(p, o0, o1, s, sink);
            else
                band_x(p, o0, o1, s, sink);
        }
    });
}

Image image_resize_bicubic(const Image & in, int out_w, int out_h, ResizeFixedPoint fp,
                           int n_threads) {
    return resize_image(in, out_w, out_h, ResizeOptions{fp, n_threads, /*use_simd=*/true});
}

Image image_resize_bicubic_scalar(const Image & in, int out_w, int out_h, ResizeFixedPoint fp,
                                  int n_threads) {
    return resize_image(in, out_w, out_h, ResizeOptions{fp, n_threads, /*use_simd=*/false});
}

}  // namespace gemma::media
