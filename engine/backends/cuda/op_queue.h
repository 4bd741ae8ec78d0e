// OpQueue: the CUDA backend's recorder of enqueued ops. Each op becomes a record (launch
// function + plain-data params); records are launched in segments of up to kSegmentOps, or
// earlier when the backend flushes (write, read, synchronize). A segment whose records match
// byte for byte one seen before is replayed as a CUDA graph: the first sighting runs eagerly, the
// second is captured, later ones replay. A decode step (same buffers, positions on the device)
// therefore costs a few graph launches instead of ~1000 kernel launches, while one-off work
// (prefill of a new length) never pays for a capture.
// Thread-compatible: driven by the backend's thread only.
#pragma once

#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "backends/cuda/ops/launch.h"
#include "core/status.h"

namespace gemma::cuda {

class OpQueue {
public:
    using LaunchFn = LaunchResult (*)(const void * params, gpuStream_t s, const LaunchEnv & env);
    // The largest params: a GEMV record with its folded row_fuse (launch.h MatmulParams).
    static constexpr size_t kMaxParams = 232;
    static constexpr size_t kSegmentOps = 64;  // default; env GEMMA_CUDA_SEGMENT overrides
    static constexpr size_t kMaxGraphs = 1024;

    OpQueue(gpuStream_t stream, const LaunchEnv & env, bool use_graphs,
            size_t segment_ops = kSegmentOps);
    // Profiling mode (env GEMMA_CUDA_PROFILE=1): every op runs eagerly between two events and
    // its GPU time is added to profile() under its record name. Slow; for finding hot ops.
    void set_profiling(bool on) { profiling_ = on; }
    bool profiling() const { return profiling_; }
    struct OpTime {
        size_t count = 0;
        double ms = 0;
    };
    const std::map<std::string, OpTime> & profile() const { return profile_; }
    ~OpQueue();
    OpQueue(const OpQueue &) = delete;
    OpQueue & operator=(const OpQueue &) = delete;

    // Records op `name` running F(params). Launches the segment when it is full; an error then
    // (device_error naming the op) comes back here.
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    Status push(const char * name, const P & params) {
        static_assert(std::is_trivially_copyable_v<P> && sizeof(P) <= kMaxParams);
        Record & r = pending_.emplace_back();
        set<P, F>(r, name, params);
        if (pending_.size() >= segment_ops_) return flush();
        return Status::success();
    }

    // Whether the last pending record runs F; if so copies its params to *out. Lets the backend
    // fuse an op into the one recorded just before it (fusion.h).
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    bool last(P * out) const {
        if (pending_.empty() || pending_.back().fn != &thunk<P, F>) return false;
        std::memcpy(out, pending_.back().params, sizeof(P));
        return true;
    }
    // Replaces the last pending record (which must exist) by op `name` running F(params).
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    void replace_last(const char * name, const P & params) {
        static_assert(std::is_trivially_copyable_v<P> && sizeof(P) <= kMaxParams);
        set<P, F>(pending_.back(), name, params);
        ++stats_.fused;
    }
    // As replace_last(), for a record that keeps its op and takes on more work (it also writes
    // the 16-bit x of the matmul recorded after it, fusion.h (round)): not a fused op.
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    void extend_last(const char * name, const P & params) {
        static_assert(std::is_trivially_copyable_v<P> && sizeof(P) <= kMaxParams);
        set<P, F>(pending_.back(), name, params);
    }
    // Counts a blas matmul that skips its rounding launch (fusion.h (round)).
    void count_x16_reuse() { ++stats_.x16_reused; }

    // As last(), for the record just before the last one (false when there is none pending: a
    // segment launch may have split them).
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    bool before_last(P * out) const {
        if (pending_.size() < 2) return false;
        const Record & r = pending_[pending_.size() - 2];
        if (r.fn != &thunk<P, F>) return false;
        std::memcpy(out, r.params, sizeof(P));
        return true;
    }
    // Replaces the last two pending records (which must exist) by one, op `name` running
    // F(params): the last record is folded into the one before it (one more fused op).
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    void replace_last_two(const char * name, const P & params) {
        static_assert(std::is_trivially_copyable_v<P> && sizeof(P) <= kMaxParams);
        pending_.pop_back();
        set<P, F>(pending_.back(), name, params);
        ++stats_.fused;
    }

    // The pending records counted from the back (0 = the last one), for the (discard) walk of
    // fusion.h: how many are pending; whether record i runs F (then its params into *out); and
    // its params replaced, same op and name (a producer that skips a store: not a fused op).
    size_t pending() const { return pending_.size(); }
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    bool at_back(size_t i, P * out) const {
        if (i >= pending_.size()) return false;
        const Record & r = pending_[pending_.size() - 1 - i];
        if (r.fn != &thunk<P, F>) return false;
        std::memcpy(out, r.params, sizeof(P));
        return true;
    }
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    void update_at_back(size_t i, const P & params) {
        static_assert(std::is_trivially_copyable_v<P> && sizeof(P) <= kMaxParams);
        Record & r = pending_[pending_.size() - 1 - i];
        set<P, F>(r, r.name, params);
    }
    // Counts f32 stores left out after a discard (fusion.h (discard)).
    void count_writes_elided(size_t n) { stats_.writes_elided += n; }
    void count_ffn_bf16() { ++stats_.ffn_bf16; }

    // Launches every pending record (does not wait for them).
    Status flush();
    bool empty() const { return pending_.empty(); }

    struct Stats {
        size_t eager_segments = 0, captured = 0, replayed = 0;
        size_t fused = 0;          // ops folded into the record before them
        size_t x16_reused = 0;     // blas / mmq matmuls that found x already rounded in scratch
        size_t writes_elided = 0;  // f32 outputs not stored: discarded unread (fusion.h)
        size_t ffn_bf16 = 0;       // gate/up GEMM pairs writing bf16 for the gelu (fusion.h)
        double flush_ms = 0;       // host time spent launching segments (hash, capture, launch)
    };
    Stats stats() const { return stats_; }

private:
    struct Record {
        LaunchFn fn;
        const char * name;
        uint64_t size;
        alignas(8) unsigned char params[kMaxParams];
    };
    struct Graph {
        std::vector<Record> records;
        gpuGraphExec_t exec = nullptr;
    };

    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    static LaunchResult thunk(const void * p, gpuStream_t s, const LaunchEnv & e) {
        return F(*static_cast<const P *>(p), s, e);
    }
    template <class P, LaunchResult (*F)(const P &, gpuStream_t, const LaunchEnv &)>
    static void set(Record & r, const char * name, const P & params) {
        std::memset(&r, 0, sizeof(Record));
        r.fn = &thunk<P, F>;
        r.name = name;
        r.size = uint32_t(sizeof(P));
        std::memcpy(r.params, &params, sizeof(P));
    }

    static bool same(const Record & a, const Record & b);
    uint64_t hash_pending() const;
    Status flush_pending();
    Status run_profiled();
    Status run_pending(bool capturing);
    Status capture_and_launch(uint64_t key);
    void clear_graphs();

    gpuStream_t stream_;
    LaunchEnv env_;
    bool use_graphs_;
    size_t segment_ops_;
    bool profiling_ = false;
    std::map<std::string, OpTime> profile_;
    std::vector<Record> pending_;
    std::unordered_map<uint64_t, Graph> graphs_;
    std::unordered_map<uint64_t, int> seen_;
    Stats stats_;
};

}  // namespace gemma::cuda
