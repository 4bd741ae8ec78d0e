// SIMD kernels of the fast CPU backend (Highway, dynamic dispatch: the best instruction set of
// the running CPU is picked at the first call, so no -march=native build is needed).
// All pointers are host memory; every sum is accumulated in f32 (lane-parallel, so the order
// differs from the scalar reference: relative differences of a few ulp·√n). Single-threaded:
// the callers split work across the thread pool. Inputs and outputs may alias where noted.
#pragma once

#include <cstdint>

namespace gemma::cpu::simd {

// Name of the instruction set the dispatched kernels run with on this CPU ("AVX3", "AVX2", ...).
const char * target_name();

// ---- dot products / GEMV (simd_dot.cpp) ----
// y[i·ldy + r] = Σ_j x[i·ldx + j] · w[r·ldw + j] for r < rows, i < nx (w bf16 bits or f32).
// Each weight row is read once per call and reused for all nx rows of x.
void gemv_bf16(const uint16_t * w, int64_t ldw, int64_t rows, const float * x, int64_t ldx,
               int64_t nx, int64_t k, float * y, int64_t ldy);
void gemv_f32(const float * w, int64_t ldw, int64_t rows, const float * x, int64_t ldx, int64_t nx,
              int64_t k, float * y, int64_t ldy);
// dst[j] = bf16 src[j] as f32 · scale (exact widening, then one f32 multiply; scale 1 = plain).
void bf16_to_f32(const uint16_t * src, int64_t n, float scale, float * dst);
// Σ a[j]·b[j].
float dot(const float * a, const float * b, int64_t n);
// y[j] += a · x[j].
void axpy(float a, const float * x, float * y, int64_t n);

// ---- q8_0 / q4_0 weights (simd_quant.cpp) ----
// Activations for integer dots: per 32-value block of x (k a multiple of 32), d[b] = max|x| /
// 32767 and q = round(x / d[b]) as int16.
void quantize_acts_i16(const float * x, int64_t k, int16_t * q, float * d);
// y[i·ldy + r] = Σ_b d_w[r, b] · d_x[i, b] · Σ_j q_w[r, b, j] · q_x[i, b, j] for r < rows, i < nx:
// w = `rows` consecutive GGUF block rows of k values; xq [nx, k], xd [nx, k/32] from
// quantize_acts_i16. Each weight row is read once and reused for all nx rows of x.
void gemv_q8_0(const uint8_t * w, int64_t rows, const int16_t * xq, const float * xd, int64_t nx,
               int64_t k, float * y, int64_t ldy);
void gemv_q4_0(const uint8_t * w, int64_t rows, const int16_t * xq, const float * xd, int64_t nx,
               int64_t k, float * y, int64_t ldy);
// One row of k values (GGUF q8_0 blocks when q8, else q4_0) to f32, exactly (q · d).
void dequantize_row(const uint8_t * src, bool q8, int64_t k, float * y);

// ---- element-wise and row kernels (simd_math.cpp); y may alias x / a ----
float sum_squares(const float * x, int64_t n);
// y[j] = (x[j] · s) · w[j]; w may be null (no weight).
void scale_mul(const float * x, float s, const float * w, float * y, int64_t n);
void add(const float * a, const float * b, float * y, int64_t n);
void mul(const float * a, const float * b, float * y, int64_t n);
void add_scalar(const float * a, float b, float * y, int64_t n);
void mul_scalar(const float * a, float b, float * y, int64_t n);
// y = cap · tanh(x / cap).
void softcap(const float * x, float cap, float * y, int64_t n);
// y = gelu_tanh(gate) · up (y may alias gate or up).
void gelu_tanh_mul(const float * gate, const float * up, float * y, int64_t n);
float max_value(const float * x, int64_t n);
// x[j] = exp(x[j] − mx) (−inf entries become 0); returns Σ x[j] after the update.
float exp_sub_sum(float * x, int64_t n, float mx);
// NeoX rotation of one head: y[i] = x[i]c[i] − x[i+h]s[i], y[i+h] = x[i+h]c[i] + x[i]s[i], i < h.
void rope_rotate(const float * x, const float * c, const float * s, int64_t h, float * y);

}  // namespace gemma::cpu::simd
