// The CUDA backend as a loadable module: programs find libgemma_backend_cuda.so next to them
// (<exe dir>/../lib), and a program that cannot find it gets a device_error naming the module and
// what to do, never a crash. Runs without a GPU (a GPU-less machine fails later, at device setup).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/registry.h"

namespace fs = std::filesystem;

namespace {

const std::string kCli = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli";
const std::string kTiny = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4";
constexpr const char * kNotLoaded = "cannot load the CUDA backend module";

// Runs `cmd` through the shell; exit code (-1 on a signal) and stdout + stderr.
std::pair<int, std::string> run_shell(const std::string & cmd) {
    std::string out;
    FILE * p = popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) return {-1, out};
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST(CudaModule, FoundNextToTheProgram) {
#if !GEMMA_HAS_CUDA
    GTEST_SKIP() << "built without the CUDA backend";
#endif
    // build/tests/test_backend_ops finds build/lib/libgemma_backend_cuda.so: creating the backend
    // either works (GPU present) or fails at device setup, never at loading the module.
    auto b = gemma::backend_create("cuda");
    if (b.ok()) return;
    EXPECT_EQ(b.error().code, gemma::ErrorCode::device_error);
    EXPECT_EQ(b.error().message.find(kNotLoaded), std::string::npos) << b.error().message;
}

TEST(CudaModule, MissingModuleIsAClearError) {
#if !GEMMA_HAS_CUDA
    GTEST_SKIP() << "built without the CUDA backend";
#endif
    ASSERT_TRUE(fs::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    // A copy of the program in a folder without ../lib, and no library path: nothing to load.
    fs::path dir = fs::temp_directory_path() / ("gemma_cuda_module_" + std::to_string(getpid()));
    fs::create_directories(dir / "bin");
    fs::copy_file(kCli, dir / "bin" / "gemdesk-cli", fs::copy_options::overwrite_existing);
    auto [rc, out] = run_shell("env -u LD_LIBRARY_PATH " + (dir / "bin" / "gemdesk-cli").string() +
                               " verify --model " + kTiny + " --golden " + kTiny +
                               "/golden.safetensors --backend cuda");
    fs::remove_all(dir);
    EXPECT_EQ(rc, 2) << out;  // verify: a model that cannot be loaded on this backend
    EXPECT_NE(out.find(kNotLoaded), std::string::npos) << out;
    EXPECT_NE(out.find("libgemma_backend_cuda.so"), std::string::npos) << out;
    EXPECT_NE(out.find("cpu backend"), std::string::npos) << out;
}

TEST(CudaModule, ProgramWithoutCudaBackendDoesNotMapCuda) {
    ASSERT_TRUE(fs::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    // The program's own link map: no CUDA runtime or cuBLAS unless a cuda backend is created.
    auto [rc, out] = run_shell("LD_TRACE_LOADED_OBJECTS=1 " + kCli);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("libc.so"), std::string::npos) << out;
    EXPECT_EQ(out.find("libcublas"), std::string::npos) << out;
    EXPECT_EQ(out.find("libcudart"), std::string::npos) << out;
}
