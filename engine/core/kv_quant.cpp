// KV-cache types: option names and the f32 <-> bf16 / q8_0 row codecs (see kv_quant.h).
#include "core/kv_quant.h"

#include <cmath>
#include <cstring>
#include <string>

namespace gemma {

bool kv_cache_dtype_ok(DType t) { return t == DType::f32 || t == DType::bf16 || t == DType::q8_0; }

Result<DType> kv_cache_dtype_parse(std::string_view name) {
    if (name == "f32") return DType::f32;
    if (name == "bf16") return DType::bf16;
    if (name == "q8_0" || name == "q8") return DType::q8_0;
    return make_error(ErrorCode::invalid_argument,
                      format("unknown KV cache type '%.*s'; use f32, bf16 or q8_0",
                             int(name.size()), name.data()));
}

std::string kv_cache_dtype_check(DType t, int64_t n_kv_heads, int64_t head_dim) {
    if (!kv_cache_dtype_ok(t))
        return format("KV cache type %s is not supported; use f32, bf16 or q8_0", dtype_name(t));
    if (t == DType::q8_0 && (n_kv_heads * head_dim) % kQ8Block != 0)
        return format(
            "a q8_0 KV cache needs n_kv_heads x head_dim divisible by 32 (got %lld x "
            "%lld); use f32 or bf16",
            (long long)n_kv_heads, (long long)head_dim);
    return "";
}

// The f32 operations here are mirrored exactly by the CUDA kernels (kv_quant.cuh): max of |x|,
// one IEEE division for d, one for its inverse, x·(1/d) rounded half away from zero.
void q8_0_quantize_block(const float * x, uint8_t * block) {
    float amax = 0.0f;
    for (int64_t j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(block, &dh, 2);
    for (int64_t j = 0; j < kQ8Block; ++j) {
        float q = std::round(x[j] * id);
        q = std::fmin(127.0f, std::fmax(-127.0f, q));  // |x·id| <= 127 already; NaN-safe bound
        block[2 + j] = uint8_t(int8_t(q));
    }
}

void q8_0_dequantize_block(const uint8_t * block, float * y) {
    uint16_t dh;
    std::memcpy(&dh, block, 2);
    const float d = f16_to_f32(dh);
    for (int64_t j = 0; j < kQ8Block; ++j) y[j] = float(int8_t(block[2 + j])) * d;
}

void kv_row_store(DType t, const float * x, void * dst, int64_t n) {
    switch (t) {
        case DType::f32:
            std::memcpy(dst, x, size_t(n) * 4);
            return;
        case DType::bf16:
            for (int64_t j = 0; j < n; ++j) static_cast<uint16_t *>(dst)[j] = f32_to_bf16(x[j]);
            return;
        case DType::q8_0:
            for (int64_t b = 0; b < n / kQ8Block; ++b)
                q8_0_quantize_block(x + b * kQ8Block,
                                    static_cast<uint8_t *>(dst) + size_t(b) * kQ8BlockBytes);
            return;
        default:
            GEMMA_ASSERT(false, "kv_row_store: %s is not a KV cache type", dtype_name(t));
    }
}

void kv_row_load(DType t, const void * src, float * y, int64_t n) {
    switch (t) {
        case DType::f32:
            std::memcpy(y, src, size_t(n) * 4);
            return;
        case DType::bf16:
            for (int64_t j = 0; j < n; ++j)
                y[j] = bf16_to_f32(static_cast<const uint16_t *>(src)[j]);
            return;
        case DType::q8_0:
            for (int64_t b = 0; b < n / kQ8Block; ++b)
                q8_0_dequantize_block(static_cast<const uint8_t *>(src) + size_t(b) * kQ8BlockBytes,
                                      y + b * kQ8Block);
            return;
        default:
            GEMMA_ASSERT(false, "kv_row_load: %s is not a KV cache type", dtype_name(t));
    }
}

}  // namespace gemma
