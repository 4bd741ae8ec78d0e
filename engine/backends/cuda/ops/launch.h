// Host-side entry points of the CUDA kernels (defined in ops/*.cu), one per op. Each takes a
// plain-data parameter struct: the backend records (function, params) pairs, and a repeated
// sequence of identical records is replayed as a CUDA graph (op_queue.h), so params hold every
// pointer, size and scalar a launch depends on and nothing else.
// A launch returns nullptr on success or a static string naming the failure (launch error,
// cuBLAS status). Shapes were validated by core op_check before a record is made.
#pragma once

#include <cstdint>

#include "backends/cuda/compat/gpu.h"

namespace gemma::cuda {

// Per-backend state every launch may use; fixed for the backend's lifetime.
// Counters of the split-KV attention kernels (LaunchEnv::split_counters): one per (query, head).
constexpr int64_t kSplitCounters = 1024;

struct BlasTuner;  // blas_tune.h

struct LaunchEnv {
    gpublasHandle_t blas = nullptr;
    // cuBLASLt algorithm per prefill GEMM shape (blas_tune.h); null: plain cuBLAS calls.
    BlasTuner * blas_tuner = nullptr;
    int n_sms = 1;
    bool pdl = false;  // launch kernels with programmatic dependent launch (sm_90+)
    // kSplitCounters zeroed counters owned by the context: the last split block of a (query,
    // head) merges the splits itself (ops/attention_split.cuh last_split_block), no merge launch;
    // so does the last k-split block of an MMQ weight tile. Null: a merge kernel after the split
    // kernel.
    unsigned * split_counters = nullptr;
    // MMQ (ops/matmul_quant_mmq.cu): for n ≤ 32 the blocks round x themselves up to this many
    // 128-row weight tiles, else a kernel rounds it first (env GEMMA_MMQ_OWN_X_TILES; 0: always
    // the kernel). Each split of k is at least mmq_split_stages pipeline stages (env
    // GEMMA_MMQ_SPLIT_STAGES). With mmq_last_block (env GEMMA_MMQ_LAST_BLOCK=1) the last k-split
    // block of a tile sums the splits (split_counters) instead of a second kernel. Defaults: the
    // configuration measured fastest on the H200 (32 streams q4_0: 4,384 tok/s against 3,231
    // with last-block sums, in-block x and 1-stage splits; docs/perf.md round 7).
    int mmq_own_x_tiles = 0;
    int mmq_split_stages = 2;
    bool mmq_last_block = false;
    // MMQ's k splits of a weight tile as one thread-block cluster (env GEMMA_MMQ_CLUSTER=1;
    // sm_90+ builds and GPUs, compat/cuda.h GEMMA_HAS_CLUSTERS): at most kGpuMaxPortableCluster
    // (8) splits, each block leaves its partial tile in its own shared memory and adds its share
    // of the tile from all of them (distributed shared memory), split 0 first: the bits of the
    // merge kernel for the same split count, no partial sums in memory and no second launch. The
    // split count then also keeps the clusters in one wave (matmul_quant_mmq_splits); where the
    // clusters cannot be resident the launch takes the paths above. Off until measured on the
    // H200; takes precedence over mmq_last_block.
    bool mmq_cluster = false;
    // Decode GEMVs give each warp 1-8 weight rows so that about this many warps per SM remain
    // (fewer, longer-lived warps with more loads in flight; env GEMMA_GEMV_WARPS_PER_SM). 8
    // gives E4B's q/k/v, o, down and PLE projections two rows a warp: bf16 decode on the H200
    // 212.1 / 212.5 tok/s against 207.2 / 204.2 with 16 (docs/perf.md round 8).
    int gemv_warps_per_sm = 8;
    // q8_0 / q4_0 GEMVs (ops/matmul_quant.cu): at most quant_gemv_max_rows weight rows per warp
    // (1-8) while a warp per SM remains, then each row's k range split over up to 8 warps until
    // about quant_gemv_warps_per_sm warps per SM (env GEMMA_QGEMV_WARPS_PER_SM,
    // GEMMA_QGEMV_MAX_ROWS). 16 and 2 were the fastest of {4, 8, 16} × {2, 8} for E4B q4_0 on
    // the H200 with x in shared memory as int8 (docs/perf.md).
    int quant_gemv_warps_per_sm = 16;
    int quant_gemv_max_rows = 2;
    // GEMVs with fewer warps than this per SM split each row's k range over 2, 4 or 8 warps
    // (ops/matmul.cu; env GEMMA_GEMV_SPLIT_WARPS_PER_SM, 0 = never split). With 160, E4B's down
    // projection (2,560 rows of 10,240) splits over 8 warps: bf16 decode on the H200 216.4
    // against 209.9 tok/s in one A/B (docs/perf.md); not the default until the GPU tests have
    // run with it.
    int gemv_split_warps_per_sm = 40;
    // GEMVs with more row groups than resident blocks cut their grid so that every block loops
    // the same number of rounds (ops/common.cuh looping_grid; env GEMMA_GEMV_BALANCE=0: one full
    // wave, the last round partial).
    bool gemv_balanced_grid = true;
    // q8_0 / q4_0 decode GEMVs issue each warp's first round of weight loads before the PDL wait
    // and the block's x prologue (ops/matmul_quant_gemv.cu; env GEMMA_GEMV_PRELOAD=0 turns it
    // off). q4_0 decode on the H200: 298.2 / 294.4 tok/s with it, 284.1 / 281.0 without
    // (docs/perf.md round 8).
    bool gemv_preload = true;
    // Prefill attention at head_dim 512 on sm_90: the 64-row kernel instead of the pair kernel
    // (two blocks of a cluster share each row block, ops/attention_fa.cu FaPair; env
    // GEMMA_FA512_V1=1), for A/B runs.
    bool fa512_v1 = false;
    // norm_rope at head dims 64 / 128 / 256 / 512 keeps each thread's values of the row in
    // registers, every load issued before the sums (ops/norm_rope.cu); bitwise the same results
    // as the kernels that re-read the row, which env GEMMA_NORM_ROPE_REGS=0 selects (A/B).
    bool norm_rope_regs = true;
    // One zeroed counter owned by the context: GEMVs with a folded row_fuse count their blocks
    // on it (row_fuse.cuh row_fuse_arrive; the last one resets it). Kernels on the one stream
    // use it in turn (a PDL launch waits for the previous grid before touching it).
    unsigned * row_fuse_counter = nullptr;
};

// Element type of a weight-like operand (table, w, b, copy src/dst). q8_0 / q4_0 only as
// get_rows tables and matmul weights (ops/matmul_quant.cu).
enum class ElemType : int32_t { f32 = 0, f16 = 1, bf16 = 2, none = 3, q8_0 = 4, q4_0 = 5 };

// Element type of a KV cache (core/kv_quant.h): q8_0 = 34-byte blocks of 32 values along D.
enum class KvType : int32_t { f32 = 0, bf16 = 1, q8_0 = 2 };

using LaunchResult = const char *;

// table [v, d] (device or mapped host), ids [n] -> out [n, d] = table[ids] * scale, zero rows
// for ids outside [0, v).
// q8_0 / q4_0 tables: planar (uploaded, core/quant.h quant_to_planar) or GGUF blocks (a table
// left in mapped host memory).
struct GetRowsParams {
    const void * table;
    const int32_t * ids;
    float * out;
    int64_t n, d, v;
    ElemType type;
    float scale;
    int32_t planar;  // quantized tables: 1 = planar layout, 0 = GGUF blocks
    int32_t pad;     // zero: records are compared byte for byte (graph replay)
};
LaunchResult launch_get_rows(const GetRowsParams & p, gpuStream_t s, const LaunchEnv & env);
LaunchResult launch_get_rows_quant(const GetRowsParams & p, gpuStream_t s, const LaunchEnv & env);

// One row per block, in place: the tail of a decoder sub-block and the head of the next one.
//   a = rms_norm(a, w1)      (when w1_type != none or norm1; a is written back)
//   h_out = h_in + a         then h_out *= scalar[0] (when scalar)
//   x = rms_norm(h_out, w2)  (when x)
// Made by the backend from rms_norm + add [+ mul by one value] [+ rms_norm] (fusion.h).
// `skip` (fusion.h (discard)): outputs whose f32 store row_fuse_kernel leaves out because the
// model discarded them unread (the GEMV prologue of a folded record writes them regardless).
struct RowFuseParams {
    float * a;
    const void * w1;
    const float * h_in;
    float * h_out;
    const void * scalar;
    const void * w2;
    float * x;
    int64_t rows, d;
    ElemType w1_type, scalar_type, w2_type;
    float eps1, eps2;
    int32_t norm1;  // 1: a is normalized first (w1 may be none)
    int32_t skip;   // kRowFuseSkipA | kRowFuseSkipX, or 0: every output is stored
    int32_t pad;    // zero: records are compared byte for byte (graph replay)
};
constexpr int32_t kRowFuseSkipA = 1;  // the normalized a is not written back
constexpr int32_t kRowFuseSkipX = 2;  // x's f32 values are not stored (its 16-bit terms are)
LaunchResult launch_row_fuse(const RowFuseParams & p, gpuStream_t s, const LaunchEnv & env);
constexpr int64_t kRowFuseMaxD = 8192;  // longer rows are not fused

// A producer's f32 output also written as the 16-bit terms a blas_lowp / blas_split matmul
// recorded right after it reads (its scratch; fusion.h (round)): hi [count] = the output rounded
// to `type` (bf16 / f16) and, with split, lo [count] = (output − hi) rounded, right after hi:
// the bytes the matmul's own rounding would write (ops/x16.cuh).
struct Round16Out {
    void * hi;
    ElemType type;
    int32_t split;  // 1: also lo (blas_split), 0: hi only (blas_lowp)
};
// A row_fuse that also rounds its x (or h_out when it has no x), all rows: rows · d values.
struct RowFuseRoundParams {
    RowFuseParams f;
    Round16Out r;
};
LaunchResult launch_row_fuse_round(const RowFuseRoundParams & p, gpuStream_t s,
                                   const LaunchEnv & env);
// A row_fuse folded into the decode GEMV that reads its x (or h_out) as a prologue
// (MatmulParams::prologue, fusion.h): every GEMV block forms the rows in shared memory, two f32
// copies of them (row_fuse.cuh). Up to kRowFoldMaxRows rows of d ≤ kRowFoldMaxD (the prologue's
// registers; Gemma 4 E2B / E4B / 26B-A4B widths) and kRowFoldMaxValues values in all (40 KiB:
// under the 48 KiB a block gets without opt-in, with room for the GEMV's own shared arrays),
// rows of whole float4s (a and h_in 16-byte aligned: fusion.cpp checks).
constexpr int64_t kRowFoldMaxRows = 2;
constexpr int64_t kRowFoldMaxD = 3072;
constexpr int64_t kRowFoldMaxValues = 5120;
constexpr bool row_fold_fits(int64_t rows, int64_t d) {
    return rows >= 1 && rows <= kRowFoldMaxRows && d > 0 && d % 4 == 0 && d <= kRowFoldMaxD &&
           rows * d <= kRowFoldMaxValues;
}

// How a matmul runs; chosen on the host (it decides the scratch size).
enum class MatmulPath : int32_t {
    gemv = 0,  // n ≤ kGemvMaxRows, 16-byte aligned rows: weight-streaming warp-per-row kernel
    blas_lowp = 1,   // x rounded to w's 16-bit type in scratch, cuBLAS tensor cores, f32 accumulate
    blas_split = 2,  // x = hi + lo (two 16-bit terms), two tensor-core GEMMs: f32-class accuracy
    blas_f32 = 3,    // f32 weights: cuBLAS without TF32
    tiled = 4,       // any shape/alignment, f32 FMA (the exact fallback)
    // kGemvMaxRows < n ≤ kMmaMaxRows, 16-bit w (ops/matmul_mma.cu): mma.sync tiles reading the
    // weights once, x converted in shared memory; scratch only for split-k partials.
    mma_split = 5,  // x = hi + lo as blas_split (both terms into one accumulator)
    mma_lowp = 6,   // x rounded once as blas_lowp
    // q8_0 / q4_0, kGemvMaxRows < n ≤ kMmqMaxRows: int8 tensor cores (matmul_quant_mmq.cu)
    mmq = 7,
};
constexpr int64_t kGemvMaxRows = 8;
constexpr int64_t kMmaMaxRows = 64;
constexpr int64_t kMmqMaxRows = 128;

// What the gemv path does besides out = x·wᵀ (fusions made by the backend, fusion.h).
enum class GemvEpilogue : int32_t {
    none = 0,
    dual = 1,       // also out2 = x·w2ᵀ (w2 like w): two projections of one x in one launch
    dual_gelu = 2,  // out2 = x·w2ᵀ, then out = gelu_tanh(x·wᵀ) ⊙ out2 (gate/up of an MLP)
    gelu_mul = 3,   // out = gelu_tanh(x·wᵀ) ⊙ b, b f32 [n, m]
    // out = x·wᵀ [n, m], out2 = x·w2ᵀ and out3 = x·w3ᵀ [n, m2] (w2, w3 [m2, k] of w's type and
    // k): the q, k and v projections of one x in one launch. Rows [0, m) of w, then the m2 rows
    // of w2, then those of w3 form one row range of m + 2·m2 rows (gemv_tail.cuh gemv_row).
    triple = 4,
};

// x [n, k] f32, w [m, k] -> out [n, m] f32.
struct MatmulParams {
    const float * x;
    const void * w;
    float * out;
    void * scratch;  // blas_lowp: n·k 16-bit values; blas_split: 2·n·k; mma_*: see matmul_mma
    int64_t n, k, m;
    ElemType type;
    MatmulPath path;
    // gemv only (null / none otherwise):
    const void * w2;
    float * out2;
    const float * b;
    GemvEpilogue epilogue;
    // blas_lowp / blas_split: 1 = scratch already holds x's 16-bit terms, written by the record
    // before this one (fusion.h (round)): no rounding launch. Else 0.
    int32_t x16_ready;
    const void * w3;  // triple only (null / 0 otherwise): the third weight and its output,
    float * out3;     // and the rows of w2 and w3
    int64_t m2;
    // gemv only (all zero otherwise): a row_fuse folded in front when prologue.rows > 0 (its
    // rows = n, d = k, and x is its x, or its h_out when it has no x): the GEMV forms x itself
    // and writes the row_fuse's outputs (kRowFoldMaxRows, row_fuse.cuh).
    RowFuseParams prologue;
    // blas_lowp with bf16 w only: 1 = out holds the n·m products rounded to bf16 (its first
    // half; the gelu reading it was told, fusion.h (ffn16)), one GEMM; else 0.
    int32_t out_bf16;
    int32_t pad;  // zero: records are compared byte for byte (graph replay)
};
LaunchResult launch_matmul(const MatmulParams & p, gpuStream_t s, const LaunchEnv & env);
// Whether the gemv kernel can read these operands with 16-byte loads.
bool matmul_gemv_ok(const float * x, const void * w, int64_t k, ElemType type);
// The small-batch tensor-core path (ops/matmul_mma.cu): whether these operands qualify (bf16 /
// f16 w, kGemvMaxRows < n ≤ kMmaMaxRows, x and w 16-byte aligned, k % 8 == 0); false in builds
// without mma.sync (HIP). Needs sm_80+: the caller checks the device. The scratch it needs
// (split-k partials, 0 when k is not split) for p.path mma_split / mma_lowp.
bool matmul_mma_ok(const MatmulParams & p);
size_t matmul_mma_scratch_bytes(const MatmulParams & p, const LaunchEnv & env);
LaunchResult launch_matmul_mma(const MatmulParams & p, gpuStream_t s, const LaunchEnv & env);

// x [n, k] f32, w [m, k] q8_0 / q4_0 in the planar device layout (quants plane [m, qbytes],
// then f16 scales [m, k/32]) -> out [n, m] f32 (ops/matmul_quant.cu). Paths:
// - gemv (n ≤ kGemvMaxRows, x 16-byte aligned): warp per weight row, 16-byte quant loads,
//   exact dequantization in registers, f32 accumulation;
// - simple: the same rows with scalar loads (unaligned x);
// - blas_*: weight tiles of tile_rows rows dequantized into scratch_w (bf16, or f32 for
//   blas_f32), cuBLAS per tile as the 16-bit matmul paths (x split / rounded in scratch_x),
//   then the tile's columns scattered into out;
// - mmq (kGemvMaxRows < n ≤ kMmqMaxRows, x 16-byte aligned, the bf16-class precisions, sm_80+):
//   x rounded to int8 as the GEMV's x8 mode does (into scratch_x, or by each block), weight
//   tiles streamed once through shared memory into int8 mma.sync, the k range split over
//   k_splits blocks per tile (partial sums in scratch_x, summed by a second kernel or each
//   tile's last block; or, LaunchEnv::mmq_cluster, in the shared memory of a cluster).
struct QuantMatmulParams {
    const float * x;
    const void * w;
    float * out;
    // The gemv path needs no scratch and no tiles, so the triple epilogue's fields (as
    // MatmulParams: third weight, its output, rows of w2 and w3) share their 24 bytes: the
    // struct, prologue included, stays within OpQueue::kMaxParams (232). Only the path's own
    // members are set.
    union {
        void * scratch_w;  // tile_rows · k values (bf16 or f32)
        const void * w3;   // gemv triple
    };
    union {
        void * scratch_x;  // blas_split/lowp: 2 · n · k bf16 (hi, lo); then n · tile_rows f32;
                           // mmq: matmul_quant_mmq_scratch_bytes()
        float * out3;      // gemv triple
    };
    int64_t n, k, m;
    union {
        int64_t tile_rows;  // blas_* paths
        int64_t m2;         // gemv triple
    };
    ElemType type;    // q8_0 or q4_0
    MatmulPath path;  // gemv, tiled (= simple), blas_lowp, blas_split, blas_f32, mmq
    // gemv only, as MatmulParams (null / none otherwise): a second weight of the same shape and
    // type read with the same x (dual), the MLP's gelu gate (dual_gelu, gelu_mul with b).
    const void * w2;
    float * out2;
    const float * b;
    GemvEpilogue epilogue;
    // gemv only: 1 = x rounded to int8 per 16 / 32 values (one f32 scale each) and integer dot
    // products (the bf16-class precisions); 0 = exact f32 x ("cuda-f32"). mmq always rounds.
    int32_t x8;
    int32_t k_splits;  // mmq only (else 0): blocks sharing a weight tile's k range
    // mmq only (else 0): 1 = scratch_x already holds x's int8 rounding (the mmq matmul recorded
    // just before rounded the same x into the same scratch; fusion.h (round)): no mmq_round_x.
    int32_t x_ready;
    // gemv only, as MatmulParams::prologue (zero otherwise).
    RowFuseParams prologue;
};
LaunchResult launch_matmul_quant(const QuantMatmulParams & p, gpuStream_t s, const LaunchEnv & env);
// Its decode GEMV path (MatmulPath::gemv; ops/matmul_quant_gemv.cu).
LaunchResult launch_gemv_quant(const QuantMatmulParams & p, gpuStream_t s, const LaunchEnv & env);
// Its batched-decode path (MatmulPath::mmq; ops/matmul_quant_mmq.cu). matmul_quant_mmq_splits
// picks k_splits for p's n, k, m, type on this GPU (enough blocks to fill it, at least one
// pipeline stage each; at most 8 with mmq_cluster); the scratch_x bytes follow from p with
// k_splits set (partial sums included even where a cluster launch needs none: a launch whose
// clusters cannot be resident falls back to them). In builds without
// GEMMA_HAS_MMA_INT8 the launch returns an error (the backend never picks mmq there).
int64_t matmul_quant_mmq_splits(const QuantMatmulParams & p, const LaunchEnv & env);
size_t matmul_quant_mmq_scratch_bytes(const QuantMatmulParams & p);
// Whether the mmq launch for p rounds x into scratch_x with mmq_round_x (false: the blocks round
// their own x, or no mmq in this build), so that a later mmq matmul of the same x may reuse it.
bool matmul_quant_mmq_rounds_x(const QuantMatmulParams & p, const LaunchEnv & env);
LaunchResult launch_mmq_quant(const QuantMatmulParams & p, gpuStream_t s, const LaunchEnv & env);
// Rows of a dequantized weight tile for k columns (bounds scratch_w to ~16 MiB of bf16).
int64_t matmul_quant_tile_rows(int64_t k, int64_t m);
// Bytes of scratch_x for a tiled quant matmul.
size_t matmul_quant_scratch_x_bytes(int64_t n, int64_t k, int64_t tile_rows);

// x [r, d] -> out = x / sqrt(mean(x²) + eps) ⊙ w (type none: no w).
struct RmsNormParams {
    const float * x;
    const void * w;
    float * out;
    int64_t rows, d;
    ElemType type;
    float eps;
};
LaunchResult launch_rms_norm(const RmsNormParams & p, gpuStream_t s, const LaunchEnv & env);

// Per-head norms of q (or k and v), then RoPE on the first part, then optionally the KV-cache
// store: a [rows_a, d] = rms_norm(a, wa) (rope'd when freqs: token of row r is r / heads);
// b [rows_b, d] = rms_norm(b, wb); with k_cache: a and b rows of token t go to slot
// positions[t] mod slots of k_cache / v_cache ([slots, heads·d] of cache_type). Optionally
// (q_heads > 0, freqs set) also q [n·q_heads, d] = rope(rms_norm(q, wq)) for the same n =
// rows_a / heads tokens, positions and freqs, wq of type wa_type: q's rows take the first
// blocks of the grid. Made by the backend from rms_norm (+ rms_norm) + rope (+ kv_store), and q's
// norm + rope recorded just before k's and v's (fusion.h). Sizes are int32 (the fusion checks
// they fit) so that the q part fits OpQueue::kMaxParams: 120 bytes, no padding.
struct NormRopeParams {
    float * a;
    const void * wa;
    float * b;
    const void * wb;
    const int32_t * positions;
    const float * freqs;
    void * k_cache;
    void * v_cache;
    float * q;
    const void * wq;
    int32_t rows_a, rows_b, d, heads, slots, q_heads;
    ElemType wa_type, wb_type;
    float eps;
    KvType cache_type;  // f32 (0) unless a kv_store was fused in
};
LaunchResult launch_norm_rope(const NormRopeParams & p, gpuStream_t s, const LaunchEnv & env);

// x [n, h, d], positions [n], freqs [d/2] -> out (NeoX pairs i, i + d/2).
struct RopeParams {
    const float * x;
    const int32_t * positions;
    const float * freqs;
    float * out;
    int64_t n, h, d;
};
LaunchResult launch_rope(const RopeParams & p, gpuStream_t s, const LaunchEnv & env);

// k, v [n, row] f32 -> caches [slots, row] of `type` at slot positions[i] mod slots (q8_0:
// row % 32 == 0, quantized in blocks of 32 as core/kv_quant.h).
struct KvStoreParams {
    const float * k;
    const float * v;
    const int32_t * positions;
    void * k_cache;
    void * v_cache;
    int64_t n, row, slots;
    KvType type;
    int32_t pad;  // zero: records are compared byte for byte (graph replay)
};
LaunchResult launch_kv_store(const KvStoreParams & p, gpuStream_t s, const LaunchEnv & env);

// Split-KV attention (core/ops.h Op::attention). partial holds n·hq·n_splits·(d + 2) floats
// when n_splits > 1.
struct AttentionParams {
    const float * q;
    const void * k_cache;  // [slots, hkv, d] of kv_type
    const void * v_cache;
    const int32_t * positions;
    const int32_t * block_ids;  // may be null
    float * out;
    float * partial;
    int64_t n, hq, hkv, d, slots, n_splits;
    int64_t window;
    float scale;
    KvType kv_type;  // fills the struct (120 bytes): no padding
};
LaunchResult launch_attention(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env);
// The same op on tensor cores for chunks of many queries (ops/attention_tc.cu): f16 inputs, f32
// scores, softmax and accumulation. attention_tc_ok says whether these operands qualify
// (head_dim 64/128/256/512, 16-byte aligned, n ≥ kAttentionTcMinRows).
constexpr int64_t kAttentionTcMinRows = 16;
bool attention_tc_ok(const AttentionParams & p);
LaunchResult launch_attention_tc(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env);
// The same prefill op in one pass over the keys (ops/attention_fa.cu: FlashAttention-2 style,
// mma.sync m16n8k16, online softmax): same inputs, rounding and conditions as attention_tc, plus
// an 8-byte aligned out. Needs sm_80+ (the caller checks the device); false in HIP builds.
bool attention_fa_ok(const AttentionParams & p);
LaunchResult launch_attention_fa(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env);
// attention_fa that also writes its out's 16-bit terms for the o projection's blas matmul
// (Round16Out, fusion.h (round)): count = n · hq · d values, at out's flat indices.
struct AttentionRoundParams {
    AttentionParams a;
    Round16Out r;
};
LaunchResult launch_attention_fa_round(const AttentionRoundParams & p, gpuStream_t s,
                                       const LaunchEnv & env);
// Paged attention of many sequences' rows (core/ops.h Op::attention_paged); partial as above.
struct PagedAttentionParams {
    const float * q;
    const void * k_pool;  // [S, h_kv, D] of kv_type (q8_0: 34-byte blocks along each slot's row)
    const void * v_pool;
    const int32_t * positions;
    const int32_t * row_seq;
    const int32_t * pages;
    float * out;
    float * partial;
    int32_t n, hq, hkv, d, n_pages, page_size, n_splits, window;
    float scale;
    KvType kv_type;
};
LaunchResult launch_attention_paged(const PagedAttentionParams & p, gpuStream_t s,
                                    const LaunchEnv & env);
// Splits of the key range per query head: enough blocks to fill the GPU for short batches.
int64_t attention_splits(int64_t n, int64_t hq, int64_t max_keys, int n_sms);

// Element-wise ops on f32 a with b broadcast (full, one row of width d, or one value).
enum class EltOp : int32_t {
    add = 0,
    mul = 1,
    gelu_tanh_mul = 2,
    scale = 3,
    softcap = 4,
    clamp = 5
};
struct EltParams {
    const float * a;
    const void * b;  // null for scale / softcap
    float * out;
    int64_t n, d, nb;
    ElemType btype;
    EltOp op;
    float s;   // scale factor, soft cap or clamp's lower bound
    float s2;  // clamp's upper bound (else 0)
};
LaunchResult launch_elementwise(const EltParams & p, gpuStream_t s, const LaunchEnv & env);
// An element-wise op that also rounds its out (n values) as Round16Out says; with skip_out
// (fusion.h (discard): the model discarded out, read only as those terms) the f32 out is not
// stored, the terms are. With in_bf16 (gelu_tanh_mul only, fusion.h (ffn16)) a and b hold n
// bf16 values each (the gate and up GEMMs' bf16 outputs), read widened to f32.
struct EltRoundParams {
    EltParams e;
    Round16Out r;
    int32_t skip_out;  // 1: no f32 store of out; 0: out and its terms
    int32_t in_bf16;   // 1: a and b are bf16 (needs skip_out: out aliases a); 0: f32
};
LaunchResult launch_elementwise_round(const EltRoundParams & p, gpuStream_t s,
                                      const LaunchEnv & env);

// src -> dst (n elements), converting between f32 / f16 / bf16; bytes > 0: a same-type copy of
// that many bytes (any type, q8_0 KV rows included).
struct CopyParams {
    const void * src;
    void * dst;
    int64_t n;
    ElemType stype, dtype;
    int64_t bytes;
};
LaunchResult launch_copy(const CopyParams & p, gpuStream_t s, const LaunchEnv & env);

// x [a, b, c] -> out [b, a, c].
struct Transpose01Params {
    const float * x;
    float * out;
    int64_t a, b, c;
};
LaunchResult launch_transpose01(const Transpose01Params & p, gpuStream_t s, const LaunchEnv & env);

// ---- the audio conformer's ops (ops/audio_*.cu; core/ops.h for the math) ----

// activation: x [n] -> out = silu(x) or relu(x). glu: x [n / d, 2d] -> out [n / d, d] =
// x[:, :d] ⊙ σ(x[:, d:]) (the same params; d unused by activation).
enum class ActKind : int32_t { silu = 0, relu = 1 };
struct ActivationParams {
    const float * x;
    float * out;
    int64_t n, d;  // n output elements; glu: d = the output row width
    ActKind kind;
    int32_t pad;  // zero: records are compared byte for byte (graph replay)
};
LaunchResult launch_activation(const ActivationParams & p, gpuStream_t s, const LaunchEnv & env);
LaunchResult launch_glu(const ActivationParams & p, gpuStream_t s, const LaunchEnv & env);

// x [n, c] f32, w [c, k] (f32/f16/bf16) -> out [n, c]: causal depthwise conv over time.
struct Conv1dDwParams {
    const float * x;
    const void * w;
    float * out;
    int64_t n, c, k;
    ElemType wtype;
    int32_t pad;  // zero: records are compared byte for byte (graph replay)
};
LaunchResult launch_conv1d_dw(const Conv1dDwParams & p, gpuStream_t s, const LaunchEnv & env);

// x [h, w, c] f32 -> out [ho·wo, c·kh·kw]: patches of a kh×kw kernel, stride, zero padding.
struct Im2colParams {
    const float * x;
    float * out;
    int64_t h, w, c, ho, wo;
    int32_t kh, kw, stride, pad;
};
LaunchResult launch_im2col(const Im2colParams & p, gpuStream_t s, const LaunchEnv & env);

// x [rows, d] -> out = (x − mean) / sqrt(var + eps) ⊙ w (type none: no w).
struct LayerNormParams {
    const float * x;
    const void * w;
    float * out;
    int64_t rows, d;
    ElemType type;
    float eps;
};
LaunchResult launch_layer_norm(const LayerNormParams & p, gpuStream_t s, const LaunchEnv & env);

// q, k, v [n, h, d], rel [past + 1, h, d] -> out [n, h, d]: Op::chunk_attention.
struct ChunkAttentionParams {
    const float * q;
    const float * k;
    const float * v;
    const float * rel;
    float * out;
    int64_t n, h, d;
    int32_t chunk, past;
    float cap, invalid;
    int32_t complement;  // 1: ChunkMask::complement, 0: sliding
    int32_t pad;         // zero: records are compared byte for byte (graph replay)
};
LaunchResult launch_chunk_attention(const ChunkAttentionParams & p, gpuStream_t s,
                                    const LaunchEnv & env);
// logits [rows, v] f32 -> ids [rows, k] i32, values [rows, k] f32, lse [rows] f32 (core/ops.h
// Op::top_k; ops/top_k.cu): per chunk of a row its k best and (max, Σ exp) into scratch, then a
// merge per row. Scratch: top_k_scratch_bytes(rows, v, k), split into part_values
// [rows·n_chunks·k], part_ids [rows·n_chunks·k], part_stats [rows·n_chunks·2].
struct TopKParams {
    const float * logits;
    int32_t * ids;
    float * values;
    float * lse;
    float * part_values;
    int32_t * part_ids;
    float * part_stats;
    int64_t rows, v, n_chunks;  // n_chunks = top_k_chunks(v)
    int32_t k;
    int32_t pad;  // zero: records are compared byte for byte (graph replay)
};
LaunchResult launch_top_k(const TopKParams & p, gpuStream_t s, const LaunchEnv & env);
int64_t top_k_chunks(int64_t v);
size_t top_k_scratch_bytes(int64_t rows, int64_t v, int64_t k);

}  // namespace gemma::cuda
