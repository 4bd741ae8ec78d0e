// Stop token ids from generation_config.json / config.json (chat_stop_tokens.h).
#include "runtime/chat_stop_tokens.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

namespace gemma::chat {
namespace {

std::optional<std::string> read_file(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

bool valid_id(const nlohmann::json & v) {
    return v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= INT32_MAX;
}

Result<std::vector<int32_t>> ids_from(const nlohmann::json & value, const std::string & path) {
    std::vector<int32_t> ids;
    auto bad = [&] {
        return make_error(ErrorCode::corrupt_file,
                          path +
                              ": eos_token_id must be a token id or a list of "
                              "token ids, got " +
                              value.dump());
    };
    if (value.is_array()) {
        for (const auto & v : value) {
            if (!valid_id(v)) return bad();
            auto id = v.get<int32_t>();
            if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
        }
        if (ids.empty()) return bad();
    } else if (valid_id(value)) {
        ids.push_back(value.get<int32_t>());
    } else {
        return bad();
    }
    return ids;
}

}  // namespace

Result<std::vector<int32_t>> chat_stop_ids_read(const std::string & model_dir) {
    for (const char * name : {"generation_config.json", "config.json"}) {
        std::string path = model_dir + "/" + name;
        auto text = read_file(path);
        if (!text) continue;
        auto json = nlohmann::json::parse(*text, nullptr, false);
        if (json.is_discarded() || !json.is_object()) {
            return make_error(ErrorCode::corrupt_file, path + " is not a valid JSON object");
        }
        if (json.contains("eos_token_id") && !json["eos_token_id"].is_null())
            return ids_from(json["eos_token_id"], path);
        auto text_config = json.find("text_config");
        if (text_config != json.end() && text_config->is_object() &&
            text_config->contains("eos_token_id"))
            return ids_from((*text_config)["eos_token_id"], path);
    }
    return make_error(ErrorCode::not_found,
                      "no eos_token_id in " + model_dir +
                          "/generation_config.json or config.json; pass a Hugging "
                          "Face Gemma 4 model directory");
}

std::vector<int32_t> chat_stop_ids_merge(std::vector<int32_t> ids,
                                         const std::vector<int32_t> & required) {
    for (int32_t id : required) {
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    return ids;
}

}  // namespace gemma::chat
