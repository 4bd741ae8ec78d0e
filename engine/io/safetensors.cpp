// Safetensors header validation: every check the format allows, so a bad file becomes an error
// value naming the problem instead of a crash or a silent read past the end.
#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace gemma::io {
namespace {

using json = nlohmann::json;

Error corrupt(const MappedFile & file, const std::string & what) {
    return make_error(ErrorCode::corrupt_file,
                      format("%s: %s; the file is damaged or not a safetensors file, download it "
                             "again",
                             file.path().c_str(), what.c_str()));
}

// Parses the header JSON, rejecting duplicate top-level names (nlohmann would keep only one).
Result<json> parse_header_json(const MappedFile & file, const char * text, size_t len) {
    std::set<std::string> seen;
    std::string duplicate;
    json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json & parsed) {
        if (depth == 1 && event == json::parse_event_t::key) {
            std::string key = parsed.get<std::string>();
            if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
        }
        return true;
    };
    json header = json::parse(text, text + len, cb, /*allow_exceptions=*/false);
    if (header.is_discarded()) return corrupt(file, "header is not valid JSON");
    if (!duplicate.empty())
        return corrupt(file, format("duplicate tensor name '%s'", duplicate.c_str()));
    if (!header.is_object()) return corrupt(file, "header is not a JSON object");
    return header;
}

Result<Shape> parse_shape(const MappedFile & file, const std::string & name, const json & j) {
    if (!j.is_array())
        return corrupt(file, format("tensor '%s': shape is not an array", name.c_str()));
    Shape shape;
    int64_t numel = 1;
    for (const json & d : j) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t(1) << 40))
            return corrupt(file,
                           format("tensor '%s': bad dimension %s", name.c_str(), d.dump().c_str()));
        int64_t v = d.get<int64_t>();
        if (v != 0 && numel > (int64_t(1) << 50) / v)
            return corrupt(file, format("tensor '%s': shape too large", name.c_str()));
        numel *= v;
        shape.push_back(v);
    }
    return shape;
}

// One header entry -> TensorInfo with offsets relative to the data block.
Result<TensorInfo> parse_entry(const MappedFile & file, const std::string & name, const json & j) {
    if (!j.is_object())
        return corrupt(file, format("tensor '%s': entry is not an object", name.c_str()));
    auto dt = j.find("dtype");
    auto sh = j.find("shape");
    auto off = j.find("data_offsets");
    if (dt == j.end() || sh == j.end() || off == j.end() || !dt->is_string())
        return corrupt(file,
                       format("tensor '%s': needs dtype, shape and data_offsets", name.c_str()));
    auto dtype = safetensors_dtype(dt->get<std::string>());
    if (!dtype.ok())
        return make_error(ErrorCode::unsupported,
                          format("%s: tensor '%s': %s", file.path().c_str(), name.c_str(),
                                 dtype.error().message.c_str()));
    auto shape = parse_shape(file, name, *sh);
    if (!shape.ok()) return shape.error();
    if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
        return corrupt(file,
                       format("tensor '%s': data_offsets must be [begin, end]", name.c_str()));
    TensorInfo info;
    info.name = name;
    info.dtype = *dtype;
    info.shape = *shape;
    uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    if (end < begin)
        return corrupt(file, format("tensor '%s': data_offsets end < begin", name.c_str()));
    info.offset = size_t(begin);
    info.nbytes = size_t(end - begin);
    size_t expected = size_t(shape_numel(info.shape)) * dtype_block_bytes(info.dtype);
    if (info.nbytes != expected)
        return corrupt(file, format("tensor '%s': %zu bytes in data_offsets but %s %s needs %zu",
                                    name.c_str(), info.nbytes, dtype_name(info.dtype),
                                    shape_str(info.shape).c_str(), expected));
    return info;
}

// Checks ranges against the data block and that no two tensors overlap.
Status check_layout(const MappedFile & file, std::vector<TensorInfo> & infos, size_t data_size) {
    for (const TensorInfo & t : infos) {
        if (t.offset > data_size || t.nbytes > data_size - t.offset)
            return corrupt(file,
                           format("tensor '%s': bytes [%zu, %zu) run past the end of the data "
                                  "(%zu bytes; file truncated?)",
                                  t.name.c_str(), t.offset, t.offset + t.nbytes, data_size));
    }
    std::vector<const TensorInfo *> order;
    for (const TensorInfo & t : infos) order.push_back(&t);
    std::sort(order.begin(), order.end(),
              [](const TensorInfo * a, const TensorInfo * b) { return a->offset < b->offset; });
    for (size_t i = 1; i < order.size(); ++i) {
        const TensorInfo * a = order[i - 1];
        const TensorInfo * b = order[i];
        if (a->nbytes > 0 && b->nbytes > 0 && a->offset + a->nbytes > b->offset)
            return corrupt(
                file, format("tensors '%s' and '%s' overlap", a->name.c_str(), b->name.c_str()));
    }
    return Status::success();
}

}  // namespace

Result<DType> safetensors_dtype(const std::string & name) {
    if (name == "F32") return DType::f32;
    if (name == "F16") return DType::f16;
    if (name == "BF16") return DType::bf16;
    if (name == "I32") return DType::i32;
    if (name == "I64") return DType::i64;
    if (name == "U8") return DType::u8;
    static const char * known[] = {"F64",     "I8",      "I16",     "U16",     "U32",
                                   "U64",     "BOOL",    "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                   "F6_E2M3", "F6_E3M2", "F4",      "C64"};
    for (const char * k : known) {
        if (name == k)
            return make_error(ErrorCode::unsupported,
                              format("dtype %s is not supported (supported: F32, F16, BF16, I32, "
                                     "I64, U8); convert the checkpoint to bf16",
                                     name.c_str()));
    }
    return make_error(ErrorCode::unsupported,
                      format("unknown dtype '%s' (supported: F32, F16, BF16, "
                             "I32, I64, U8)",
                             name.c_str()));
}

Result<std::vector<TensorInfo>> parse_safetensors_header(const MappedFile & file, int file_index) {
    if (file.size() < 8)
        return corrupt(
            file, format("file is %zu bytes, shorter than the 8-byte header length", file.size()));
    uint64_t header_len = 0;
    std::memcpy(&header_len, file.data(), 8);  // little-endian hosts only (x86-64, arm64)
    if (header_len > kMaxSafetensorsHeader)
        return corrupt(file, format("header length %llu is larger than the %zu-byte limit",
                                    (unsigned long long)header_len, kMaxSafetensorsHeader));
    if (header_len > file.size() - 8)
        return corrupt(file, format("header length %llu runs past the end of the file (%zu bytes; "
                                    "truncated?)",
                                    (unsigned long long)header_len, file.size()));
    const char * text = reinterpret_cast<const char *>(file.data() + 8);
    auto header = parse_header_json(file, text, size_t(header_len));
    if (!header.ok()) return header.error();
    size_t data_start = 8 + size_t(header_len);
    std::vector<TensorInfo> infos;
    for (auto it = header->begin(); it != header->end(); ++it) {
        if (it.key() == "__metadata__") continue;
        auto info = parse_entry(file, it.key(), it.value());
        if (!info.ok()) return info.error();
        infos.push_back(std::move(*info));
    }
    GEMMA_TRY(check_layout(file, infos, file.size() - data_start));
    for (TensorInfo & t : infos) {
        t.offset += data_start;
        t.file_index = file_index;
    }
    return infos;
}

}  // namespace gemma::io
