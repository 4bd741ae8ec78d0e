// KV-cache element types (f32, bf16, q8_0): names for options, and the row codecs the CPU
// backends use to write and read caches. The q8_0 rule here is the one every backend follows
// (CUDA repeats it in backends/cuda/ops/kv_quant.cuh), so caches are byte-identical across them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/dtype.h"
#include "core/status.h"

namespace gemma {

// q8_0 (GGUF layout): blocks of 32 consecutive values of a cache slot's row [h_kv, D], each an f16
// scale d then 32 int8 q; value = q·d with d = max|x| / 127 and q = round(x / d) (half away from
// zero), all in f32. With D % 32 == 0 (Gemma 4: 256, 512) every block lies within one head along
// D; smaller heads (the tiny test model's D = 16) share a block between neighbouring heads.
constexpr int64_t kQ8Block = 32;
constexpr size_t kQ8BlockBytes = 2 + 32;

// Whether t can hold a KV cache: f32, bf16 or q8_0.
bool kv_cache_dtype_ok(DType t);
// "f32" | "bf16" | "q8_0" (also "q8") -> the type; invalid_argument naming the value and the
// choices otherwise.
Result<DType> kv_cache_dtype_parse(std::string_view name);
// Empty when caches of type t can hold slot rows of n_kv_heads · head_dim values; else why not
// (q8_0 needs that row divisible by 32; other types must be KV cache types).
std::string kv_cache_dtype_check(DType t, int64_t n_kv_heads, int64_t head_dim);

// One q8_0 block: 32 floats -> 34 bytes, and back. Non-finite inputs give deterministic but
// meaningless blocks (caches hold RMS-normalized K/V, always finite).
void q8_0_quantize_block(const float * x, uint8_t * block);
void q8_0_dequantize_block(const uint8_t * block, float * y);

// n values of a cache row (n % 32 == 0 for q8_0) from f32 into type t (f32: copy, bf16: round to
// nearest even, q8_0: blocks as above), and back to f32 (exact for every type).
void kv_row_store(DType t, const float * x, void * dst, int64_t n);
void kv_row_load(DType t, const void * src, float * y, int64_t n);

}  // namespace gemma
