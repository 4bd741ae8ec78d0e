// Gemma 4 multimodal embedder (Gemma4MultimodalEmbedder, model.embed_vision / model.embed_audio):
// a weightless RMSNorm then a projection to the text hidden size. Its output replaces the
// placeholder tokens' embeddings as is (not scaled by √hidden). Spec gemma4-multimodal §3.8, §5.6.
#pragma once

#include <string>
#include <vector>

#include "model/gemma4/embedder_math.h"

namespace gemma::gemma4 {

class MultimodalEmbedder {
public:
    // Binds <prefix>.embedding_projection.weight [out, in] (e.g. prefix "model.embed_vision").
    static Result<MultimodalEmbedder> load(const mm::WeightReader & r, const std::string & prefix,
                                           int in, int out, float eps);
    // x: [n, in] -> [n, out]: embedding_projection(RMSNorm_1(x)).
    std::vector<float> forward(std::vector<float> x) const;
    int in() const { return proj_.in; }
    void set_reference(bool on) { proj_.reference = on; }  // plain-loop projection (tests)
    int out() const { return proj_.out; }

private:
    mm::Linear proj_;
    float eps_ = 1e-6f;
};

}  // namespace gemma::gemma4
