// Safetensors header parsing and validation: the format is an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw data block.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "io/tensor_source.h"

namespace gemma::io {

// Largest JSON header we accept (the format's reference reader uses the same 100 MB limit).
constexpr size_t kMaxSafetensorsHeader = 100u << 20;

// Maps a safetensors dtype string ("BF16", "F32", ...) to DType. unsupported names the dtype.
Result<DType> safetensors_dtype(const std::string & name);

// Parses and validates the header of a mapped file. Offsets in the result are absolute (from the
// start of the file). Errors (corrupt_file / unsupported) name the file and the offending tensor.
Result<std::vector<TensorInfo>> parse_safetensors_header(const MappedFile & file, int file_index);

}  // namespace gemma::io
