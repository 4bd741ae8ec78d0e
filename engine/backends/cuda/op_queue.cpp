// OpQueue: segment launch, graph capture and replay (see op_queue.h).
#include "backends/cuda/op_queue.h"

namespace gemma::cuda {
namespace {

Error device_error(const char * what, const char * detail) {
    return make_error(ErrorCode::device_error,
                      format("cuda: %s failed: %s (the GPU may be out of memory or lost; "
                             "retry, or use another backend)",
                             what, detail));
}

uint64_t mix(uint64_t h, const void * data, size_t n) {
    const unsigned char * p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;  // FNV-1a
    return h;
}

}  // namespace

OpQueue::OpQueue(gpuStream_t stream, const LaunchEnv & env, bool use_graphs)
    : stream_(stream), env_(env), use_graphs_(use_graphs) {
    pending_.reserve(kSegmentOps);
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
        h = mix(h, r.params, r.size);
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
    pending_.reserve(kSegmentOps);
    graphs_[key] = std::move(g);
    ++stats_.captured;
    return Status::success();
}

Status OpQueue::flush() {
    if (pending_.empty()) return Status::success();
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
