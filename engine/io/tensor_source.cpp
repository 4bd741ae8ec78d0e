// open_safetensors(): single files, sharded checkpoints (model.safetensors.index.json) and model
// directories, all served as zero-copy views into the mapped files.
#include "io/tensor_source.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/safetensors.h"

namespace gemma::io {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class SafetensorsSource final : public TensorSource {
public:
    explicit SafetensorsSource(std::string origin) : origin_(std::move(origin)) {}

    Status add_file(const std::string & path) {
        auto file = map_file(path);
        if (!file.ok()) return file.error();
        auto infos = parse_safetensors_header(**file, int(files_.size()));
        if (!infos.ok()) return infos.error();
        for (TensorInfo & t : *infos) {
            if (tensors_.count(t.name))
                return make_error(
                    ErrorCode::corrupt_file,
                    format("%s: tensor '%s' appears in more than one shard (also in %s)",
                           path.c_str(), t.name.c_str(),
                           files_[size_t(tensors_[t.name].file_index)]->path().c_str()));
            tensors_[t.name] = std::move(t);
        }
        files_.push_back(std::move(*file));
        return Status::success();
    }

    std::vector<std::string> names() const override {
        std::vector<std::string> out;
        for (const auto & kv : tensors_) out.push_back(kv.first);
        return out;
    }

    const TensorInfo * find_or_null(const std::string & name) const override {
        auto it = tensors_.find(name);
        return it == tensors_.end() ? nullptr : &it->second;
    }

    Result<Tensor> get(const std::string & name) const override {
        const TensorInfo * info = find_or_null(name);
        if (info == nullptr)
            return make_error(ErrorCode::not_found,
                              format("tensor '%s' not found in %s; is this the "
                                     "right checkpoint?",
                                     name.c_str(), origin_.c_str()));
        const std::shared_ptr<MappedFile> & file = files_[size_t(info->file_index)];
        Tensor t;
        t.dtype = info->dtype;
        t.shape = info->shape;
        t.where = Where::host;
        t.data = const_cast<unsigned char *>(file->data()) + info->offset;
        t.owner = std::shared_ptr<void>(file, t.data);  // aliasing: keeps the mapping alive
        return t;
    }

    std::string describe() const override { return origin_; }

private:
    std::string origin_;
    std::vector<std::shared_ptr<MappedFile>> files_;
    std::map<std::string, TensorInfo> tensors_;
};

Result<std::string> read_text(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::not_found, format("cannot read '%s'", path.c_str()));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Sharded checkpoint: every shard named in weight_map is opened; each listed tensor must be in
// the shard the index names.
Result<std::unique_ptr<TensorSource>> open_index(const std::string & index_path) {
    auto text = read_text(index_path);
    if (!text.ok()) return text.error();
    json index = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
        !index["weight_map"].is_object())
        return make_error(ErrorCode::corrupt_file,
                          format("%s: not a safetensors index (needs a \"weight_map\" object)",
                                 index_path.c_str()));
    fs::path dir = fs::path(index_path).parent_path();
    auto source = std::make_unique<SafetensorsSource>(index_path);
    std::map<std::string, std::string> weight_map;
    std::vector<std::string> shards;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
        if (!it.value().is_string())
            return make_error(ErrorCode::corrupt_file,
                              format("%s: weight_map['%s'] is not a file name", index_path.c_str(),
                                     it.key().c_str()));
        std::string shard = it.value().get<std::string>();
        weight_map[it.key()] = shard;
        if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
    }
    for (const std::string & shard : shards) {
        std::string path = (dir / shard).string();
        if (!fs::exists(path))
            return make_error(ErrorCode::not_found,
                              format("shard '%s' listed in %s is missing; download the complete "
                                     "checkpoint",
                                     path.c_str(), index_path.c_str()));
        GEMMA_TRY(source->add_file(path));
    }
    for (const auto & kv : weight_map) {
        if (source->find_or_null(kv.first) == nullptr)
            return make_error(
                ErrorCode::corrupt_file,
                format("%s lists tensor '%s' in '%s', but that shard does not hold it",
                       index_path.c_str(), kv.first.c_str(), kv.second.c_str()));
    }
    return std::unique_ptr<TensorSource>(std::move(source));
}

Result<std::unique_ptr<TensorSource>> open_single(const std::string & path) {
    auto source = std::make_unique<SafetensorsSource>(path);
    GEMMA_TRY(source->add_file(path));
    return std::unique_ptr<TensorSource>(std::move(source));
}

}  // namespace

Result<Tensor> TensorSource::get_checked(const std::string & name, const Shape & expected) const {
    auto t = get(name);
    if (!t.ok()) return t;
    if (t->shape != expected)
        return make_error(ErrorCode::corrupt_file,
                          format("tensor '%s' in %s has shape %s, expected %s; the checkpoint does "
                                 "not match its config.json",
                                 name.c_str(), describe().c_str(), shape_str(t->shape).c_str(),
                                 shape_str(expected).c_str()));
    return t;
}

Result<std::unique_ptr<TensorSource>> open_safetensors(const std::string & path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        fs::path dir(path);
        if (fs::exists(dir / "model.safetensors.index.json"))
            return open_index((dir / "model.safetensors.index.json").string());
        if (fs::exists(dir / "model.safetensors"))
            return open_single((dir / "model.safetensors").string());
        return make_error(ErrorCode::not_found,
                          format("no model.safetensors or model.safetensors.index.json in '%s'; "
                                 "point --model at a Hugging Face checkpoint directory",
                                 path.c_str()));
    }
    if (!fs::exists(path, ec))
        return make_error(ErrorCode::not_found, format("'%s' does not exist", path.c_str()));
    if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) return open_index(path);
    return open_single(path);
}

}  // namespace gemma::io
