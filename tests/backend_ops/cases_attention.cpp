// kv_store and attention cases: decode (one query) and prefill chunks, full causal and sliding
// windows over ring-buffer caches that have wrapped, GQA groups, odd head dims, and the
// bidirectional vision-block overlay.
#include "op_harness.h"

namespace gemma::test {
namespace {

std::vector<int32_t> consecutive(int32_t pos0, int64_t n) {
    std::vector<int32_t> p;
    for (int64_t i = 0; i < n; ++i) p.push_back(pos0 + int32_t(i));
    return p;
}

OpCase kv_store_case(const char * tag, int64_t n, int64_t hkv, int64_t d, int64_t slots,
                     int32_t pos0, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("kv_store %s n=%lld [%lld,%lld] S=%lld pos %d", tag, (long long)n,
                    (long long)hkv, (long long)d, (long long)slots, pos0);
    c.desc = {Op::kv_store, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, {n, hkv, d}),
                random_tensor(rng, DType::f32, {n, hkv, d}), i32_tensor(consecutive(pos0, n)),
                random_tensor(rng, DType::f32, {slots, hkv, d}),
                random_tensor(rng, DType::f32, {slots, hkv, d})};
    c.outputs = {{DType::f32, {slots, hkv, d}, 3}, {DType::f32, {slots, hkv, d}, 4}};
    c.call = [](Backend & b, const OpArgs & a) {
        return b.kv_store(a.in[0], a.in[1], a.in[2], a.out[0], a.out[1]);
    };
    return c;
}

struct AttnShape {
    int64_t n, hq, hkv, d, slots;
    int32_t pos0;
    int window;
};

// blocks: block id per query row (empty = plain causal / sliding).
OpCase attention_case(const char * tag, AttnShape s, std::vector<int32_t> blocks, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("attention %s q[%lld,%lld,%lld] kv%lld S=%lld pos %d window %d%s", tag,
                    (long long)s.n, (long long)s.hq, (long long)s.d, (long long)s.hkv,
                    (long long)s.slots, s.pos0, s.window, blocks.empty() ? "" : " blocks");
    c.desc = {Op::attention, DType::f32, DType::f32};
    // Scores of q·k with |q|,|k| ~ 1 per element reach ±d/4: a sharp but finite softmax.
    c.inputs = {random_tensor(rng, DType::f32, {s.n, s.hq, s.d}),
                random_tensor(rng, DType::f32, {s.slots, s.hkv, s.d}),
                random_tensor(rng, DType::f32, {s.slots, s.hkv, s.d}),
                i32_tensor(consecutive(s.pos0, s.n))};
    bool has_blocks = !blocks.empty();
    if (has_blocks) c.inputs.push_back(i32_tensor(blocks));
    c.outputs = {{DType::f32, {s.n, s.hq, s.d}}};
    float scale = 1.0f / float(s.d);
    int window = s.window;
    c.call = [has_blocks, scale, window](Backend & b, const OpArgs & a) {
        AttentionDesc desc{scale, window};
        return b.attention(a.in[0], a.in[1], a.in[2], a.in[3], has_blocks ? a.in[4] : Tensor{},
                           desc, a.out[0]);
    };
    return c;
}

}  // namespace

std::vector<OpCase> attention_cases() {
    return {
        kv_store_case("prefill", 7, 2, 16, 32, 0, 51),
        kv_store_case("ring wrap", 5, 2, 13, 8, 22, 52),
        kv_store_case("decode", 1, 2, 256, 600, 599, 53),
        attention_case("decode full", {1, 8, 2, 256, 300, 299, 0}, {}, 61),
        attention_case("decode sliding wrapped", {1, 8, 2, 256, 512, 1500, 512}, {}, 62),
        attention_case("prefill full", {13, 4, 2, 32, 40, 0, 0}, {}, 63),
        attention_case("prefill sliding odd", {9, 6, 3, 11, 16, 20, 8}, {}, 64),
        attention_case("mha odd", {5, 3, 3, 7, 5, 0, 0}, {}, 65),
        attention_case("vision blocks", {10, 4, 2, 16, 32, 3, 8}, {-1, 0, 0, 0, 0, 0, -1, 1, 1, -1},
                       66),
        attention_case("vision blocks full", {6, 2, 1, 32, 16, 0, 0}, {0, 0, 0, -1, 2, 2}, 67),
    };
}

}  // namespace gemma::test
