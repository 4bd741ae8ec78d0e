// MappedFile: a read-only memory mapping of a whole file. Checkpoint tensors are views into it
// (no copies); a Tensor keeps the mapping alive through its shared owner.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"

namespace gemma::io {

class MappedFile {
public:
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile & operator=(const MappedFile &) = delete;

    const unsigned char * data() const { return data_; }
    size_t size() const { return size_; }
    const std::string & path() const { return path_; }

private:
    friend Result<std::shared_ptr<MappedFile>> map_file(const std::string & path);
    MappedFile() = default;
    unsigned char * data_ = nullptr;
    size_t size_ = 0;
    std::string path_;
};

// Maps `path` read-only (MAP_PRIVATE). not_found when it does not exist; an empty file maps to
// size 0 with data() == nullptr.
Result<std::shared_ptr<MappedFile>> map_file(const std::string & path);

}  // namespace gemma::io
