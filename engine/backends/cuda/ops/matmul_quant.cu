// matmul and get_rows with q8_0 / q4_0 weights (core/quant.h) on the GPU.
// Device layout (made by the backend at upload, quant_to_planar): all quants first, [m, qbytes]
// (q8_0: k int8 per row; q4_0: each block's 16 nibble bytes, value j low / j + 16 high), then all
// f16 scales [m, k/32]. Rows are multiples of 32 values, so every 16-byte quant load is aligned.
// - gemv (decode, n ≤ 8): ops/matmul_quant_gemv.cu.
// - mmq (batched decode, 8 < n ≤ kMmqMaxRows = 128, "cuda" / "cuda-bf16", sm_80+):
//   ops/matmul_quant_mmq.cu: x rounded to int8 once (the GEMV's x8 math), weight tiles streamed
//   once through shared memory into int8 mma.sync, f32 scaling per group; env GEMMA_CUDA_MMQ=0
//   sends these to the tile path below.
// - prefill (n > 8 otherwise): weight tiles dequantized into scratch (bf16 for the tensor-core
//   paths with x split / rounded as in matmul.cu; f32 for "cuda-f32"), one cuBLAS GEMM per tile,
//   the tile's columns scattered into out. Tiles are ~8M values (16 MiB bf16) whatever the weight
//   size, so the LM head (262144 × 2560) never needs a full-size 1.3 GB bf16 copy.
#include <algorithm>

#include "backends/cuda/blas_tune.h"
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kTileValues = int64_t(8) << 20;

// ---- element access (shared by get_rows, the tile dequantizer and the simple kernel) ----

// Value j of row r of a quantized matrix with k columns and m rows.
__device__ __forceinline__ float quant_elem(const void * base, int64_t r, int64_t j, int64_t k,
                                            int64_t m, ElemType t, bool planar) {
    const uint8_t * b = static_cast<const uint8_t *>(base);
    const int64_t nb = k / 32, blk = r * nb + j / 32;
    const int jj = int(j % 32);
    uint16_t d16;
    int q;
    if (planar) {
        const int64_t qbytes = t == ElemType::q8_0 ? k : k / 2;
        const uint16_t * scales = reinterpret_cast<const uint16_t *>(b + m * qbytes);
        d16 = scales[blk];
        if (t == ElemType::q8_0) {
            q = int(static_cast<const int8_t *>(base)[r * k + j]);
        } else {
            uint8_t v = b[r * qbytes + (j / 32) * 16 + jj % 16];
            q = int(jj < 16 ? (v & 0x0f) : (v >> 4)) - 8;
        }
    } else {  // GGUF blocks: 2-byte scale, then the quants
        const int64_t bytes = t == ElemType::q8_0 ? 34 : 18;
        const uint8_t * p = b + blk * bytes;
        d16 = uint16_t(p[0] | (p[1] << 8));
        if (t == ElemType::q8_0) {
            q = int(int8_t(p[2 + jj]));
        } else {
            uint8_t v = p[2 + jj % 16];
            q = int(jj < 16 ? (v & 0x0f) : (v >> 4)) - 8;
        }
    }
    return float(q) * gemma_f16_to_f32(d16);
}

// One block per output row, threads stride over the row (as get_rows.cu).
__global__ void get_rows_quant_kernel(GetRowsParams p) {
    pdl_enter();
    int64_t i = blockIdx.x;
    int64_t id = p.ids[i];
    float * row = p.out + i * p.d;
    bool valid = id >= 0 && id < p.v;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x)
        row[j] =
            valid ? quant_elem(p.table, id, j, p.d, p.v, p.type, p.planar != 0) * p.scale : 0.0f;
}

// Any alignment of x: one warp per weight row, scalar loads, x rows one after another.
__global__ void __launch_bounds__(kThreads) simple_quant_kernel(QuantMatmulParams p) {
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    const int64_t row = int64_t(blockIdx.x) * (kThreads / GEMMA_WARP) + warp;
    if (row >= p.m) return;
    for (int64_t r = 0; r < p.n; ++r) {
        float acc = 0.0f;
        for (int64_t j = lane; j < p.k; j += GEMMA_WARP)
            acc += quant_elem(p.w, row, j, p.k, p.m, p.type, true) * p.x[r * p.k + j];
        acc = gemma_warp_sum(acc);
        if (lane == 0) p.out[r * p.m + row] = acc;
    }
}

// ---- prefill: dequantized tiles + cuBLAS ----

// Rows [r0, r0 + rows) of w dequantized into tile [rows, k] (bf16 bits, or f32 when f32_out).
__global__ void dequant_tile_kernel(QuantMatmulParams p, int64_t r0, int64_t rows, int f32_out) {
    const int64_t total = rows * p.k;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        float v = quant_elem(p.w, r0 + i / p.k, i % p.k, p.k, p.m, p.type, true);
        if (f32_out)
            static_cast<float *>(p.scratch_w)[i] = v;
        else
            static_cast<uint16_t *>(p.scratch_w)[i] = gemma_f32_to_bf16(v);
    }
}

// x f32 -> bf16 hi (and the remainder x − hi as bf16 lo when lo is given).
__global__ void split_x_kernel(const float * x, uint16_t * hi, uint16_t * lo, int64_t count) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
         i += int64_t(gridDim.x) * blockDim.x) {
        uint16_t h = gemma_f32_to_bf16(x[i]);
        hi[i] = h;
        if (lo) lo[i] = gemma_f32_to_bf16(x[i] - gemma_bf16_to_f32(h));
    }
}

// out[:, c0 : c0 + cols] = tile [n, cols].
__global__ void scatter_cols_kernel(const float * tile, float * out, int64_t n, int64_t cols,
                                    int64_t m, int64_t c0) {
    const int64_t total = n * cols;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x)
        out[(i / cols) * m + c0 + i % cols] = tile[i];
}

LaunchResult blas_status(gpublasStatus_t st) {
    return st == gpublasSuccess ? nullptr : gpublasGetStatusString(st);
}

size_t align256(size_t b) { return (b + 255) / 256 * 256; }

LaunchResult launch_tiled(const QuantMatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    const bool f32 = p.path == MatmulPath::blas_f32;
    const bool split = p.path == MatmulPath::blas_split;
    const int64_t count = p.n * p.k;
    uint16_t * hi = static_cast<uint16_t *>(p.scratch_x);
    uint16_t * lo = split ? hi + count : nullptr;
    float * out_tile = reinterpret_cast<float *>(static_cast<uint8_t *>(p.scratch_x) +
                                                 align256(size_t(count) * 4));
    if (!f32) {
        split_x_kernel<<<grid_blocks(count, 256, env), 256, 0, s>>>(p.x, hi, lo, count);
        if (LaunchResult e = launch_error()) return e;
    }
    for (int64_t r0 = 0; r0 < p.m; r0 += p.tile_rows) {
        const int64_t rows = p.m - r0 < p.tile_rows ? p.m - r0 : p.tile_rows;
        dequant_tile_kernel<<<grid_blocks(rows * p.k, 256, env), 256, 0, s>>>(p, r0, rows,
                                                                              f32 ? 1 : 0);
        if (LaunchResult e = launch_error()) return e;
        const bool direct = rows == p.m;  // one tile: straight into out
        float * dst = direct ? p.out : out_tile;
        const int n = int(p.n), m = int(rows), k = int(p.k);
        if (f32) {
            if (LaunchResult e = blas_status(
                    blas_gemm_xwt(env, n, m, k, p.x, p.scratch_w, kGpuBlasF32, dst, 0.0f, true)))
                return e;
        } else {
            if (LaunchResult e = blas_status(
                    blas_gemm_xwt(env, n, m, k, hi, p.scratch_w, kGpuBlasBf16, dst, 0.0f, false)))
                return e;
            if (lo)
                if (LaunchResult e = blas_status(blas_gemm_xwt(env, n, m, k, lo, p.scratch_w,
                                                               kGpuBlasBf16, dst, 1.0f, false)))
                    return e;
        }
        if (!direct) {
            scatter_cols_kernel<<<grid_blocks(p.n * rows, 256, env), 256, 0, s>>>(
                out_tile, p.out, p.n, rows, p.m, r0);
            if (LaunchResult e = launch_error()) return e;
        }
    }
    return nullptr;
}

}  // namespace

int64_t matmul_quant_tile_rows(int64_t k, int64_t m) {
    int64_t rows = kTileValues / (k > 0 ? k : 1);
    if (rows < 64) rows = 64;
    return rows < m ? rows : m;
}

size_t matmul_quant_scratch_x_bytes(int64_t n, int64_t k, int64_t tile_rows) {
    return align256(size_t(n * k) * 4) + size_t(n * tile_rows) * 4;
}

LaunchResult launch_get_rows_quant(const GetRowsParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    return launch_kernel(get_rows_quant_kernel, unsigned(p.n), 256, 0, s, env, p);
}

LaunchResult launch_matmul_quant(const QuantMatmulParams & p, gpuStream_t s,
                                 const LaunchEnv & env) {
    if (p.n == 0 || p.m == 0) return nullptr;
    switch (p.path) {
        case MatmulPath::gemv:
            return launch_gemv_quant(p, s, env);
        case MatmulPath::mmq:
            return launch_mmq_quant(p, s, env);
        case MatmulPath::tiled: {
            dim3 grid(unsigned((p.m + kThreads / GEMMA_WARP - 1) / (kThreads / GEMMA_WARP)));
            simple_quant_kernel<<<grid, kThreads, 0, s>>>(p);
            return launch_error();
        }
        case MatmulPath::blas_lowp:
        case MatmulPath::blas_split:
        case MatmulPath::blas_f32:
            return launch_tiled(p, s, env);
        case MatmulPath::mma_split:  // 16-bit weights only (ops/matmul_mma.cu)
        case MatmulPath::mma_lowp:
            break;
    }
    return "unknown quant matmul path";
}

}  // namespace gemma::cuda
