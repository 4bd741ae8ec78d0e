// SIMD kernel for the fast attention's quantized KV caches (Highway, dynamic dispatch like
// simd.h): q8_0 blocks widened to f32. Single-threaded; the attention splits work across the pool.
#pragma once

#include <cstdint>

namespace gemma::cpu::simd {

// n_blocks q8_0 blocks (34 bytes each: f16 scale d, 32 int8 q; core/kv_quant.h) -> 32·n_blocks
// floats q·d. Exact (every product fits in f32), so equal to core's kv_row_load.
void q8_0_to_f32(const uint8_t * blocks, int64_t n_blocks, float * dst);

}  // namespace gemma::cpu::simd
