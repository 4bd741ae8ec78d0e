// Reading weight elements of any float dtype as f32 (bf16/f16 upcast exactly; q8_0/q4_0 rows
// dequantized exactly: value = q · d in f32).
#include "backends/cpu/ref/ref_ops.h"
#include "core/quant.h"
#include "core/status.h"

namespace gemma::cpu::ref {

float load_f32(const Tensor & t, int64_t i) {
    switch (t.dtype) {
        case DType::f32:
            return f32_data(t)[i];
        case DType::bf16:
            return bf16_to_f32(t.ptr<uint16_t>()[i]);
        case DType::f16:
            return f16_to_f32(t.ptr<uint16_t>()[i]);
        default:
            GEMMA_ASSERT(false, "load_f32: %s reached a float kernel", dtype_name(t.dtype));
    }
    return 0.0f;
}

void load_row_f32(const Tensor & t, int64_t r, float * dst) {
    int64_t d = t.dim(-1);
    if (dtype_is_quant(t.dtype)) {
        dequantize_row(t.dtype, t.ptr<uint8_t>() + size_t(r) * dtype_row_bytes(t.dtype, size_t(d)),
                       d, dst);
        return;
    }
    for (int64_t j = 0; j < d; ++j) dst[j] = load_f32(t, r * d + j);
}

}  // namespace gemma::cpu::ref
