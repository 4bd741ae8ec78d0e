// get_rows: embedding gather with scale. table: [V, d], ids: [n] i32 -> out [n, d] f32.
#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void get_rows(const Tensor & table, const Tensor & ids, float scale, const Tensor & out) {
    int64_t n = ids.dim(0), d = table.dim(1), v = table.dim(0);
    float * y = static_cast<float *>(out.data);
    for (int64_t i = 0; i < n; ++i) {
        int64_t id = ids.ptr<int32_t>()[i];
        float * row = y + i * d;
        if (id < 0 || id >= v) {  // out-of-range id: zero row (callers validate ids first)
            for (int64_t j = 0; j < d; ++j) row[j] = 0.0f;
            continue;
        }
        load_row_f32(table, id, row);
        for (int64_t j = 0; j < d; ++j) row[j] *= scale;
    }
}

}  // namespace gemma::cpu::ref
