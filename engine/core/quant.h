// Block-quantized weight formats q8_0 and q4_0 (the GGUF layouts, so a GGUF loader can map files
// as they are): quantize and dequantize rows, quantize whole tensors on several threads, and the
// planar repacking GPU backends use. Every product with these weights still accumulates in f32.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace gemma {

// Values per block of both formats; a quantized row's length must be a multiple of it.
constexpr int64_t kQuantBlock = 32;

// q8_0: 34 bytes = f16 scale d, then 32 int8 q;  value j = q[j] · d.
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[32];
};
// q4_0: 18 bytes = f16 scale d, then 16 bytes of nibbles: value j < 16 is the low nibble of
// byte j, value j + 16 the high nibble of byte j;  value = (nibble − 8) · d.
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[16];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18, "GGUF block sizes");

inline bool dtype_is_quant(DType t) { return t == DType::q8_0 || t == DType::q4_0; }

// invalid_argument naming `what` unless `row_len` is a positive multiple of kQuantBlock.
Status quant_check_row(DType type, int64_t row_len, const std::string & what);

// One row of n values (n a multiple of 32), GGUF's reference rules:
// q8_0: d = max|x| / 127, q = round-half-away(x / d).
// q4_0: m = the value of largest magnitude (sign kept), d = m / −8, q = min(15, ⌊x / d + 8.5⌋),
//       so m itself maps to nibble 0 exactly; the far end of the range clamps to 15.
// The scale used for rounding is the f32 d; the f16-rounded d is what is stored (as GGUF does).
// An all-zero block stores d = 0 and q = 0 (q4_0: nibble 8).
void quantize_row_q8_0(const float * x, int64_t n, void * dst);
void quantize_row_q4_0(const float * x, int64_t n, void * dst);
void dequantize_row_q8_0(const void * src, int64_t n, float * y);
void dequantize_row_q4_0(const void * src, int64_t n, float * y);
// Dispatch on type (q8_0 / q4_0 only).
void quantize_row(DType type, const float * x, int64_t n, void * dst);
void dequantize_row(DType type, const void * src, int64_t n, float * y);

// A new host tensor of `type` holding `src` (a 2-D f32/f16/bf16 host tensor [rows, cols])
// quantized row by row on n_threads threads (0 = hardware concurrency). Errors:
// invalid_argument naming `name` when cols is not a multiple of 32 or src is not a 2-D host
// float tensor; unsupported when type is not q8_0/q4_0.
Result<Tensor> quantize_tensor(const Tensor & src, DType type, const std::string & name,
                               int n_threads = 0);
// A new f32 host tensor with the values of a quantized host tensor (tests, tools).
Tensor dequantize_tensor(const Tensor & q);

// Planar layout for GPUs: the same bytes regrouped as [rows · row_quant_bytes] quants, then
// [rows · cols/32] f16 scales, so 16-byte loads of quants stay aligned (cols % 32 == 0).
// q8_0 quants are the int8 values in order; q4_0 quants are each block's 16 nibble bytes as in
// the block. The total size equals the block layout's (dtype_row_bytes · rows).
inline int64_t quant_row_qbytes(DType type, int64_t cols) {
    return type == DType::q8_0 ? cols : cols / 2;
}
void quant_to_planar(DType type, const void * blocks, int64_t rows, int64_t cols, void * planar);

}  // namespace gemma
