// get_rows: embedding gather with scale.
// table: [v, d] f32/f16/bf16 (device memory, or mapped host memory for a table kept on the host,
// e.g. the PLE table), ids: [n] i32 -> out [n, d] f32 = table[ids[i]] · scale; an id outside
// [0, v) gives a zero row (as cpu-ref), so a bad id never reads out of bounds. q8_0 / q4_0 tables
// go to launch_get_rows_quant (ops/matmul_quant.cu).
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

// One block per output row; threads stride over the row.
__global__ void get_rows_kernel(GetRowsParams p) {
    pdl_enter();
    int64_t i = blockIdx.x;
    int64_t id = p.ids[i];
    float * row = p.out + i * p.d;
    bool valid = id >= 0 && id < p.v;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x)
        row[j] = valid ? load_elem(p.table, id * p.d + j, p.type) * p.scale : 0.0f;
}

}  // namespace

LaunchResult launch_get_rows(const GetRowsParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    if (p.type == ElemType::q8_0 || p.type == ElemType::q4_0)
        return launch_get_rows_quant(p, s, env);  // ops/matmul_quant.cu
    return launch_kernel(get_rows_kernel, unsigned(p.n), 256, 0, s, env, p);
}

}  // namespace gemma::cuda
