// dlopen() with the engine's module search order (next to the program first) and errors as
// values that list every place looked at, so a missing module is reported, never a crash.
#include "core/dynlib.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <mutex>
#include <vector>

namespace gemma {
namespace {

// dlerror() is per thread but the message of a failed dlopen must be read before the next dl*
// call; the lock keeps the open and its error together when loaders race.
std::mutex & dl_mutex() {
    static std::mutex m;
    return m;
}

std::vector<std::string> candidates(const std::string & file) {
    if (file.find('/') != std::string::npos) return {file};
    std::vector<std::string> out;
    const std::string dir = dynlib_exe_dir();
    if (!dir.empty()) {
        out.push_back(dir + "/../lib/" + file);
        out.push_back(dir + "/" + file);
    }
    out.push_back(file);
    return out;
}

}  // namespace

std::string dynlib_exe_dir() {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "";
    const std::string exe(buf, size_t(n));
    const size_t slash = exe.rfind('/');
    return slash == std::string::npos ? "" : exe.substr(0, slash);
}

Result<DynLib> dynlib_open(const std::string & file) {
    std::lock_guard<std::mutex> lock(dl_mutex());
    std::string tried;
    for (const std::string & path : candidates(file)) {
        if (void * h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return DynLib{h, path};
        // dlerror() names the library that failed, which may be a dependency, not `path`.
        const char * why = dlerror();
        const std::string reason = why ? why : "unknown dlopen error";
        tried += "\n  " + (reason.rfind(path, 0) == 0 ? reason : path + ": " + reason);
    }
    return make_error(ErrorCode::not_found,
                      format("cannot load %s; tried:%s", file.c_str(), tried.c_str()));
}

void * dynlib_symbol_or_null(const DynLib & lib, const char * name) {
    if (lib.handle == nullptr) return nullptr;
    std::lock_guard<std::mutex> lock(dl_mutex());
    return dlsym(lib.handle, name);
}

}  // namespace gemma
