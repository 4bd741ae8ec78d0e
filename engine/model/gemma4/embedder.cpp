// Gemma4MultimodalEmbedder: RMSNorm without weight, then a bias-free projection.
#include "model/gemma4/embedder.h"

namespace gemma::gemma4 {

Result<MultimodalEmbedder> MultimodalEmbedder::load(const mm::WeightReader & r,
                                                    const std::string & prefix, int in, int out,
                                                    float eps) {
    auto proj =
        mm::load_linear(r, prefix + ".embedding_projection", in, out, mm::LinearKind::plain);
    if (!proj) return proj.error();
    MultimodalEmbedder e;
    e.proj_ = std::move(*proj);
    e.eps_ = eps;
    return e;
}

std::vector<float> MultimodalEmbedder::forward(std::vector<float> x) const {
    const int64_t n = int64_t(x.size()) / proj_.in;
    // The weightless norm mostly cancels the tower's √D output scale; it still acts through eps.
    mm::rms_norm_rows(x.data(), n, proj_.in, nullptr, eps_);
    return proj_(x);
}

}  // namespace gemma::gemma4
