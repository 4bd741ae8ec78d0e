// TensorSource: named tensors of a checkpoint (safetensors, sharded safetensors, GGUF), served as
// zero-copy views into memory-mapped files. Thread-safe after open (read-only).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace gemma::io {

struct TensorInfo {
    std::string name;
    DType dtype = DType::f32;
    Shape shape;
    int file_index = 0;   // which shard
    size_t offset = 0;    // byte offset of the first element inside the shard's file
    size_t nbytes = 0;
};

class TensorSource {
public:
    virtual ~TensorSource() = default;
    virtual std::vector<std::string> names() const = 0;          // sorted
    virtual const TensorInfo * find_or_null(const std::string & name) const = 0;
    // A host view into the mapped file; its owner keeps the mapping alive. not_found when absent.
    virtual Result<Tensor> get(const std::string & name) const = 0;
    // Same, but also checks dtype-independent shape; error names the tensor, both shapes, the file.
    Result<Tensor> get_checked(const std::string & name, const Shape & expected) const;
    // Human-readable origin for error messages (a path).
    virtual std::string describe() const = 0;
};

// Opens `path`: a .safetensors file, a model.safetensors.index.json, or a directory holding
// either (index preferred). Every header is validated (offsets in range, sizes match shapes and
// dtypes, no overlaps, no duplicates); errors are corrupt_file / not_found / unsupported.
Result<std::unique_ptr<TensorSource>> open_safetensors(const std::string & path);

}  // namespace gemma::io
