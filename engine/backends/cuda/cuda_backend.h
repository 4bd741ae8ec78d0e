// The CUDA backend ("cuda", "cuda-f32"): device memory from a stream-ordered pool, one in-order
// stream, ops recorded and replayed as CUDA graphs when a step repeats (op_queue.h), cuBLAS for
// prefill GEMMs and weight-streaming GEMV kernels for decode. HIP builds reuse it (backends/hip).
// The backend lives in a loadable module (libgemma_backend_cuda.so, cuda_module.h); the functions
// below are the program-side API, implemented by loader/cuda_loader.cpp, which loads the module
// on first use and keeps it loaded until exit. Programs therefore never link cudart or cuBLAS.
#pragma once

#include <memory>

#include "core/backend.h"

namespace gemma::cuda {

// How prefill GEMMs (more than 8 rows) with 16-bit weights treat the f32 activations. Decode
// GEMV, attention, norms and everything else are f32 in every mode.
enum class CudaPrecision {
    split16 = 0,  // "cuda": x = hi + lo in w's type, two tensor-core GEMMs (f32 class, ~1e-5)
    f32 = 1,      // "cuda-f32": f32 FMA everywhere (verification; 1e-4 class against goldens)
    bf16 = 2,     // "cuda-bf16": x rounded once (fastest prefill; ~1e-2 against fp32 goldens)
};

// Which kernel runs prefill attention (chunks of >= 16 queries, precision other than f32).
enum class CudaAttention {
    automatic = 0,  // env GEMMA_CUDA_ATTENTION=tc / fa if set, else fa where it applies
    tc = 1,         // ops/attention_tc.cu: WMMA, two passes over the keys
    fa = 2,         // ops/attention_fa.cu: mma.sync, one pass (sm_80+; else attention_tc)
};

struct CudaOptions {
    int device = 0;
    CudaPrecision precision = CudaPrecision::split16;
    // Replay repeated op sequences as CUDA graphs (env GEMMA_CUDA_GRAPHS=0 turns this off).
    bool graphs = true;
    // Fuse decode op patterns into fewer kernels (fusion.h; env GEMMA_CUDA_FUSE=0 turns it off).
    bool fuse = true;
    // Programmatic dependent launch on sm_90+ (env GEMMA_CUDA_PDL=0 turns it off).
    bool pdl = true;
    // Split-KV decode attention (and MMQ's k splits when its last-block sums are on, env
    // GEMMA_MMQ_LAST_BLOCK=1) are merged by a second kernel instead of in the last split block
    // (A/B timing; env GEMMA_CUDA_SPLIT_MERGE_KERNEL=1).
    bool split_merge_kernel = false;
    // Prefill attention kernel (A/B timing and tests; env GEMMA_CUDA_ATTENTION when automatic).
    CudaAttention attention = CudaAttention::automatic;
    // Matmuls of 9-64 x rows with 16-bit weights on mma.sync tiles that read w once (sm_80+,
    // precisions other than f32; ops/matmul_mma.cu); false keeps the two / one cuBLAS GEMMs
    // (A/B timing; env GEMMA_CUDA_MMA_SMALL=0 turns it off).
    bool mma_small = true;
    // q8_0 / q4_0 matmuls of 9-128 x rows (batched decode) on int8 tensor cores with x rounded
    // to int8 as the decode GEMV does (ops/matmul_quant_mmq.cu; sm_80+, not "cuda-f32"); false:
    // dequantized bf16 tiles + cuBLAS as for prefill (A/B; env GEMMA_CUDA_MMQ=0).
    bool mmq = true;
    // With fuse: also the q/k/v joins of fusion.h (the three projections as one GEMV, q's norm +
    // rope with k's and v's as one kernel); false keeps them apart (A/B; env
    // GEMMA_CUDA_FUSE_QKV=0).
    bool fuse_qkv = true;
    // With fuse: also fold each row_fuse (norm + residual add [+ scale] [+ norm]) into the decode
    // GEMV (1-2 rows) that reads its output, as that GEMV's prologue (fusion.h): one launch less
    // per decoder sub-block, bitwise the same results. Off by default: on the H200 it made E4B
    // decode slower (bf16 186 vs 220 tok/s, q4_0 260 vs 295; docs/perf.md round 7). Env
    // GEMMA_CUDA_FUSE_ROW=1 turns it on, =0 off.
    bool fuse_row = false;
    // With fuse: prefill GEMMs (blas paths, more than 8 x rows, or 64 with mma_small) skip the
    // kernel that rounds x to 16 bits when the record before them already wrote it: a matmul of
    // the same x (k and v after q, up after gate), or x's producer, a row_fuse or gelu_tanh_mul,
    // made to write the 16-bit terms too (fusion.h (round)); likewise batched-decode MMQ
    // matmuls skip mmq_round_x after an MMQ matmul of the same x. Bitwise the same results;
    // false rounds before every GEMM (A/B; env GEMMA_CUDA_FUSE_ROUND=0).
    bool fuse_round = true;
    // With fuse: Backend::discard(t) lets the pending producer of t (a prefill row_fuse's a or
    // x, a gelu_tanh_mul's out) skip its f32 store when nothing since read it, only the 16-bit
    // terms (fusion.h (discard)). Every value that is stored is bitwise the same; false stores
    // everything (A/B; env GEMMA_CUDA_FUSE_DISCARD=0).
    bool fuse_discard = true;
    // With fuse_discard, precision bf16 and bf16 weights: once the model discarded the MLP's
    // gate (after down) and then up, their GEMMs write bf16 into the first half of their f32
    // buffers and the gelu reads that (half the bytes; the gelu's inputs rounded to bf16 once
    // more, within the mode's ~1e-2; fusion.h (ffn16); CUDA builds only). Off by default: no
    // gain on the H200 for the extra rounding (2k prefill 51.3k vs 51.6k tok/s, docs/perf.md
    // round 9). Env GEMMA_CUDA_FFN_BF16=1 turns it on, =0 off.
    bool ffn_bf16 = false;
};

// The environment variables GEMMA_CUDA_GRAPHS=0, GEMMA_CUDA_FUSE=0, GEMMA_CUDA_FUSE_QKV=0,
// GEMMA_CUDA_FUSE_ROW=0, GEMMA_CUDA_FUSE_ROUND=0, GEMMA_CUDA_FUSE_DISCARD=0,
// GEMMA_CUDA_FFN_BF16=0, GEMMA_CUDA_PDL=0, GEMMA_CUDA_MMA_SMALL=0 and GEMMA_CUDA_MMQ=0 turn the
// matching option off, GEMMA_CUDA_FUSE_ROW=1 turns the row fold on, GEMMA_CUDA_FFN_BF16=1 the
// bf16 gate/up
// (debugging, A/B timing).
// GEMMA_CUDA_STATS=1 prints, when the backend is destroyed, how op segments ran and where host time
// went (with GEMMA_CUDA_PROFILE=1 also the GPU time per op name, every op run eagerly between
// events); GEMMA_CUDA_SEGMENT=N sets the ops per segment (graph). GEMMA_CUDA_ATTENTION=tc or =fa
// picks the prefill attention kernel when options.attention is automatic (another value:
// invalid_argument from make_cuda_backend). device_error (saying why) when the module cannot be
// loaded (not built, or its libraries, e.g. cuBLAS, are missing), no usable GPU is present, or the
// device cannot be set up.
Result<std::unique_ptr<Backend>> make_cuda_backend(const CudaOptions & options);

// How the backend's op queue ran its segments so far (see op_queue.h).
struct CudaQueueStats {
    size_t eager_segments = 0;  // launched kernel by kernel
    size_t captured = 0;        // captured into a new CUDA graph
    size_t replayed = 0;        // replayed from a cached graph
    size_t fused = 0;           // ops folded into the op recorded before them (fusion.h)
    size_t x16_reused = 0;      // prefill GEMMs that found x's 16-bit terms written (fusion.h)
    size_t writes_elided = 0;   // f32 outputs not stored after Backend::discard (fusion.h)
    size_t ffn_bf16 = 0;        // MLPs whose gate/up GEMMs wrote bf16 for the gelu (fusion.h)
};
// invalid_argument when `backend` is not a CUDA backend.
Result<CudaQueueStats> cuda_queue_stats(Backend & backend);

// Whether at least one CUDA device is visible (false without the module or a driver). Never fails.
bool cuda_device_available();

}  // namespace gemma::cuda
