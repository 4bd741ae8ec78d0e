// Multimodal prompt assembly: marker expansion, soft-token scatter, block ids, chunking.
// Mirrors Gemma4Processor (placeholder expansion) and Gemma4Model.forward (masked_scatter of the
// features, mm_token_type_ids -> bidirectional blocks) of transformers 5.17.
#include "model/gemma4/mm_prompt.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace gemma::gemma4 {
namespace {

constexpr int kKinds = 3;

int kind_index(MediaKind k) { return int(k); }

MmTokenType type_of(MediaKind k) {
    switch (k) {
        case MediaKind::image:
            return MmTokenType::image;
        case MediaKind::audio:
            return MmTokenType::audio;
        case MediaKind::video:
            return MmTokenType::video;
    }
    return MmTokenType::text;
}

int32_t placeholder_id(const MmTokenIds & t, MediaKind k) {
    return k == MediaKind::image ? t.image : k == MediaKind::audio ? t.audio : t.video;
}

// The kind whose placeholder `id` is, or -1 for text.
int placeholder_kind(const MmTokenIds & t, int32_t id) {
    for (MediaKind k : {MediaKind::image, MediaKind::audio, MediaKind::video}) {
        if (placeholder_id(t, k) >= 0 && id == placeholder_id(t, k)) return kind_index(k);
    }
    return -1;
}

Status check_parts(const MediaEmbeds & m, size_t index, int64_t hidden) {
    if (m.parts.empty())
        return make_error(
            ErrorCode::invalid_argument,
            format("media item %zu (%s) has no soft tokens", index, media_kind_name(m.kind)));
    for (const Tensor & t : m.parts) {
        if (t.dtype != DType::f32 || t.ndim() != 2 || t.dim(1) != hidden || t.where != Where::host)
            return make_error(ErrorCode::invalid_argument,
                              format("media item %zu (%s): soft tokens are %s %s, expected host "
                                     "f32 [n, %lld] (text hidden size)",
                                     index, media_kind_name(m.kind), dtype_name(t.dtype),
                                     shape_str(t.shape).c_str(), (long long)hidden));
    }
    if (m.kind == MediaKind::video && m.frame_seconds.size() != m.parts.size())
        return make_error(ErrorCode::invalid_argument,
                          format("media item %zu (video): %zu frames but %zu timestamps", index,
                                 m.parts.size(), m.frame_seconds.size()));
    return Status::success();
}

// All parts of one kind, in prompt order, as one host tensor (a view when there is one part).
Tensor concat_kind(std::span<const MediaEmbeds> media, MediaKind k, int64_t hidden) {
    std::vector<const Tensor *> parts;
    int64_t rows = 0;
    for (const MediaEmbeds & m : media) {
        if (m.kind != k) continue;
        for (const Tensor & t : m.parts) {
            parts.push_back(&t);
            rows += t.dim(0);
        }
    }
    if (parts.size() == 1) return *parts[0];
    Tensor out = tensor_host(DType::f32, {rows, hidden});
    auto * dst = out.ptr<float>();
    for (const Tensor * t : parts) {
        std::memcpy(dst, t->data, t->nbytes());
        dst += t->numel();
    }
    return out;
}

// Block ids of spec text §8: one id per maximal run of image/video placeholders, −1 elsewhere.
std::vector<int32_t> vision_block_ids(const std::vector<MmTokenType> & types) {
    std::vector<int32_t> b(types.size(), -1);
    int32_t next = -1;
    for (size_t i = 0; i < types.size(); ++i) {
        const bool vision = types[i] == MmTokenType::image || types[i] == MmTokenType::video;
        if (!vision) continue;
        if (i == 0 || b[i - 1] < 0) ++next;
        b[i] = next;
    }
    return b;
}

Status check_tokens(const MmTokenIds & t, MediaKind k) {
    const bool ok = k == MediaKind::audio ? (t.audio >= 0 && t.boa >= 0 && t.eoa >= 0)
                                          : (placeholder_id(t, k) >= 0 && t.boi >= 0 && t.eoi >= 0);
    if (ok) return Status::success();
    return make_error(ErrorCode::invalid_argument,
                      format("the model config lacks the special token ids for %s input "
                             "(%s_token_id and its begin/end ids); this checkpoint cannot take it",
                             media_kind_name(k), media_kind_name(k)));
}

// Appends one media item's expansion (spec §1, §7) to `out`.
Status expand_item(const MediaEmbeds & m, const MmTokenIds & t, const TextToIds & tokenize,
                   std::vector<int32_t> & out) {
    GEMMA_TRY(check_tokens(t, m.kind));
    for (size_t p = 0; p < m.parts.size(); ++p) {
        const int64_t n = m.parts[p].dim(0);
        if (m.kind == MediaKind::video) {
            if (!tokenize)
                return make_error(ErrorCode::invalid_argument,
                                  "video prompts need a tokenizer for the frame timestamps");
            std::string text = (p > 0 ? " " : "") + video_timestamp_text(m.frame_seconds[p]) + " ";
            auto ts = tokenize(text);
            if (!ts) return ts.error();
            out.insert(out.end(), ts->begin(), ts->end());
        }
        const bool audio = m.kind == MediaKind::audio;
        out.push_back(audio ? t.boa : t.boi);
        out.insert(out.end(), size_t(n), placeholder_id(t, m.kind));
        out.push_back(audio ? t.eoa : t.eoi);
    }
    return Status::success();
}

}  // namespace

const char * media_kind_name(MediaKind k) {
    switch (k) {
        case MediaKind::image:
            return "image";
        case MediaKind::audio:
            return "audio";
        case MediaKind::video:
            return "video";
    }
    return "?";
}

MmTokenIds MmTokenIds::from_config(const Config & c) {
    MmTokenIds t;
    t.image = c.image_token_id;
    t.audio = c.audio_token_id;
    t.video = c.video_token_id;
    t.boi = c.boi_token_id;
    t.eoi = c.eoi_token_id;
    t.boa = c.boa_token_id;
    t.eoa = c.eoa_token_id;
    return t;
}

int64_t MediaEmbeds::n_tokens() const {
    int64_t n = 0;
    for (const Tensor & t : parts) n += t.ndim() > 0 ? t.dim(0) : 0;
    return n;
}

int64_t MultimodalPrompt::n_soft_tokens(MediaKind k) const {
    return std::count(types.begin(), types.end(), type_of(k));
}

std::string video_timestamp_text(double seconds) {
    const double s = std::max(0.0, seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d", int(std::floor(s / 60.0)), int(std::fmod(s, 60.0)));
    return buf;
}

Result<MultimodalPrompt> attach_mm_embeds(std::span<const int32_t> ids,
                                          std::span<const MediaEmbeds> media,
                                          const Config & config) {
    const MmTokenIds tok = MmTokenIds::from_config(config);
    const int64_t hidden = config.text.hidden_size;
    for (size_t i = 0; i < media.size(); ++i) GEMMA_TRY(check_parts(media[i], i, hidden));
    MultimodalPrompt p;
    p.ids.assign(ids.begin(), ids.end());
    p.types.assign(ids.size(), MmTokenType::text);
    int64_t placeholders[kKinds] = {0, 0, 0}, rows[kKinds] = {0, 0, 0};
    for (size_t i = 0; i < ids.size(); ++i) {
        const int k = placeholder_kind(tok, ids[i]);
        if (k < 0) continue;
        p.types[i] = type_of(MediaKind(k));
        ++placeholders[k];
    }
    for (const MediaEmbeds & m : media) rows[kind_index(m.kind)] += m.n_tokens();
    Tensor all[kKinds];
    for (int k = 0; k < kKinds; ++k) {
        if (placeholders[k] != rows[k])
            return make_error(ErrorCode::invalid_argument,
                              format("the prompt has %lld %s placeholder tokens but the %s inputs "
                                     "give %lld soft tokens; expand the markers with "
                                     "build_mm_prompt",
                                     (long long)placeholders[k], media_kind_name(MediaKind(k)),
                                     media_kind_name(MediaKind(k)), (long long)rows[k]));
        if (rows[k] > 0) all[k] = concat_kind(media, MediaKind(k), hidden);
    }
    int64_t used[kKinds] = {0, 0, 0};
    for (size_t i = 0; i < ids.size();) {
        const int k = placeholder_kind(tok, ids[i]);
        size_t j = i + 1;
        if (k < 0) {
            i = j;
            continue;
        }
        while (j < ids.size() && placeholder_kind(tok, ids[j]) == k) ++j;
        const int64_t n = int64_t(j - i);
        p.overrides.push_back({int(i), tensor_rows(all[k], used[k], n)});
        used[k] += n;
        i = j;
    }
    if (config.text.use_bidirectional_attention == "vision")
        p.block_ids = vision_block_ids(p.types);
    return p;
}

Result<MultimodalPrompt> build_mm_prompt(std::span<const int32_t> ids,
                                         std::span<const MediaEmbeds> media, const Config & config,
                                         const TextToIds & tokenize) {
    const MmTokenIds tok = MmTokenIds::from_config(config);
    const int64_t hidden = config.text.hidden_size;
    std::vector<int32_t> out;
    size_t next = 0;
    for (int32_t id : ids) {
        const int k = placeholder_kind(tok, id);
        if (k < 0) {
            out.push_back(id);
            continue;
        }
        if (next >= media.size())
            return make_error(ErrorCode::invalid_argument,
                              format("the prompt has more media markers than the %zu media inputs "
                                     "given (one <|image|>/<|audio|>/<|video|> per input)",
                                     media.size()));
        const MediaEmbeds & m = media[next];
        if (int(m.kind) != k)
            return make_error(
                ErrorCode::invalid_argument,
                format("media marker %zu is %s but input %zu is %s; give the inputs "
                       "in prompt order",
                       next, media_kind_name(MediaKind(k)), next, media_kind_name(m.kind)));
        GEMMA_TRY(check_parts(m, next, hidden));
        GEMMA_TRY(expand_item(m, tok, tokenize, out));
        ++next;
    }
    if (next != media.size())
        return make_error(ErrorCode::invalid_argument,
                          format("the prompt has %zu media markers but %zu media inputs were given",
                                 next, media.size()));
    return attach_mm_embeds(out, media, config);
}

Result<MmChunk> mm_prompt_chunk(const MultimodalPrompt & prompt, int begin, int end,
                                Backend * backend) {
    if (begin < 0 || end <= begin || size_t(end) > prompt.ids.size())
        return make_error(ErrorCode::invalid_argument,
                          format("prompt chunk [%d, %d) is empty or outside the %zu-token prompt",
                                 begin, end, prompt.ids.size()));
    MmChunk c;
    c.ids.assign(prompt.ids.begin() + begin, prompt.ids.begin() + end);
    if (!prompt.block_ids.empty())
        c.block_ids.assign(prompt.block_ids.begin() + begin, prompt.block_ids.begin() + end);
    for (const EmbedOverride & o : prompt.overrides) {
        const int64_t lo = std::max<int64_t>(o.row, begin);
        const int64_t hi = std::min<int64_t>(o.row + o.embeds.dim(0), end);
        if (lo >= hi) continue;
        Tensor rows = tensor_rows(o.embeds, lo - o.row, hi - lo);
        if (backend) {
            auto up = backend->upload(rows);
            if (!up) return up.error();
            rows = std::move(*up);
        }
        c.overrides.push_back({int(lo - begin), std::move(rows)});
    }
    return c;
}

Result<std::vector<int>> mm_prompt_chunk_ends(const MultimodalPrompt & prompt, int max_chunk) {
    const int n = int(prompt.ids.size());
    if (max_chunk <= 0)
        return make_error(ErrorCode::invalid_argument, "mm_prompt_chunk_ends: max_chunk <= 0");
    const std::vector<int32_t> & b = prompt.block_ids;
    std::vector<int> ends;
    for (int pos = 0; pos < n;) {
        int end = std::min(pos + max_chunk, n);
        if (!b.empty() && end < n && b[size_t(end)] >= 0 && b[size_t(end)] == b[size_t(end - 1)]) {
            int start = end - 1;
            while (start > 0 && b[size_t(start - 1)] == b[size_t(end)]) --start;
            if (start <= pos)
                return make_error(ErrorCode::invalid_argument,
                                  format("a bidirectional image block at token %d does not fit in "
                                         "chunks of %d tokens; raise the batch size or lower the "
                                         "image budget",
                                         start, max_chunk));
            end = start;
        }
        ends.push_back(end);
        pos = end;
    }
    return ends;
}

}  // namespace gemma::gemma4
