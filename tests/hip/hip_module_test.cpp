// The HIP build of the CUDA backend (engine/backends/hip, libgemma_backend_hip.so) is compiled by
// hipcc but never run here: no AMD GPU. These tests check what holds without one: the module
// loads with every symbol resolved, speaks this tree's module ABI, and reports "no device" as an
// Error value, never a crash.
#include <gtest/gtest.h>

#include <string>

#include "backends/cuda/cuda_module.h"
#include "core/dynlib.h"

namespace {

const std::string kModule = GEMMA_HIP_MODULE;  // $<TARGET_FILE:gemma_backend_hip>

gemma::DynLib open_module() {
    auto lib = gemma::dynlib_open(kModule);
    if (!lib.ok()) ADD_FAILURE() << lib.error().message;
    return lib.ok() ? *lib : gemma::DynLib{};
}

template <class Fn>
Fn entry_point(const gemma::DynLib & lib, const char * name) {
    return reinterpret_cast<Fn>(gemma::dynlib_symbol_or_null(lib, name));
}

}  // namespace

TEST(HipModule, LoadsWithEverySymbolResolved) {
    // dynlib_open uses RTLD_NOW: the HIP runtime and every kernel's host stub must resolve.
    gemma::DynLib lib = open_module();
    ASSERT_NE(lib.handle, nullptr);
    for (const char * name :
         {"gemma_cuda_module_abi", "gemma_cuda_module_create", "gemma_cuda_module_queue_stats",
          "gemma_cuda_module_device_available"})
        EXPECT_NE(gemma::dynlib_symbol_or_null(lib, name), nullptr) << name;
}

TEST(HipModule, AbiMatchesThisTree) {
    gemma::DynLib lib = open_module();
    ASSERT_NE(lib.handle, nullptr);
    auto abi = entry_point<GemmaCudaAbiFn>(lib, "gemma_cuda_module_abi");
    ASSERT_NE(abi, nullptr);
    gemma::cuda::CudaModuleAbi got{}, want = gemma::cuda::cuda_module_abi_expected();
    abi(&got);
    EXPECT_EQ(got.version, want.version);
    EXPECT_EQ(got.size_options, want.size_options);
    EXPECT_EQ(got.size_tensor, want.size_tensor);
    EXPECT_EQ(got.size_result, want.size_result);
    EXPECT_EQ(got.size_info, want.size_info);
}

TEST(HipModule, NoGpuIsADeviceErrorNotACrash) {
    gemma::DynLib lib = open_module();
    ASSERT_NE(lib.handle, nullptr);
    auto available = entry_point<GemmaCudaAvailableFn>(lib, "gemma_cuda_module_device_available");
    auto create = entry_point<GemmaCudaCreateFn>(lib, "gemma_cuda_module_create");
    ASSERT_NE(available, nullptr);
    ASSERT_NE(create, nullptr);
    if (available() != 0)
        GTEST_SKIP() << "an AMD GPU is visible: this test covers machines without";
    gemma::cuda::CudaOptions options;
    gemma::Result<std::unique_ptr<gemma::Backend>> out =
        gemma::make_error(gemma::ErrorCode::internal, "create() did not write its result");
    create(&options, &out);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, gemma::ErrorCode::device_error) << out.error().message;
    EXPECT_NE(out.error().message.find("no HIP device found"), std::string::npos)
        << out.error().message;
    EXPECT_NE(out.error().message.find("rocminfo"), std::string::npos) << out.error().message;
}
