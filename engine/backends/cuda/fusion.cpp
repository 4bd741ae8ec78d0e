// Decode fusions: pattern checks and the fused records they make (see fusion.h).
#include "backends/cuda/fusion.h"

#include <cstdint>
#include <cstring>

#include "core/kv_quant.h"

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
// Byte ranges [a, a + n) and [b, b + m) do not overlap.
bool bytes_apart(const void * a, int64_t n, const void * b, int64_t m) {
    auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
    return x + uintptr_t(n) <= y || y + uintptr_t(m) <= x;
}
// NormRopeParams keeps sizes as int32 (launch.h): larger shapes stay unfused.
bool fits_i32(int64_t v) { return v >= 0 && v <= INT32_MAX; }

template <class P>
P zeroed() {
    P p;
    std::memset(&p, 0, sizeof(P));  // records are compared byte for byte, padding included
    return p;
}

// Bytes of one element of a norm weight or scalar (f32, f16, bf16).
int64_t elem_bytes(ElemType t) { return t == ElemType::f32 ? 4 : 2; }

// Whether f32 range [p, p + n) overlaps none of the memory a folded row_fuse `f` reads or writes
// (a, h_in, h_out, x, its norm weights and scalar): GEMV outputs and the gelu operand b must not,
// since GEMV blocks write (and read b) while other blocks still run their prologue, and the
// row_fuse's outputs are written by whichever block arrives last.
bool apart_from_row_fuse(const RowFuseParams & f, const void * p, int64_t n) {
    const int64_t bytes = n * 4, rows = f.rows * f.d * 4;
    if (!bytes_apart(p, bytes, f.a, rows) || !bytes_apart(p, bytes, f.h_in, rows) ||
        !bytes_apart(p, bytes, f.h_out, rows) || (f.x && !bytes_apart(p, bytes, f.x, rows)))
        return false;
    if (f.w1_type != ElemType::none && !bytes_apart(p, bytes, f.w1, f.d * elem_bytes(f.w1_type)))
        return false;
    if (f.x && f.w2_type != ElemType::none &&
        !bytes_apart(p, bytes, f.w2, f.d * elem_bytes(f.w2_type)))
        return false;
    return !f.scalar || bytes_apart(p, bytes, f.scalar, elem_bytes(f.scalar_type));
}
// The same for a GEMV record without a folded row_fuse: always.
template <class P>
bool apart_from_prologue(const P & g, const void * p, int64_t n) {
    return g.prologue.rows == 0 || apart_from_row_fuse(g.prologue, p, n);
}
// A GEMV record's name: `plain`, or `folded` with a row_fuse folded in.
template <class P>
const char * gemv_name(const P & g, const char * plain, const char * folded) {
    return g.prologue.rows > 0 ? folded : plain;
}

// Whether two GEMV records read x the same way (quantized: both int8-rounded or both exact).
bool same_x_mode(const MatmulParams &, const MatmulParams &) { return true; }
bool same_x_mode(const QuantMatmulParams & a, const QuantMatmulParams & b) { return a.x8 == b.x8; }

// Two GEMVs of the same x in a row (plain or quantized weights of one shape and type): one dual
// GEMV (epilogue dual: w2 → out2), when the second's out overlaps neither the first's nor x (nor
// the first's folded row_fuse). Named `name`, or `folded` with a row_fuse folded in.
template <class P, LaunchResult (*Launch)(const P &, gpuStream_t, const LaunchEnv &)>
bool fuse_gemv_pair(OpQueue & q, const P & p, const char * name, const char * folded) {
    P prev;
    if (p.path != MatmulPath::gemv || !q.last<P, Launch>(&prev)) return false;
    if (prev.path != MatmulPath::gemv || prev.epilogue != GemvEpilogue::none || prev.x != p.x ||
        prev.n != p.n || prev.k != p.k || prev.m != p.m || prev.type != p.type ||
        !same_x_mode(prev, p))
        return false;
    int64_t out_n = p.n * p.m, x_n = p.n * p.k;
    if (!apart(p.out, out_n, prev.out, out_n) || !apart(p.out, out_n, p.x, x_n) ||
        !apart_from_prologue(prev, p.out, out_n))
        return false;
    prev.w2 = p.w;
    prev.out2 = p.out;
    prev.epilogue = GemvEpilogue::dual;
    q.replace_last<P, Launch>(gemv_name(prev, name, folded), prev);
    return true;
}

// A plain GEMV of the same x (q) recorded just before a dual GEMV that was just made (k, v):
// one triple GEMV, q's rows then k's then v's, when q's out overlaps neither x nor k's and v's
// (and k's and v's outs overlap q's folded row_fuse, if any, neither).
template <class P, LaunchResult (*Launch)(const P &, gpuStream_t, const LaunchEnv &)>
void join_triple(OpQueue & q, const char * name, const char * folded) {
    P kv, first;
    if (!q.last<P, Launch>(&kv) || kv.epilogue != GemvEpilogue::dual || kv.prologue.rows > 0 ||
        !q.before_last<P, Launch>(&first))
        return;
    if (first.path != MatmulPath::gemv || first.epilogue != GemvEpilogue::none || first.x != kv.x ||
        first.n != kv.n || first.k != kv.k || first.type != kv.type || !same_x_mode(first, kv) ||
        first.m <= 0 || kv.m <= 0)
        return;
    const int64_t q_n = first.n * first.m, kv_n = kv.n * kv.m, x_n = kv.n * kv.k;
    if (!apart(first.out, q_n, kv.out, kv_n) || !apart(first.out, q_n, kv.out2, kv_n) ||
        !apart(first.out, q_n, kv.x, x_n) || !apart_from_prologue(first, kv.out, kv_n) ||
        !apart_from_prologue(first, kv.out2, kv_n))
        return;
    first.epilogue = GemvEpilogue::triple;
    first.w2 = kv.w;
    first.out2 = kv.out;
    first.w3 = kv.w2;
    first.out3 = kv.out2;
    first.m2 = kv.m;
    q.replace_last_two<P, Launch>(gemv_name(first, name, folded), first);
}

// A GEMV (fresh: no epilogue yet) whose x is the x output of the row_fuse recorded just before it
// (or its h_out, when it has no x): the row_fuse becomes the GEMV's prologue (one launch), when
// its rows fit row_fold_fits, a and h_in are 16-byte aligned (float4 loads) and the GEMV's out
// overlaps none of its memory. Later pair, triple
// and gelu folds keep the prologue (and check their buffers against it).
template <class P, LaunchResult (*Launch)(const P &, gpuStream_t, const LaunchEnv &)>
bool fold_row_fuse(OpQueue & q, const P & p, const char * name) {
    RowFuseParams f;
    if (p.path != MatmulPath::gemv || p.epilogue != GemvEpilogue::none ||
        !q.last<RowFuseParams, launch_row_fuse>(&f))
        return false;
    auto aligned = [](const void * ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
    if (p.x != (f.x ? f.x : f.h_out) || f.rows != p.n || f.d != p.k || !row_fold_fits(p.n, p.k) ||
        !aligned(f.a) || !aligned(f.h_in) || !apart_from_row_fuse(f, p.out, p.n * p.m))
        return false;
    P folded = p;
    folded.prologue = f;
    q.replace_last<P, Launch>(name, folded);
    return true;
}

}  // namespace

bool fuse_matmul(OpQueue & q, const MatmulParams & p, bool qkv, bool row) {
    if (fuse_gemv_pair<MatmulParams, launch_matmul>(q, p, "matmul_gemv2", "row_gemv2")) {
        if (qkv) join_triple<MatmulParams, launch_matmul>(q, "matmul_gemv3", "row_gemv3");
        return true;
    }
    return row && fold_row_fuse<MatmulParams, launch_matmul>(q, p, "row_gemv");
}

bool fuse_matmul_quant(OpQueue & q, const QuantMatmulParams & p, bool qkv, bool row) {
    using P = QuantMatmulParams;
    if (fuse_gemv_pair<P, launch_matmul_quant>(q, p, "matmul_quant_gemv2", "row_quant_gemv2")) {
        if (qkv) join_triple<P, launch_matmul_quant>(q, "matmul_quant_gemv3", "row_quant_gemv3");
        return true;
    }
    return row && fold_row_fuse<P, launch_matmul_quant>(q, p, "row_quant_gemv");
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
        !apart(p.b, p.n, prev.x, prev.n * prev.k) || !apart_from_prologue(prev, p.b, p.n))
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
        q.replace_last<QuantMatmulParams, launch_matmul_quant>(
            gemv_name(qp, "matmul_quant_gemv_gelu", "row_quant_gemv_gelu"), qp);
        return true;
    }
    MatmulParams prev;
    if (!q.last<MatmulParams, launch_matmul>(&prev) || prev.path != MatmulPath::gemv) return false;
    if (!fold_gelu(prev, p)) return false;
    q.replace_last<MatmulParams, launch_matmul>(
        gemv_name(prev, "matmul_gemv_gelu", "row_gemv_gelu"), prev);
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
        !apart(first.x, first.rows * first.d, p.x, p.rows * p.d) || !fits_i32(first.rows) ||
        !fits_i32(p.rows) || !fits_i32(p.d))
        return false;
    auto r = zeroed<NormRopeParams>();
    r.a = first.out;
    r.wa = first.w;
    r.wa_type = first.type;
    r.b = p.out;
    r.wb = p.w;
    r.wb_type = p.type;
    r.rows_a = int32_t(first.rows);
    r.rows_b = int32_t(p.rows);
    r.d = int32_t(p.d);
    r.heads = 1;
    r.eps = p.eps;
    q.replace_last<NormRopeParams, launch_norm_rope>("norm2", r);
    return true;
}

namespace {

// q's norm_rope recorded just before the k/v norm_rope that was just made: one launch, q's rows
// first (NormRopeParams q part), when both use the same tokens, positions, freqs, eps and norm
// weight type and q's rows overlap neither k's nor v's.
void join_norm_rope_q(OpQueue & q) {
    NormRopeParams kv, first;
    if (!q.last<NormRopeParams, launch_norm_rope>(&kv) || !kv.freqs || kv.rows_b == 0 ||
        kv.q_heads != 0 || kv.k_cache || !q.before_last<NormRopeParams, launch_norm_rope>(&first))
        return;
    if (!first.freqs || first.rows_b != 0 || first.q_heads != 0 || first.k_cache ||
        first.positions != kv.positions || first.freqs != kv.freqs || first.d != kv.d ||
        first.eps != kv.eps || first.wa_type != kv.wa_type || first.heads <= 0 || kv.heads <= 0 ||
        first.rows_a / first.heads != kv.rows_a / kv.heads)
        return;
    const int64_t q_n = int64_t(first.rows_a) * first.d;
    if (!apart(first.a, q_n, kv.a, int64_t(kv.rows_a) * kv.d) ||
        !apart(first.a, q_n, kv.b, int64_t(kv.rows_b) * kv.d))
        return;
    kv.q = first.a;
    kv.wq = first.wa;
    kv.q_heads = first.heads;
    q.replace_last_two<NormRopeParams, launch_norm_rope>("norm_rope_qkv", kv);
}

}  // namespace

bool fuse_rope(OpQueue & q, const RopeParams & p, bool qkv) {
    if (p.x != p.out || !fits_i32(p.h)) return false;
    NormRopeParams r;
    RmsNormParams norm;
    if (q.last<RmsNormParams, launch_rms_norm>(&norm)) {
        if (norm.x != norm.out || norm.out != p.x || norm.rows != p.n * p.h || norm.d != p.d ||
            !fits_i32(norm.rows) || !fits_i32(norm.d))
            return false;
        r = zeroed<NormRopeParams>();
        r.a = norm.out;
        r.wa = norm.w;
        r.wa_type = norm.type;
        r.wb_type = ElemType::none;
        r.rows_a = int32_t(norm.rows);
        r.d = int32_t(norm.d);
        r.eps = norm.eps;
    } else if (!q.last<NormRopeParams, launch_norm_rope>(&r) || r.freqs || r.a != p.x ||
               r.rows_a != p.n * p.h || r.d != p.d) {
        return false;
    }
    r.heads = int32_t(p.h);
    r.positions = p.positions;
    r.freqs = p.freqs;
    q.replace_last<NormRopeParams, launch_norm_rope>("norm_rope", r);
    if (qkv) join_norm_rope_q(q);
    return true;
}

namespace {

bool is_blas16(MatmulPath path) {
    return path == MatmulPath::blas_lowp || path == MatmulPath::blas_split;
}

// What a producer of x writes for the blas matmul p: its 16-bit terms into p's scratch.
Round16Out round16_out(const MatmulParams & p) {
    Round16Out r;
    std::memset(&r, 0, sizeof(r));
    r.hi = p.scratch;
    r.type = p.type;
    r.split = p.path == MatmulPath::blas_split ? 1 : 0;
    return r;
}

// The matmul recorded just before p rounded (or found rounded) the same x the same way into the
// same scratch, and wrote nothing x is made of.
bool x16_reusable(const OpQueue & q, const MatmulParams & p) {
    MatmulParams prev;
    if (!q.last<MatmulParams, launch_matmul>(&prev)) return false;
    return prev.path == p.path && prev.x == p.x && prev.n == p.n && prev.k == p.k &&
           prev.type == p.type && prev.scratch == p.scratch &&
           bytes_apart(prev.out, prev.n * prev.m * 4, p.x, p.n * p.k * 4);
}

// The record just before p is a row_fuse writing all of x (its x, or h_out without one) or a
// gelu_tanh_mul writing all of x: it becomes the variant that also writes x's 16-bit terms.
bool x16_from_producer(OpQueue & q, const MatmulParams & p) {
    RowFuseParams f;
    if (q.last<RowFuseParams, launch_row_fuse>(&f)) {
        if ((f.x ? f.x : f.h_out) != p.x || f.rows != p.n || f.d != p.k) return false;
        RowFuseRoundParams r = zeroed<RowFuseRoundParams>();
        r.f = f;
        r.r = round16_out(p);
        q.extend_last<RowFuseRoundParams, launch_row_fuse_round>("row_fuse_x16", r);
        return true;
    }
    EltParams e;
    if (!q.last<EltParams, launch_elementwise>(&e) || e.op != EltOp::gelu_tanh_mul ||
        e.out != p.x || e.n != p.n * p.k)
        return false;
    EltRoundParams r = zeroed<EltRoundParams>();
    r.e = e;
    r.r = round16_out(p);
    q.extend_last<EltRoundParams, launch_elementwise_round>("gelu_tanh_mul_x16", r);
    return true;
}

// Bytes of one KV cache of attention a ([slots, hkv, d] of its KvType).
int64_t attention_cache_bytes(const AttentionParams & a) {
    const int64_t values = a.slots * a.hkv * a.d;
    if (a.kv_type == KvType::q8_0) return values / kQ8Block * int64_t(kQ8BlockBytes);
    return values * (a.kv_type == KvType::bf16 ? 2 : 4);
}

// The record just before p is an attention_fa writing all of x (the o projection's input: out
// [n, hq, d] read as [n, hq · d]), whose scratch terms overlap none of its inputs or its out: it
// becomes the variant that also writes x's 16-bit terms (launch_attention_fa_round).
bool x16_from_attention(OpQueue & q, const MatmulParams & p) {
    AttentionParams a;
    if (!q.last<AttentionParams, launch_attention_fa>(&a)) return false;
    if (a.out != p.x || a.n != p.n || a.hq * a.d != p.k) return false;
    const int64_t count = p.n * p.k, terms = count * 2 * (p.path == MatmulPath::blas_split ? 2 : 1);
    if (!bytes_apart(p.scratch, terms, a.q, count * 4) ||
        !bytes_apart(p.scratch, terms, a.out, count * 4) ||
        !bytes_apart(p.scratch, terms, a.k_cache, attention_cache_bytes(a)) ||
        !bytes_apart(p.scratch, terms, a.v_cache, attention_cache_bytes(a)))
        return false;
    AttentionRoundParams r = zeroed<AttentionRoundParams>();
    r.a = a;
    r.r = round16_out(p);
    q.extend_last<AttentionRoundParams, launch_attention_fa_round>("attention_fa_x16", r);
    return true;
}

}  // namespace

bool fuse_round_x(OpQueue & q, const MatmulParams & p) {
    if (!is_blas16(p.path) || !p.scratch || p.x16_ready) return false;
    if (!x16_reusable(q, p) && !x16_from_producer(q, p) && !x16_from_attention(q, p)) return false;
    q.count_x16_reuse();
    return true;
}

bool fuse_mmq_x(OpQueue & q, const QuantMatmulParams & p, const LaunchEnv & env) {
    if (p.path != MatmulPath::mmq || p.x_ready || !matmul_quant_mmq_rounds_x(p, env))
        return false;
    QuantMatmulParams prev;
    if (!q.last<QuantMatmulParams, launch_matmul_quant>(&prev) || prev.path != MatmulPath::mmq ||
        !matmul_quant_mmq_rounds_x(prev, env))
        return false;
    // The same rounding (x, rows, k, group size by type) in the same scratch bytes, and prev's
    // output (its only write outside scratch) apart from x.
    if (prev.x != p.x || prev.n != p.n || prev.k != p.k || prev.type != p.type ||
        prev.scratch_x != p.scratch_x || !bytes_apart(prev.out, prev.n * prev.m * 4, p.x,
                                                      p.n * p.k * 4))
        return false;
    q.count_x16_reuse();
    return true;
}

namespace {

// (discard): how many pending matmuls may sit between a producer and the discard (q, k, v).
constexpr size_t kDiscardMaxReaders = 8;

// Byte range [p, p + n) lies inside [t, t + bytes).
bool bytes_inside(const void * p, int64_t n, const void * t, size_t bytes) {
    auto x = reinterpret_cast<uintptr_t>(p), y = reinterpret_cast<uintptr_t>(t);
    return x >= y && x + uintptr_t(n) <= y + uintptr_t(bytes);
}

// Pending record i (from the back) is a blas matmul that reads none of t's bytes: it found its
// x's 16-bit terms ready (launch_matmul then reads its scratch and w, and out when split's lo
// GEMM accumulates, never x's f32), its x is t itself or lies apart from it, and its scratch,
// weights and out lie apart from t.
bool reads_none_of(const OpQueue & q, size_t i, const void * t, size_t bytes) {
    MatmulParams m;
    if (!q.at_back<MatmulParams, launch_matmul>(i, &m)) return false;
    const int64_t n = int64_t(bytes);
    if (!is_blas16(m.path) || !m.x16_ready || !m.scratch || m.epilogue != GemvEpilogue::none ||
        m.prologue.rows != 0)
        return false;
    const int64_t x16 = m.n * m.k * (m.path == MatmulPath::blas_split ? 4 : 2);
    return (m.x == t || bytes_apart(m.x, m.n * m.k * 4, t, n)) &&
           bytes_apart(m.scratch, x16, t, n) && bytes_apart(m.w, m.m * m.k * 2, t, n) &&
           bytes_apart(m.out, m.n * m.m * 4, t, n);
}

// The skip flags row_fuse f may take on for t (its outputs a and x lying whole in t and apart
// from its other rows), added to those it has.
int32_t row_fuse_skip(const RowFuseParams & f, const void * t, size_t bytes) {
    const int64_t n = f.rows * f.d * 4;
    int32_t skip = f.skip;
    if (f.norm1 && bytes_inside(f.a, n, t, bytes) && bytes_apart(f.a, n, f.h_in, n) &&
        bytes_apart(f.a, n, f.h_out, n) && (!f.x || bytes_apart(f.a, n, f.x, n)))
        skip |= kRowFuseSkipA;
    if (f.x && bytes_inside(f.x, n, t, bytes) && bytes_apart(f.x, n, f.h_in, n) &&
        bytes_apart(f.x, n, f.h_out, n) && bytes_apart(f.x, n, f.a, n))
        skip |= kRowFuseSkipX;
    return skip;
}

// New skip bits (0, 1 or 2 of them).
size_t new_skips(int32_t before, int32_t after) {
    return size_t(((after & ~before) & kRowFuseSkipA) != 0) +
           size_t(((after & ~before) & kRowFuseSkipX) != 0);
}

// Pending record i, if it is a producer writing f32 output in t (row_fuse with or without
// (round), an element-wise op with (round)), made to skip those stores; how many it now skips.
size_t drop_stores(OpQueue & q, size_t i, const void * t, size_t bytes) {
    RowFuseParams f;
    if (q.at_back<RowFuseParams, launch_row_fuse>(i, &f)) {
        const int32_t skip = row_fuse_skip(f, t, bytes);
        const size_t n = new_skips(f.skip, skip);
        f.skip = skip;
        if (n > 0) q.update_at_back<RowFuseParams, launch_row_fuse>(i, f);
        return n;
    }
    RowFuseRoundParams r;
    if (q.at_back<RowFuseRoundParams, launch_row_fuse_round>(i, &r)) {
        const int32_t skip = row_fuse_skip(r.f, t, bytes);
        const size_t n = new_skips(r.f.skip, skip);
        r.f.skip = skip;
        if (n > 0) q.update_at_back<RowFuseRoundParams, launch_row_fuse_round>(i, r);
        return n;
    }
    EltRoundParams e;
    if (q.at_back<EltRoundParams, launch_elementwise_round>(i, &e) && !e.skip_out &&
        bytes_inside(e.e.out, e.e.n * 4, t, bytes)) {
        e.skip_out = 1;
        q.update_at_back<EltRoundParams, launch_elementwise_round>(i, e);
        return 1;
    }
    return 0;
}

}  // namespace

size_t discard_unread(OpQueue & q, const void * t, size_t bytes) {
    if (!t || bytes == 0) return 0;
    // From the last record back: the producer, or a record proven not to read t (else stop).
    for (size_t i = 0; i < q.pending() && i <= kDiscardMaxReaders; ++i) {
        if (const size_t n = drop_stores(q, i, t, bytes)) {
            q.count_writes_elided(n);
            return n;
        }
        if (!reads_none_of(q, i, t, bytes)) return 0;
    }
    return 0;
}

namespace {

// A matmul the (ffn16) pattern may change: blas_lowp, bf16 weights, not yet bf16 out.
bool ffn16_gemm(const MatmulParams & m) {
    return m.path == MatmulPath::blas_lowp && m.type == ElemType::bf16 && !m.out_bf16 &&
           m.scratch && m.epilogue == GemvEpilogue::none && m.prologue.rows == 0;
}

}  // namespace

bool ffn_bf16_out(OpQueue & q, const void * t, size_t bytes) {
    MatmulParams down, up, gate;
    EltRoundParams e;
    if (!q.at_back<MatmulParams, launch_matmul>(0, &down) ||
        !q.at_back<EltRoundParams, launch_elementwise_round>(1, &e) ||
        !q.at_back<MatmulParams, launch_matmul>(2, &up) ||
        !q.at_back<MatmulParams, launch_matmul>(3, &gate))
        return false;
    const EltParams & g = e.e;
    const int64_t n = gate.n * gate.m, out_bytes = n * 4;
    // gelu(gate, up) in place into gate, f32 out already skipped (gate discarded), its terms read
    // by down alone; gate and up the GEMMs of one x shape just before it; t holds all of up.
    if (!ffn16_gemm(gate) || !ffn16_gemm(up) || g.op != EltOp::gelu_tanh_mul || !e.skip_out ||
        e.in_bf16 || g.a != gate.out || g.out != gate.out || g.b != up.out ||
        g.btype != ElemType::f32 || g.nb != g.n || g.n != n || up.n != gate.n || up.m != gate.m ||
        down.x != g.out || !down.x16_ready || !bytes_inside(up.out, out_bytes, t, bytes))
        return false;
    // Between the gate GEMM and the gelu only up's GEMM runs: it must not read gate's bytes (its
    // x's f32 when it rounds x itself, its scratch) nor write them, and down (reading the gelu's
    // terms) must touch neither buffer.
    const int64_t x16 = up.n * up.k * 2;
    if (!bytes_apart(gate.out, out_bytes, up.out, out_bytes) ||
        (!up.x16_ready && !bytes_apart(up.x, up.n * up.k * 4, gate.out, out_bytes)) ||
        !bytes_apart(up.scratch, x16, gate.out, out_bytes) ||
        !bytes_apart(down.out, down.n * down.m * 4, gate.out, out_bytes) ||
        !bytes_apart(down.out, down.n * down.m * 4, up.out, out_bytes) ||
        !bytes_apart(e.r.hi, n * 2, gate.out, out_bytes) ||
        !bytes_apart(e.r.hi, n * 2, up.out, out_bytes))
        return false;
    gate.out_bf16 = up.out_bf16 = 1;
    e.in_bf16 = 1;
    q.update_at_back<MatmulParams, launch_matmul>(3, gate);
    q.update_at_back<MatmulParams, launch_matmul>(2, up);
    q.update_at_back<EltRoundParams, launch_elementwise_round>(1, e);
    q.count_ffn_bf16();
    return true;
}

bool fuse_kv_store(OpQueue & q, const KvStoreParams & p) {
    NormRopeParams r;
    if (!q.last<NormRopeParams, launch_norm_rope>(&r)) return false;
    if (!r.freqs || r.k_cache || r.a != p.k || r.b != p.v || r.positions != p.positions ||
        r.rows_a != r.rows_b || int64_t(r.heads) * r.d != p.row || r.rows_a != p.n * r.heads ||
        !fits_i32(p.slots))
        return false;
    // norm_rope quantizes a q8_0 cache per head row: only when head rows are whole blocks
    // (D % 32 == 0, as in Gemma 4); else kv_store runs on its own (blocks spanning heads).
    if (p.type == KvType::q8_0 && r.d % 32 != 0) return false;
    if (r.q_heads > 0) {  // q's rows are written while the caches are: they must not overlap
        const int64_t q_bytes = int64_t(r.q_heads) * (r.rows_a / r.heads) * r.d * 4;
        const int64_t elems = p.slots * p.row;
        const int64_t cache_bytes = p.type == KvType::q8_0
                                        ? elems / kQ8Block * int64_t(kQ8BlockBytes)
                                    : p.type == KvType::bf16 ? elems * 2
                                                             : elems * 4;
        if (!bytes_apart(r.q, q_bytes, p.k_cache, cache_bytes) ||
            !bytes_apart(r.q, q_bytes, p.v_cache, cache_bytes))
            return false;
    }
    r.k_cache = p.k_cache;
    r.v_cache = p.v_cache;
    r.slots = int32_t(p.slots);
    r.cache_type = p.type;
    q.replace_last<NormRopeParams, launch_norm_rope>(
        r.q_heads > 0 ? "norm_rope_qkv_store" : "norm_rope_store", r);
    return true;
}

}  // namespace gemma::cuda
