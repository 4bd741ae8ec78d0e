// The tail shared by the decode GEMVs (ops/matmul.cu bf16 / f32, ops/matmul_quant_gemv.cu q8_0 /
// q4_0): a warp's per-lane partial dot products summed over the warp and over the KS warps that
// split a row group's k range, then the rows written with the GEMV epilogues (GemvEpilogue).
#pragma once

#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {

// Rows the GEMV computes: m, or under the triple epilogue the m + 2·m2 rows of w, w2 and w3.
// P: MatmulParams or QuantMatmulParams.
template <class P>
__host__ __device__ __forceinline__ int64_t gemv_rows_total(const P & p) {
    return p.epilogue == GemvEpilogue::triple ? p.m + 2 * p.m2 : p.m;
}

// Row g of the GEMV's row range as weight `w` (row `row` of its `width` rows) and the output it
// goes to (row r of x writes out[r · width + row]): w / out itself, or under the triple epilogue
// w2 / out2 and w3 / out3 for g past m, past m + m2.
struct GemvRow {
    const void * w;
    float * out;
    int64_t row, width;
};
template <class P>
__device__ __forceinline__ GemvRow gemv_row(const P & p, int64_t g) {
    if (p.epilogue != GemvEpilogue::triple || g < p.m) return {p.w, p.out, g, p.m};
    g -= p.m;
    if (g < p.m2) return {p.w2, p.out2, g, p.m2};
    return {p.w3, p.out3, g - p.m2, p.m2};
}

// acc[r][s]: x row r · weight slot s. Sums over the warp, then warps ks = 1.. of a row group hand
// their sums to warp ks = 0 through `red` (KS > 1: every warp of the block must call this, two
// block barriers). Returns whether this lane holds the final sums (lane 0 of warp ks = 0, live).
template <int NR, int R, int KS>
__device__ __forceinline__ bool gemv_reduce(float (&acc)[NR][R], float * red, bool live) {
    const int lane = threadIdx.x % GEMMA_WARP, warp = threadIdx.x / GEMMA_WARP;
    const int ks = warp % KS;
#pragma unroll
    for (int r = 0; r < NR; ++r)
#pragma unroll
        for (int s = 0; s < R; ++s) acc[r][s] = gemma_warp_sum(acc[r][s]);
    if constexpr (KS > 1) {
        if (lane == 0 && ks > 0) {
#pragma unroll
            for (int r = 0; r < NR; ++r)
#pragma unroll
                for (int s = 0; s < R; ++s) red[(warp * NR + r) * R + s] = acc[r][s];
        }
        __syncthreads();
        if (ks == 0 && live) {
#pragma unroll
            for (int j = 1; j < KS; ++j)
#pragma unroll
                for (int r = 0; r < NR; ++r)
#pragma unroll
                    for (int s = 0; s < R; ++s) acc[r][s] += red[((warp + j) * NR + r) * R + s];
        }
        __syncthreads();  // red is free for the next group
    }
    return lane == 0 && ks == 0 && live;
}

// Writes rows row0.. of out for the first p.n x rows. Plain: slots are R consecutive rows. Dual
// epilogues: slots [0, R/2) are rows of w, [R/2, R) the same rows of w2 (out2 gets those; dual_gelu
// forms gelu(gate) ⊙ up). gelu_mul multiplies gelu(out) by b. Triple: slots are R consecutive
// rows of the m + 2·m2 row range, each written to its own output (gemv_row). P: MatmulParams or
// QuantMatmulParams.
template <int NR, int R, class P>
__device__ __forceinline__ void gemv_store(const P & p, const float (&acc)[NR][R], int64_t row0) {
    constexpr int kHalf = R > 1 ? R / 2 : 1;
    if (p.epilogue == GemvEpilogue::triple) {
        const int64_t rows = gemv_rows_total(p);
#pragma unroll
        for (int s = 0; s < R; ++s) {
            if (row0 + s >= rows) break;
            const GemvRow g = gemv_row(p, row0 + s);
#pragma unroll
            for (int r = 0; r < NR; ++r) {
                if (r >= p.n) break;
                g.out[r * g.width + g.row] = acc[r][s];
            }
        }
        return;
    }
    const bool dual = p.epilogue == GemvEpilogue::dual || p.epilogue == GemvEpilogue::dual_gelu;
#pragma unroll
    for (int r = 0; r < NR; ++r) {
        if (r >= p.n) break;
#pragma unroll
        for (int s = 0; s < R; ++s) {
            if (dual && s >= kHalf) break;
            const int64_t row = row0 + s;
            if (row >= p.m) break;
            float v = acc[r][s];
            if (dual) p.out2[r * p.m + row] = acc[r][(s + kHalf) % R];  // both dual forms
            if (p.epilogue == GemvEpilogue::gelu_mul)
                v = gelu_tanh_f32(v) * p.b[r * p.m + row];
            else if (p.epilogue == GemvEpilogue::dual_gelu)
                v = gelu_tanh_f32(v) * acc[r][(s + kHalf) % R];
            p.out[r * p.m + row] = v;
        }
    }
}

}  // namespace gemma::cuda
