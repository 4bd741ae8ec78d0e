// Decode fusions: pattern checks and the fused records they make (see fusion.h).
#include "backends/cuda/fusion.h"

#include <cstring>

namespace gemma::cuda {
namespace {

// f32 ranges [a, a + n) and [b, b + m) are the same start or do not overlap: element-wise
// kernels that read and write "their" index stay correct either way.
bool same_or_apart(const void * a, int64_t n, const void * b, int64_t m) {
    auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
    return x == y || x + uintptr_t(n) * 4 <= y || y + uintptr_t(m) * 4 <= x;
}
bool apart(const void * a, int64_t n, const void * b, int64_t m) {
    return a != b && same_or_apart(a, n, b, m);
}

template <class P>
P zeroed() {
    P p;
    std::memset(&p, 0, sizeof(P));  // records are compared byte for byte, padding included
    return p;
}

// Two GEMVs of the same x in a row (plain or quantized weights of one shape and type): one dual
// GEMV (epilogue dual: w2 → out2), when the second's out overlaps neither the first's nor x.
template <class P, LaunchResult (*Launch)(const P &, gpuStream_t, const LaunchEnv &)>
bool fuse_gemv_pair(OpQueue & q, const P & p, bool same_kind, const char * name) {
    P prev;
    if (p.path != MatmulPath::gemv || !q.last<P, Launch>(&prev)) return false;
    if (prev.path != MatmulPath::gemv || prev.epilogue != GemvEpilogue::none || prev.x != p.x ||
        prev.n != p.n || prev.k != p.k || prev.m != p.m || prev.type != p.type || !same_kind)
        return false;
    int64_t out_n = p.n * p.m, x_n = p.n * p.k;
    if (!apart(p.out, out_n, prev.out, out_n) || !apart(p.out, out_n, p.x, x_n)) return false;
    prev.w2 = p.w;
    prev.out2 = p.out;
    prev.epilogue = GemvEpilogue::dual;
    q.replace_last<P, Launch>(name, prev);
    return true;
}

}  // namespace

bool fuse_matmul(OpQueue & q, const MatmulParams & p) {
    return fuse_gemv_pair<MatmulParams, launch_matmul>(q, p, true, "matmul_gemv2");
}

bool fuse_matmul_quant(OpQueue & q, const QuantMatmulParams & p) {
    QuantMatmulParams prev;
    const bool same_x8 = q.last<QuantMatmulParams, launch_matmul_quant>(&prev) && prev.x8 == p.x8;
    return fuse_gemv_pair<QuantMatmulParams, launch_matmul_quant>(q, p, same_x8,
                                                                  "matmul_quant_gemv2");
}

namespace {

// The gelu gate folded into the GEMV (plain or quantized) that just wrote its first operand.
template <class P>
bool fold_gelu(P & prev, const EltParams & p) {
    if (prev.out != p.a || p.out != p.a || p.n != prev.n * prev.m) return false;
    if (prev.epilogue == GemvEpilogue::dual && prev.out2 == p.b) {
        prev.epilogue = GemvEpilogue::dual_gelu;
        return true;
    }
    if (prev.epilogue != GemvEpilogue::none || !apart(p.b, p.n, prev.out, p.n) ||
        !apart(p.b, p.n, prev.x, prev.n * prev.k))
        return false;
    prev.epilogue = GemvEpilogue::gelu_mul;
    prev.b = static_cast<const float *>(p.b);
    return true;
}

}  // namespace

bool fuse_gelu_mul(OpQueue & q, const EltParams & p) {
    QuantMatmulParams qp;
    if (q.last<QuantMatmulParams, launch_matmul_quant>(&qp)) {
        if (qp.path != MatmulPath::gemv || !fold_gelu(qp, p)) return false;
        q.replace_last<QuantMatmulParams, launch_matmul_quant>("matmul_quant_gemv_gelu", qp);
        return true;
    }
    MatmulParams prev;
    if (!q.last<MatmulParams, launch_matmul>(&prev) || prev.path != MatmulPath::gemv) return false;
    if (!fold_gelu(prev, p)) return false;
    q.replace_last<MatmulParams, launch_matmul>("matmul_gemv_gelu", prev);
    return true;
}

bool fuse_add(OpQueue & q, const EltParams & p) {
    RmsNormParams norm;
    if (!q.last<RmsNormParams, launch_rms_norm>(&norm)) return false;
    if (norm.x != norm.out || norm.out != p.b || p.btype != ElemType::f32 || p.nb != p.n ||
        p.n != norm.rows * norm.d || p.d != norm.d || norm.d > kRowFuseMaxD)
        return false;
    if (!same_or_apart(p.out, p.n, p.a, p.n) || !same_or_apart(p.out, p.n, norm.out, p.n) ||
        !same_or_apart(p.a, p.n, norm.out, p.n))
        return false;
    auto f = zeroed<RowFuseParams>();
    f.a = norm.out;
    f.w1 = norm.w;
    f.w1_type = norm.type;
    f.eps1 = norm.eps;
    f.norm1 = 1;
    f.h_in = p.a;
    f.h_out = p.out;
    f.rows = norm.rows;
    f.d = norm.d;
    f.scalar_type = f.w2_type = ElemType::none;
    q.replace_last<RowFuseParams, launch_row_fuse>("norm_add", f);
    return true;
}

bool fuse_mul(OpQueue & q, const EltParams & p) {
    RowFuseParams f;
    if (!q.last<RowFuseParams, launch_row_fuse>(&f)) return false;
    if (f.scalar || f.x || p.nb != 1 || p.a != f.h_out || p.out != f.h_out || p.n != f.rows * f.d)
        return false;
    f.scalar = p.b;
    f.scalar_type = p.btype;
    q.replace_last<RowFuseParams, launch_row_fuse>("norm_add_scale", f);
    return true;
}

// rms_norm after a row_fuse (the next sub-block's input norm), or a second per-head norm after
// a first one (k then v).
bool fuse_rms_norm(OpQueue & q, const RmsNormParams & p) {
    RowFuseParams f;
    if (q.last<RowFuseParams, launch_row_fuse>(&f)) {
        int64_t n = f.rows * f.d;
        if (f.x || p.x != f.h_out || p.rows != f.rows || p.d != f.d ||
            !same_or_apart(p.out, n, f.h_out, n) || !apart(p.out, n, f.a, n) ||
            !same_or_apart(p.out, n, f.h_in, n))
            return false;
        f.x = p.out;
        f.w2 = p.w;
        f.w2_type = p.type;
        f.eps2 = p.eps;
        q.replace_last<RowFuseParams, launch_row_fuse>("norm_add_norm", f);
        return true;
    }
    RmsNormParams first;
    if (!q.last<RmsNormParams, launch_rms_norm>(&first)) return false;
    if (first.x != first.out || p.x != p.out || first.d != p.d || first.eps != p.eps ||
        !apart(first.x, first.rows * first.d, p.x, p.rows * p.d))
        return false;
    auto r = zeroed<NormRopeParams>();
    r.a = first.out;
    r.wa = first.w;
    r.wa_type = first.type;
    r.b = p.out;
    r.wb = p.w;
    r.wb_type = p.type;
    r.rows_a = first.rows;
    r.rows_b = p.rows;
    r.d = p.d;
    r.heads = 1;
    r.eps = p.eps;
    q.replace_last<NormRopeParams, launch_norm_rope>("norm2", r);
    return true;
}

bool fuse_rope(OpQueue & q, const RopeParams & p) {
    if (p.x != p.out) return false;
    NormRopeParams r;
    RmsNormParams norm;
    if (q.last<RmsNormParams, launch_rms_norm>(&norm)) {
        if (norm.x != norm.out || norm.out != p.x || norm.rows != p.n * p.h || norm.d != p.d)
            return false;
        r = zeroed<NormRopeParams>();
        r.a = norm.out;
        r.wa = norm.w;
        r.wa_type = norm.type;
        r.wb_type = ElemType::none;
        r.rows_a = norm.rows;
        r.d = norm.d;
        r.eps = norm.eps;
    } else if (!q.last<NormRopeParams, launch_norm_rope>(&r) || r.freqs || r.a != p.x ||
               r.rows_a != p.n * p.h || r.d != p.d) {
        return false;
    }
    r.heads = p.h;
    r.positions = p.positions;
    r.freqs = p.freqs;
    q.replace_last<NormRopeParams, launch_norm_rope>("norm_rope", r);
    return true;
}

bool fuse_kv_store(OpQueue & q, const KvStoreParams & p) {
    NormRopeParams r;
    if (!q.last<NormRopeParams, launch_norm_rope>(&r)) return false;
    if (!r.freqs || r.k_cache || r.a != p.k || r.b != p.v || r.positions != p.positions ||
        r.rows_a != r.rows_b || r.heads * r.d != p.row || r.rows_a != p.n * r.heads)
        return false;
    // norm_rope quantizes a q8_0 cache per head row: only when head rows are whole blocks
    // (D % 32 == 0, as in Gemma 4); else kv_store runs on its own (blocks spanning heads).
    if (p.type == KvType::q8_0 && r.d % 32 != 0) return false;
    r.k_cache = p.k_cache;
    r.v_cache = p.v_cache;
    r.slots = p.slots;
    r.cache_type = p.type;
    q.replace_last<NormRopeParams, launch_norm_rope>("norm_rope_store", r);
    return true;
}

}  // namespace gemma::cuda
