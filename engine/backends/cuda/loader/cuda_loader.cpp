// Program-side CUDA API (cuda_backend.h): dlopen()s libgemma_backend_cuda.so on first use and
// forwards to its C entry points (cuda_module.h), so a program pays for cudart and cuBLAS only
// when it creates a "cuda*" backend. The module stays loaded until exit: backends, tensors and
// their deleters are code inside it.
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <mutex>
#include <string>

#include "backends/cuda/cuda_module.h"

namespace gemma::cuda {
namespace {

struct Module {
    GemmaCudaCreateFn create = nullptr;
    GemmaCudaStatsFn stats = nullptr;
    GemmaCudaAvailableFn available = nullptr;
    std::string error;  // why the module is unusable (empty when loaded)
};

// <dir of this executable>/../lib/<module>, or "" when /proc/self/exe cannot be read.
std::string module_next_to_exe() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "";
    std::string exe(buf, size_t(n));
    size_t slash = exe.rfind('/');
    if (slash == std::string::npos) return "";
    return exe.substr(0, slash) + "/../lib/" + kCudaModuleFile;
}

// Opens the first loadable candidate; `tried` collects each failure's dlerror().
void * open_module(std::string & tried) {
    std::string candidates[] = {module_next_to_exe(), kCudaModuleFile};
    for (const std::string & path : candidates) {
        if (path.empty()) continue;
        if (void * h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
        const char * why = dlerror();
        tried += "\n  " + (why ? std::string(why) : path + ": unknown error");
    }
    return nullptr;
}

bool abi_matches(void * h, std::string & why) {
    auto abi = reinterpret_cast<GemmaCudaAbiFn>(dlsym(h, "gemma_cuda_module_abi"));
    if (!abi) {
        why = "it has no gemma_cuda_module_abi entry point";
        return false;
    }
    CudaModuleAbi got{}, want = cuda_module_abi_expected();
    abi(&got);
    if (got.version != want.version || got.size_options != want.size_options ||
        got.size_tensor != want.size_tensor || got.size_result != want.size_result ||
        got.size_info != want.size_info) {
        why = format(
            "it was built from another version (module ABI %d, program ABI %d); rebuild "
            "both from the same tree",
            got.version, want.version);
        return false;
    }
    return true;
}

Module load() {
    Module m;
    std::string tried;
    void * h = open_module(tried);
    if (!h) {
        m.error = format(
            "cuda: cannot load the CUDA backend module %s; it is built with "
            "GEMMA_CUDA=ON and needs the CUDA libraries it links (cuBLAS). Tried:%s"
            "\nChoose the cpu backend, or install the module next to the program "
            "(<bin>/../lib) or on LD_LIBRARY_PATH",
            kCudaModuleFile, tried.c_str());
        return m;
    }
    std::string why;
    if (abi_matches(h, why)) {
        m.create = reinterpret_cast<GemmaCudaCreateFn>(dlsym(h, "gemma_cuda_module_create"));
        m.stats = reinterpret_cast<GemmaCudaStatsFn>(dlsym(h, "gemma_cuda_module_queue_stats"));
        m.available =
            reinterpret_cast<GemmaCudaAvailableFn>(dlsym(h, "gemma_cuda_module_device_available"));
        if (!m.create || !m.stats || !m.available) why = "an entry point is missing";
    }
    if (!why.empty()) {
        m = Module{};
        m.error = format("cuda: the CUDA backend module %s is unusable: %s", kCudaModuleFile,
                         why.c_str());
        dlclose(h);
    }
    return m;
}

const Module & loaded_module() {
    static std::once_flag once;
    static Module m;
    std::call_once(once, [] { m = load(); });
    return m;
}

}  // namespace

Result<std::unique_ptr<Backend>> make_cuda_backend(const CudaOptions & options) {
    const Module & m = loaded_module();
    if (!m.create) return make_error(ErrorCode::device_error, m.error);
    Result<std::unique_ptr<Backend>> out = make_error(ErrorCode::internal, "cuda: no result");
    m.create(&options, &out);
    return out;
}

Result<CudaQueueStats> cuda_queue_stats(Backend & backend) {
    const Module & m = loaded_module();
    if (!m.stats) return make_error(ErrorCode::device_error, m.error);
    Result<CudaQueueStats> out = make_error(ErrorCode::internal, "cuda: no result");
    m.stats(&backend, &out);
    return out;
}

bool cuda_device_available() {
    const Module & m = loaded_module();
    return m.available && m.available() != 0;
}

}  // namespace gemma::cuda
