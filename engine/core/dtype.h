// Element types of tensors, with conversions between bf16/f16 and f32.
// Quantized weight formats are block types: one block holds kBlock values plus their scales.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gemma {

// persisted (safetensors/GGUF mapping tables use these names): never renumber.
enum class DType : uint8_t {
    f32 = 0,
    f16 = 1,
    bf16 = 2,
    i32 = 3,
    i64 = 4,
    u8 = 5,
    q8_0 = 6,  // blocks of 32 int8 + one f16 scale (GGUF layout; core/quant.h)
    q4_0 = 7,  // blocks of 32 4-bit + one f16 scale (GGUF layout; core/quant.h)
};

const char * dtype_name(DType t);
// Bytes of one element (for block types: bytes per block / values per block is not integral,
// use dtype_row_bytes).
size_t dtype_block_size(DType t);   // values per block (1 for plain types)
size_t dtype_block_bytes(DType t);  // bytes per block
inline size_t dtype_row_bytes(DType t, size_t n) {
    return n / dtype_block_size(t) * dtype_block_bytes(t);
}

inline float bf16_to_f32(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// Round to nearest even, NaN kept quiet.
inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

inline float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace gemma
