// OpQueue: segment launch, graph capture and replay (see op_queue.h).
#include "backends/cuda/op_queue.h"

#include <chrono>

namespace gemma::cuda {
namespace {

Error device_error(const char * what, const char * detail) {
    return make_error(ErrorCode::device_error,
                      format("cuda: %s failed: %s (the GPU may be out of memory or lost; "
                             "retry, or use another backend)",
                             what, detail));
}

// FNV-1a over 8-byte words (n a multiple of 8; records are zero-padded to that).
uint64_t mix(uint64_t h, const void * data, size_t n) {
    const unsigned char * p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    return h;
}

}  // namespace

OpQueue::OpQueue(gpuStream_t stream, const LaunchEnv & env, bool use_graphs, size_t segment_ops)
    : stream_(stream),
      env_(env),
      use_graphs_(use_graphs),
      segment_ops_(segment_ops < 1 ? 1 : segment_ops) {
    pending_.reserve(segment_ops_);
}

OpQueue::~OpQueue() { clear_graphs(); }

void OpQueue::clear_graphs() {
    for (auto & [key, g] : graphs_)
        if (g.exec) (void)gpuGraphExecDestroy(g.exec);
    graphs_.clear();
    seen_.clear();
}

bool OpQueue::same(const Record & a, const Record & b) {
    return a.fn == b.fn && a.size == b.size && std::memcmp(a.params, b.params, a.size) == 0;
}

uint64_t OpQueue::hash_pending() const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const Record & r : pending_) {
        h = mix(h, &r.fn, sizeof(r.fn));
        h = mix(h, r.params, (r.size + 7) / 8 * 8);
    }
    return h;
}

Status OpQueue::run_pending(bool capturing) {
    for (const Record & r : pending_) {
        if (LaunchResult e = r.fn(r.params, stream_, env_)) {
            if (capturing) {
                gpuGraph_t g = nullptr;
                (void)gpuStreamEndCapture(stream_, &g);
                if (g) (void)gpuGraphDestroy(g);
            }
            pending_.clear();
            return device_error(r.name, e);
        }
    }
    return Status::success();
}

Status OpQueue::capture_and_launch(uint64_t key) {
    if (graphs_.size() >= kMaxGraphs) clear_graphs();  // a new workload: start over
    gpuError_t e = gpuStreamBeginCapture(stream_, gpuStreamCaptureModeThreadLocal);
    if (e != gpuSuccess) return device_error("graph capture", gpuGetErrorString(e));
    GEMMA_TRY(run_pending(true));
    gpuGraph_t graph = nullptr;
    e = gpuStreamEndCapture(stream_, &graph);
    if (e != gpuSuccess) return device_error("graph capture", gpuGetErrorString(e));
    Graph g;
    e = gpu_graph_instantiate(&g.exec, graph);
    (void)gpuGraphDestroy(graph);
    if (e != gpuSuccess) return device_error("graph instantiate", gpuGetErrorString(e));
    e = gpuGraphLaunch(g.exec, stream_);
    if (e != gpuSuccess) {
        (void)gpuGraphExecDestroy(g.exec);
        return device_error("graph launch", gpuGetErrorString(e));
    }
    g.records = std::move(pending_);
    pending_ = {};
    pending_.reserve(segment_ops_);
    graphs_[key] = std::move(g);
    ++stats_.captured;
    return Status::success();
}

Status OpQueue::flush() {
    if (pending_.empty()) return Status::success();
    auto t0 = std::chrono::steady_clock::now();
    Status s = flush_pending();
    stats_.flush_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return s;
}

Status OpQueue::run_profiled() {
    std::vector<gpuEvent_t> ev(pending_.size() + 1, nullptr);
    Status s = Status::success();
    for (gpuEvent_t & e : ev)
        if (gpuEventCreate(&e) != gpuSuccess) s = device_error("event create", "profiling");
    for (size_t i = 0; s.ok() && i < pending_.size(); ++i) {
        if (i == 0) (void)gpuEventRecord(ev[0], stream_);
        if (LaunchResult e = pending_[i].fn(pending_[i].params, stream_, env_))
            s = device_error(pending_[i].name, e);
        (void)gpuEventRecord(ev[i + 1], stream_);
    }
    if (s.ok() && gpuEventSynchronize(ev.back()) == gpuSuccess)
        for (size_t i = 0; i < pending_.size(); ++i) {
            float ms = 0;
            (void)gpuEventElapsedTime(&ms, ev[i], ev[i + 1]);
            OpTime & t = profile_[pending_[i].name];
            ++t.count;
            t.ms += ms;
        }
    for (gpuEvent_t e : ev)
        if (e) (void)gpuEventDestroy(e);
    pending_.clear();
    ++stats_.eager_segments;
    return s;
}

Status OpQueue::flush_pending() {
    if (profiling_) return run_profiled();
    if (use_graphs_) {
        uint64_t key = hash_pending();
        auto it = graphs_.find(key);
        if (it != graphs_.end() && it->second.records.size() == pending_.size()) {
            bool match = true;
            for (size_t i = 0; i < pending_.size() && match; ++i)
                match = same(pending_[i], it->second.records[i]);
            if (match) {
                pending_.clear();
                gpuError_t e = gpuGraphLaunch(it->second.exec, stream_);
                if (e != gpuSuccess) return device_error("graph launch", gpuGetErrorString(e));
                ++stats_.replayed;
                return Status::success();
            }
        }
        if (seen_[key]++ >= 1 && it == graphs_.end()) return capture_and_launch(key);
        if (seen_.size() > 4 * kMaxGraphs) seen_.clear();
    }
    GEMMA_TRY(run_pending(false));
    pending_.clear();
    ++stats_.eager_segments;
    return Status::success();
}

}  // namespace gemma::cuda
