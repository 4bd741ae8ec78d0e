// Per-layer embeddings (spec §5): the per-token inputs computed once before layer 0, and the
// branch each layer adds after its MLP.
#include <cmath>

#include "model/gemma4/text.h"
#include "model/gemma4/text_scratch.h"

namespace gemma::gemma4 {

// ple[l] = (RMSNorm(A_pmp·h0 / sqrt(H); shared norm per slice) + PLE[ids]·sqrt(P)) / sqrt(2),
// stored layer-major ([L, n, P]) so each layer reads a contiguous [n, P] block.
Status TextModel::ple_inputs(int n) {
    const TextConfig & c = cfg_.text;
    const int64_t L = c.n_layers, P = c.hidden_size_per_layer_input, H = c.hidden_size;
    Tensor h0 = tensor_rows(s_->h, 0, n);
    Tensor ctx = tensor_prefix(s_->ple_c, {n, L * P});
    GEMMA_TRY(backend_.matmul(h0, w_.ple_model_proj, ctx));  // from the already scaled embedding
    GEMMA_TRY(backend_.scale(ctx, 1.0f / std::sqrt(float(H)), ctx));
    Tensor ctx_slices = tensor_reshape(ctx, {n * L, P});
    GEMMA_TRY(backend_.rms_norm(ctx_slices, w_.ple_norm, c.rms_norm_eps, ctx_slices));
    Tensor tok = tensor_prefix(s_->ple_t, {n, L * P});
    GEMMA_TRY(backend_.get_rows(w_.ple_embed, tensor_rows(s_->ids, 0, n), s_->ple_scale, tok));
    GEMMA_TRY(backend_.add(ctx, tok, ctx));
    GEMMA_TRY(backend_.scale(ctx, 1.0f / std::sqrt(2.0f), ctx));
    return backend_.transpose01(tensor_reshape(ctx, {n, L, P}),
                                tensor_prefix(s_->ple_all, {L, n, P}));
}

// h += RMSNorm(A_proj · (gelu_tanh(A_gate · h) ⊙ ple[l]); post_per_layer_input_norm)  (spec §5.3)
Status TextModel::ple_block(int l, int n) {
    const TextConfig & c = cfg_.text;
    const LayerWeights & lw = w_.layers[size_t(l)];
    const int64_t L = c.n_layers, P = c.hidden_size_per_layer_input;
    Tensor h = tensor_rows(s_->h, 0, n), a = tensor_rows(s_->a, 0, n);
    Tensor g = tensor_prefix(s_->ple_g, {n, P});
    Tensor ple_l = tensor_rows(tensor_prefix(s_->ple_all, {L, n, P}), l, 1);
    GEMMA_TRY(backend_.matmul(h, lw.ple_gate, g));
    GEMMA_TRY(backend_.gelu_tanh_mul(g, tensor_reshape(ple_l, {n, P}), g));
    GEMMA_TRY(backend_.matmul(g, lw.ple_proj, a));
    GEMMA_TRY(backend_.discard(g));  // scratch done with (Backend::discard); ple_l is kept
    GEMMA_TRY(backend_.rms_norm(a, lw.post_ple_norm, c.rms_norm_eps, a));
    GEMMA_TRY(backend_.add(h, a, h));
    return backend_.discard(a);
}

}  // namespace gemma::gemma4
