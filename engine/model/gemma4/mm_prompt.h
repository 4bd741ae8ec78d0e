// Multimodal prompt assembly for the Gemma 4 text decoder (spec gemma4-multimodal §1, §6, §7;
// gemma4-text §5.4, §8): expands the bare media markers of a tokenised prompt into BOI/EOI- and
// BOA/EOA-wrapped placeholder runs, scatters encoder soft tokens onto them as EmbedOverride rows
// and computes the bidirectional-vision block ids when the checkpoint asks for them.
//
// The runtime's use, per request:
//   1. tokenize the rendered chat prompt: each image/audio/video is one bare marker id
//      (<|image|>, <|audio|>, <|video|>) at its place;
//   2. encode every media item (mm_media.h; through a media::MediaCache) into a MediaEmbeds;
//   3. build_mm_prompt(ids, media, config, tokenize) -> MultimodalPrompt;
//   4. for each [begin, end) of mm_prompt_chunk_ends(prompt, max_chunk): TextModel::forward on
//      mm_prompt_chunk(prompt, begin, end, backend).input(...).
// Pure functions; thread-safe. Tensors are shared (never copied once built).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/backend.h"
#include "model/gemma4/config.h"
#include "model/gemma4/text.h"

namespace gemma::gemma4 {

enum class MediaKind { image, audio, video };
const char * media_kind_name(MediaKind k);

// mm_token_type_ids values (spec §1): what a prompt position holds.
enum class MmTokenType : int8_t { text = 0, image = 1, video = 2, audio = 3 };

// The special ids the assembly needs; from config.json (image_token_id, boi_token_id, ...).
struct MmTokenIds {
    int32_t image = -1, audio = -1, video = -1;  // placeholders (also the bare markers)
    int32_t boi = -1, eoi = -1, boa = -1, eoa = -1;
    static MmTokenIds from_config(const Config & config);
};

// One media item's encoder output, in prompt order.
struct MediaEmbeds {
    MediaKind kind = MediaKind::image;
    // Host f32 tensors [n_i, text_hidden]: one for an image; one per clip for audio (clips over
    // 30 s are split, each gets its own BOA … EOA span); one per sampled frame for video (each its
    // own "MM:SS " BOI … EOI span).
    std::vector<Tensor> parts;
    std::vector<double> frame_seconds;  // video only: timestamp of each part, in seconds

    int64_t n_tokens() const;  // soft tokens over all parts
};

// Text -> ids without special-token parsing or BOS (the runtime passes its tokenizer); used for
// the video frame timestamps.
using TextToIds = std::function<Result<std::vector<int32_t>>(const std::string & text)>;

struct MultimodalPrompt {
    std::vector<int32_t> ids;        // expanded; placeholder ids kept at soft-token rows
    std::vector<MmTokenType> types;  // [ids.size()] mm_token_type_ids
    // [ids.size()] when the config sets use_bidirectional_attention "vision" (spec text §8):
    // 0, 1, 2, … per maximal run of image/video placeholders, −1 elsewhere. Empty otherwise
    // (E2B/E4B: every token causal).
    std::vector<int32_t> block_ids;
    // Soft-token runs: rows index `ids`; embeds are host f32 [k, text_hidden] views.
    std::vector<EmbedOverride> overrides;

    int64_t n_soft_tokens(MediaKind k) const;
};

// "MM:SS" for a video frame timestamp (spec §7: int(ts // 60), int(ts % 60), two digits each).
std::string video_timestamp_text(double seconds);

// Expands `ids`, which hold one bare marker per media item (the image/audio/video token id), in
// the order and kinds of `media`: image -> BOI + n × image + EOI; audio -> per clip
// BOA + n × audio + EOA; video -> per frame "MM:SS " + BOI + n × video + EOI, frames joined by a
// space (tokenize turns the timestamp text into ids; required only for video). Errors
// (invalid_argument): marker count or kinds differ from `media`, a soft-token width other than
// text hidden, video without tokenize or with a timestamp per frame missing, config lacking the
// special ids of a kind used.
Result<MultimodalPrompt> build_mm_prompt(std::span<const int32_t> ids,
                                         std::span<const MediaEmbeds> media, const Config & config,
                                         const TextToIds & tokenize = {});

// For prompts whose placeholder runs are already expanded (e.g. the fixture's mm.input_ids):
// scatters the soft tokens in sequence order, per kind (the k-th image placeholder takes the k-th
// row of all image parts concatenated, spec §6.1). Errors (invalid_argument): placeholder count of
// a kind differs from its soft-token rows (the reference model's check), bad widths.
Result<MultimodalPrompt> attach_mm_embeds(std::span<const int32_t> ids,
                                          std::span<const MediaEmbeds> media,
                                          const Config & config);

// One TextModel::forward call's worth of a prompt: rows [begin, end), overrides re-based to the
// chunk and (when a backend is given) uploaded to it. Keeps the data ForwardInput points into.
struct MmChunk {
    std::vector<int32_t> ids, block_ids;
    std::vector<EmbedOverride> overrides;
    ForwardInput input(bool all_logits) const { return {ids, block_ids, all_logits, overrides}; }
};
// Errors: invalid_argument for an empty or out-of-range slice; the backend's upload errors.
Result<MmChunk> mm_prompt_chunk(const MultimodalPrompt & prompt, int begin, int end,
                                Backend * backend = nullptr);

// Chunk ends (exclusive, increasing, last = ids.size()) at most max_chunk apart that never cut a
// bidirectional block, since a query sees later tokens of its image only within its own chunk.
// Errors: invalid_argument when a block is longer than max_chunk (raise the batch size).
Result<std::vector<int>> mm_prompt_chunk_ends(const MultimodalPrompt & prompt, int max_chunk);

}  // namespace gemma::gemma4
