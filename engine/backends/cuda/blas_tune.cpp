// cuBLASLt algorithm choice per GEMM shape (blas_tune.h). cuBLAS's default heuristic picks one
// kernel per shape; on the H200 the best of cuBLASLt's first candidates was up to 11 % faster
// for E4B's prefill shapes (gate/up 2048×10240×2560: 139.2 → 124.3 us; docs/perf.md round 8).
// The choice is measured once per device, shape and process, and shared by every backend of the
// process: later calls of that shape are identical (same algorithm, same bits); another process
// may pick another candidate (timing noise), whose f32 sums may differ in the last bits.
#include "backends/cuda/blas_tune.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#if !defined(GEMMA_HIP) && !defined(__HIP_PLATFORM_AMD__)
#include <cublasLt.h>
#define GEMMA_BLAS_TUNE 1
#endif

namespace gemma::cuda {

#if GEMMA_BLAS_TUNE

namespace {

constexpr int kCandidates = 8;   // heuristic candidates timed per shape
constexpr int kTimedRuns = 3;    // after one warm-up run each
constexpr int kTunedRows = 128;  // x row counts that get a tuned plan: multiples of this

struct ShapeKey {
    int device, n, m, k, ab, pedantic, out;  // out: the output's cudaDataType_t (f32, bf16)
    bool operator<(const ShapeKey & o) const {
        return std::tie(device, n, m, k, ab, pedantic, out) <
               std::tie(o.device, o.n, o.m, o.k, o.ab, o.pedantic, o.out);
    }
};

// The descriptors of one shape (x [n, k], w [m, k] of type ab, out [n, m] f32 or bf16 (key.out),
// f32 scale and accumulation; column-major for
// cuBLAS: out = wᵀ-op · x as gpublas_gemm_xwt), the heuristic's candidates and the chosen one.
struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulHeuristicResult_t cand[kCandidates]{};
    int n_cand = 0;  // 0: cuBLASLt cannot run this shape (the plain call does)
    cublasLtMatmulAlgo_t algo{};
    bool tuned = false;  // false: the first candidate until measured
};

bool aligned256(const void * p) { return reinterpret_cast<uintptr_t>(p) % 256 == 0; }

// The plans of the process, for every backend (so two backends pick the same algorithm for a
// shape). Never freed: descriptors would otherwise be destroyed after the CUDA runtime at exit.
struct PlanCache {
    std::mutex mutex;
    std::map<ShapeKey, Plan> plans;
};
PlanCache & plan_cache() {
    static PlanCache * cache = new PlanCache;
    return *cache;
}

}  // namespace

struct BlasTuner {
    cublasLtHandle_t lt = nullptr;
    cudaStream_t stream = nullptr;
    void * workspace = nullptr;
    size_t workspace_bytes = 0;
    cudaEvent_t start = nullptr, stop = nullptr;
    int device = 0;

    ~BlasTuner() {
        if (start) cudaEventDestroy(start);
        if (stop) cudaEventDestroy(stop);
        if (lt) cublasLtDestroy(lt);
    }

    cublasStatus_t run(const Plan & p, const cublasLtMatmulAlgo_t & algo, const void * x,
                       const void * w, void * out, float beta) {
        const float one = 1.0f;
        return cublasLtMatmul(lt, p.op, &one, w, p.a, x, p.b, &beta, out, p.c, out, p.c, &algo,
                              workspace, workspace_bytes, stream);
    }

    // The plan of a shape, made on its first call (n_cand 0 when cuBLASLt has no algorithm).
    // Under plan_cache().mutex.
    Plan & plan(const ShapeKey & key) {
        auto [it, fresh] = plan_cache().plans.try_emplace(key);
        Plan & p = it->second;
        if (!fresh) return p;
        const auto ab = cudaDataType_t(key.ab);
        const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
        const cublasComputeType_t compute =
            key.pedantic ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F;
        auto ok = [](cublasStatus_t st) { return st == CUBLAS_STATUS_SUCCESS; };
        if (!ok(cublasLtMatmulDescCreate(&p.op, compute, CUDA_R_32F)) ||
            !ok(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta,
                                               sizeof ta)) ||
            !ok(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                                               sizeof tb)) ||
            !ok(cublasLtMatrixLayoutCreate(&p.a, ab, key.k, key.m, key.k)) ||
            !ok(cublasLtMatrixLayoutCreate(&p.b, ab, key.k, key.n, key.k)) ||
            !ok(cublasLtMatrixLayoutCreate(&p.c, cudaDataType_t(key.out), key.m, key.n, key.m)))
            return p;
        cublasLtMatmulPreference_t pref = nullptr;
        if (!ok(cublasLtMatmulPreferenceCreate(&pref))) return p;
        int found = 0;
        if (ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &workspace_bytes, sizeof workspace_bytes)) &&
            ok(cublasLtMatmulAlgoGetHeuristic(lt, p.op, p.a, p.b, p.c, p.c, pref, kCandidates,
                                              p.cand, &found)))
            p.n_cand = found;
        cublasLtMatmulPreferenceDestroy(pref);
        if (p.n_cand > 0) p.algo = p.cand[0].algo;
        return p;
    }

    // Times each candidate on this call's operands; keeps the fastest that ran.
    void tune(Plan & p, const void * x, const void * w, void * out) {
        float best = 0.0f;
        for (int i = 0; i < p.n_cand; ++i) {
            const cublasLtMatmulHeuristicResult_t * cand = p.cand;
            if (run(p, cand[i].algo, x, w, out, 0.0f) != CUBLAS_STATUS_SUCCESS) continue;
            cudaEventRecord(start, stream);
            for (int r = 0; r < kTimedRuns; ++r) (void)run(p, cand[i].algo, x, w, out, 0.0f);
            cudaEventRecord(stop, stream);
            float ms = 0.0f;
            if (cudaEventSynchronize(stop) != cudaSuccess ||
                cudaEventElapsedTime(&ms, start, stop) != cudaSuccess)
                continue;
            if (best == 0.0f || ms < best) {
                best = ms;
                p.algo = cand[i].algo;
            }
        }
        p.tuned = true;  // once: none ran → the first candidate, and the plain call if it fails
    }
};

BlasTuner * blas_tuner_create(gpuStream_t stream, void * workspace, size_t workspace_bytes) {
    if (const char * e = std::getenv("GEMMA_CUDA_BLAS_TUNE"); e && std::strcmp(e, "0") == 0)
        return nullptr;
    auto * t = new BlasTuner;
    t->stream = stream;
    t->workspace = workspace;
    t->workspace_bytes = workspace_bytes;
    if (cudaGetDevice(&t->device) != cudaSuccess ||
        cublasLtCreate(&t->lt) != CUBLAS_STATUS_SUCCESS ||
        cudaEventCreate(&t->start) != cudaSuccess || cudaEventCreate(&t->stop) != cudaSuccess) {
        delete t;
        return nullptr;
    }
    return t;
}

void blas_tuner_destroy(BlasTuner * t) { delete t; }

namespace {

// The tuned call for out of type `out_type` (f32 or bf16), or `plain` when the shape does not
// get a plan (see blas_gemm_xwt) or its cuBLASLt call fails.
template <class Plain>
gpublasStatus_t gemm_tuned(const LaunchEnv & env, int n, int m, int k, const void * x,
                           const void * w, gpublasDataType ab, void * out, cudaDataType_t out_type,
                           float beta, bool pedantic, Plain && plain) {
    BlasTuner * t = env.blas_tuner;
    // cuBLASLt's candidates assume 256-byte aligned operands (every buffer of this backend is;
    // a view into one may not be): anything else takes the plain call. So do row counts that are
    // not a multiple of kTunedRows: a prompt's last chunk has any length, and tuning every new one
    // would add trial runs to many requests and a plan per length; full chunks (1024, 2048) are
    // the ones that repeat.
    if (!t || n % kTunedRows != 0 || !aligned256(x) || !aligned256(w) || !aligned256(out))
        return plain();
    std::lock_guard<std::mutex> lock(plan_cache().mutex);
    Plan & p = t->plan({t->device, n, m, k, int(ab), pedantic ? 1 : 0, int(out_type)});
    if (p.n_cand == 0) return plain();
    // Measured with beta 0 only (the trials overwrite out) and outside capture (no waiting).
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (!p.tuned && beta == 0.0f && cudaStreamIsCapturing(t->stream, &capture) == cudaSuccess &&
        capture == cudaStreamCaptureStatusNone)
        t->tune(p, x, w, out);
    if (t->run(p, p.algo, x, w, out, beta) == CUBLAS_STATUS_SUCCESS) return CUBLAS_STATUS_SUCCESS;
    return plain();
}

}  // namespace

gpublasStatus_t blas_gemm_xwt(const LaunchEnv & env, int n, int m, int k, const void * x,
                              const void * w, gpublasDataType ab, float * out, float beta,
                              bool pedantic) {
    return gemm_tuned(env, n, m, k, x, w, ab, out, CUDA_R_32F, beta, pedantic, [&] {
        return gpublas_gemm_xwt(env.blas, n, m, k, x, w, ab, out, beta, pedantic);
    });
}

// The plain call: cublasGemmEx with a bf16 C, f32 compute and scale (as gpublas_gemm_xwt).
LaunchResult blas_gemm_xwt_bf16(const LaunchEnv & env, int n, int m, int k, const void * x,
                                const void * w, void * out) {
    const gpublasStatus_t st =
        gemm_tuned(env, n, m, k, x, w, CUDA_R_16BF, out, CUDA_R_16BF, 0.0f, false, [&] {
            const float one = 1.0f, zero = 0.0f;
            return cublasGemmEx(env.blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, w, CUDA_R_16BF,
                                k, x, CUDA_R_16BF, k, &zero, out, CUDA_R_16BF, m,
                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        });
    return st == CUBLAS_STATUS_SUCCESS ? nullptr : cublasGetStatusString(st);
}

bool blas_bf16_out_available() { return true; }

#else  // HIP: no cuBLASLt; the plain call

struct BlasTuner {};

BlasTuner * blas_tuner_create(gpuStream_t, void *, size_t) { return nullptr; }

void blas_tuner_destroy(BlasTuner * t) { delete t; }

gpublasStatus_t blas_gemm_xwt(const LaunchEnv & env, int n, int m, int k, const void * x,
                              const void * w, gpublasDataType ab, float * out, float beta,
                              bool pedantic) {
    return gpublas_gemm_xwt(env.blas, n, m, k, x, w, ab, out, beta, pedantic);
}

LaunchResult blas_gemm_xwt_bf16(const LaunchEnv &, int, int, int, const void *, const void *,
                                void *) {
    return "matmul: bf16 GEMM output needs cuBLAS (a CUDA build)";
}

bool blas_bf16_out_available() { return false; }

#endif

}  // namespace gemma::cuda
