// Tensor: a typed, shaped view of memory, plus an optional owner that keeps the memory alive
// (a mapped file, a heap buffer, a device buffer). Copying a Tensor copies the view, not the data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace gemma {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape & shape);  // "[40, 512]"
int64_t shape_numel(const Shape & shape);

enum class Where : uint8_t { host = 0, device = 1 };

struct Tensor {
    DType dtype = DType::f32;
    Shape shape;                    // outermost first (row-major, PyTorch order)
    void * data = nullptr;          // first element; host or device memory per `where`
    Where where = Where::host;
    std::shared_ptr<void> owner;    // keeps `data` alive; may be null for borrowed views

    int64_t numel() const { return shape_numel(shape); }
    int ndim() const { return int(shape.size()); }
    int64_t dim(int i) const { return shape[size_t(i < 0 ? i + ndim() : i)]; }
    size_t nbytes() const;
    bool empty() const { return data == nullptr; }

    template <class T> T * ptr() { return static_cast<T *>(data); }
    template <class T> const T * ptr() const { return static_cast<const T *>(data); }
};

// A new zero-filled host tensor that owns its memory (64-byte aligned).
Tensor tensor_host(DType dtype, Shape shape);
// A borrowed host view (no ownership).
Tensor tensor_view(DType dtype, Shape shape, void * data);
// Converts any float-like host tensor (f32/f16/bf16) to a new f32 host tensor.
Tensor tensor_to_f32(const Tensor & t);

}  // namespace gemma
