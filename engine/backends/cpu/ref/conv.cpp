// The convolution helpers of the audio tower: conv1d_dw (causal depthwise conv over time) and
// im2col (patches of a 2-D kernel over a channel-last image, for a Conv2d as a matmul).
#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out, int64_t t0, int64_t t1) {
    const int64_t c = x.dim(1), k = w.dim(1);
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out);
    for (int64_t t = t0; t < t1; ++t) {
        for (int64_t ch = 0; ch < c; ++ch) {
            float s = 0.0f;
            for (int64_t j = 0; j < k; ++j) {
                const int64_t src = t - (k - 1) + j;
                if (src >= 0) s += load_f32(w, ch * k + j) * xp[src * c + ch];
            }
            y[t * c + ch] = s;
        }
    }
}

void im2col(const Tensor & x, const Im2colDesc & d, const Tensor & out, int64_t y0, int64_t y1) {
    const int64_t h = x.dim(0), w = x.dim(1), c = x.dim(2);
    const int64_t wo = (w + 2 * d.pad - d.kw) / d.stride + 1, cols = c * d.kh * d.kw;
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out);
    for (int64_t oy = y0; oy < y1; ++oy) {
        for (int64_t ox = 0; ox < wo; ++ox) {
            float * row = y + (oy * wo + ox) * cols;
            for (int64_t ci = 0; ci < c; ++ci) {
                for (int64_t ky = 0; ky < d.kh; ++ky) {
                    for (int64_t kx = 0; kx < d.kw; ++kx) {
                        const int64_t iy = oy * d.stride - d.pad + ky,
                                      ix = ox * d.stride - d.pad + kx;
                        const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                        row[(ci * d.kh + ky) * d.kw + kx] =
                            inside ? xp[(iy * w + ix) * c + ci] : 0.0f;
                    }
                }
            }
        }
    }
}

void conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out) {
    conv1d_dw(x, w, out, 0, x.dim(0));
}

void im2col(const Tensor & x, const Im2colDesc & d, const Tensor & out) {
    im2col(x, d, out, 0, (x.dim(0) + 2 * d.pad - d.kh) / d.stride + 1);
}

}  // namespace gemma::cpu::ref
