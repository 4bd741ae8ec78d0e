// Stop token ids for chat generation (spec §1.3): Gemma 4 must stop on <eos>, <turn|> and
// <|tool_response>. The ids come from the checkpoint's generation_config.json (`eos_token_id`,
// an int or a list), never from hard-coded numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace gemma::chat {

// Reads MODEL_DIR/generation_config.json's eos_token_id (int or list of ints), falling back to
// config.json (top level, then text_config) when generation_config.json is absent.
// Returns the ids in file order, duplicates removed.
// Errors: not_found (no file has eos_token_id), corrupt_file (malformed JSON, or an
// eos_token_id that is not a non-negative int / list of them).
Result<std::vector<int32_t>> chat_stop_ids_read(const std::string & model_dir);

// `ids` plus every id in `required` it lacks (e.g. <turn|> and <|tool_response> resolved by the
// tokenizer, for exported configs that collapsed eos_token_id to a single <eos>).
std::vector<int32_t> chat_stop_ids_merge(std::vector<int32_t> ids,
                                         const std::vector<int32_t> & required);

}  // namespace gemma::chat
