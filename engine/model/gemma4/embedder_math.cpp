// fp32 reference building blocks for the multimodal towers (see embedder_math.h).
#include "model/gemma4/embedder_math.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>

namespace gemma::gemma4::mm {

Result<std::vector<float>> WeightReader::f32(const std::string & name,
                                             const Shape & expected) const {
    auto t = source_.get_checked(name, expected);
    if (!t) return t.error();
    if (t->dtype != DType::f32 && t->dtype != DType::bf16 && t->dtype != DType::f16) {
        return make_error(ErrorCode::unsupported,
                          format("tensor '%s' in %s is %s; the multimodal towers need f32, f16 or "
                                 "bf16 weights",
                                 name.c_str(), source_.describe().c_str(), dtype_name(t->dtype)));
    }
    Tensor f = tensor_to_f32(*t);
    const float * p = f.ptr<float>();
    return std::vector<float>(p, p + f.numel());
}

Result<float> WeightReader::scalar(const std::string & name) const {
    auto t = source_.get(name);
    if (!t) return t.error();
    if (t->numel() != 1) {
        return make_error(ErrorCode::corrupt_file,
                          format("tensor '%s' in %s has shape %s, expected a scalar", name.c_str(),
                                 source_.describe().c_str(), shape_str(t->shape).c_str()));
    }
    auto v = f32(name, t->shape);
    if (!v) return v.error();
    return (*v)[0];
}

Result<Linear> load_linear(const WeightReader & r, const std::string & name, int in, int out,
                           LinearKind kind, bool clip) {
    Linear l;
    l.in = in;
    l.out = out;
    const std::string base = kind == LinearKind::clippable ? name + ".linear" : name;
    auto w = r.f32(base + ".weight", {out, in});
    if (!w) return w.error();
    l.w = std::move(*w);
    if (kind == LinearKind::with_bias) {
        auto b = r.f32(name + ".bias", {out});
        if (!b) return b.error();
        l.bias = std::move(*b);
    }
    if (kind == LinearKind::clippable && clip) {
        float * dst[4] = {&l.in_min, &l.in_max, &l.out_min, &l.out_max};
        const char * key[4] = {"input_min", "input_max", "output_min", "output_max"};
        for (int i = 0; i < 4; ++i) {
            auto s = r.scalar(name + "." + key[i]);
            if (!s) return s.error();
            *dst[i] = *s;
        }
    }
    return l;
}

float dot(const float * a, const float * b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // 8 lanes so the compiler can vectorise
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * b[k + j];
    }
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; k < n; ++k) s += a[k] * b[k];
    return s;
}

void Linear::forward_reference(const float * x, int64_t n, float * y) const {
    std::vector<float> row(size_t(in), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
        const float * xi = x + i * in;
        for (int k = 0; k < in; ++k) row[size_t(k)] = std::clamp(xi[k], in_min, in_max);
        float * yi = y + i * out;
        for (int o = 0; o < out; ++o) {
            float v = dot(row.data(), &w[size_t(o) * size_t(in)], in);
            if (!bias.empty()) v += bias[size_t(o)];
            yi[o] = std::clamp(v, out_min, out_max);
        }
    }
}

// Same function: clamp the input (into a copy), y = x · Wᵀ by sgemm (fp32 accumulation in
// OpenBLAS's order, ~1e-7 relative from the loops), then bias and the output clamp.
void Linear::forward(const float * x, int64_t n, float * y) const {
    if (reference) return forward_reference(x, n, y);
    if (n <= 0) return;
    const float * src = x;
    std::vector<float> clipped;
    const float inf = std::numeric_limits<float>::infinity();
    if (in_min > -inf || in_max < inf) {
        clipped.assign(x, x + n * in);
        for (float & v : clipped) v = std::clamp(v, in_min, in_max);
        src = clipped.data();
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), out, in, 1.0f, src, in, w.data(),
                in, 0.0f, y, out);
    if (bias.empty() && out_min == -inf && out_max == inf) return;
    for (int64_t i = 0; i < n; ++i) {
        float * yi = y + i * out;
        for (int o = 0; o < out; ++o) {
            const float v = bias.empty() ? yi[o] : yi[o] + bias[size_t(o)];
            yi[o] = std::clamp(v, out_min, out_max);
        }
    }
}

std::vector<float> Linear::operator()(const std::vector<float> & x) const {
    const int64_t n = int64_t(x.size()) / in;
    std::vector<float> y(size_t(n) * size_t(out));
    forward(x.data(), n, y.data());
    return y;
}

void rms_norm_rows(float * x, int64_t n, int d, const float * w, float eps) {
    for (int64_t i = 0; i < n; ++i) {
        float * r = x + i * d;
        double ss = 0.0;
        for (int k = 0; k < d; ++k) ss += double(r[k]) * r[k];
        const float inv = float(1.0 / std::sqrt(ss / d + double(eps)));
        for (int k = 0; k < d; ++k) r[k] = r[k] * inv * (w ? w[k] : 1.0f);
    }
}

Tensor to_tensor(const std::vector<float> & v, Shape shape) {
    Tensor t = tensor_host(DType::f32, std::move(shape));
    GEMMA_ASSERT(size_t(t.numel()) == v.size(), "to_tensor: %zu values for shape of %lld", v.size(),
                 (long long)t.numel());
    if (!v.empty()) std::memcpy(t.data, v.data(), v.size() * sizeof(float));
    return t;
}

}  // namespace gemma::gemma4::mm
