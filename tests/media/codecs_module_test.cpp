// The codec modules (media/codecs.h) and core/dynlib: OpenCV is loaded from
// libgemma_media_{image,video}.so on first use, never linked into a program, and a missing or
// broken module is a clear error, not a crash (issue #3 memory, #7).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/dynlib.h"
#include "media/codecs.h"

namespace gemma::media {
namespace {

namespace fs = std::filesystem;

const std::string kCli = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli";
const std::string kTiny = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4";

struct RunResult {
    int exit_code = -1;
    bool signaled = false;
    std::string output;  // stdout + stderr
};

RunResult run(const std::string & cmd) {
    RunResult r;
    FILE * p = popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    const int status = pclose(p);
    r.signaled = WIFSIGNALED(status);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

bool contains(const std::string & s, const std::string & part) {
    return s.find(part) != std::string::npos;
}

TEST(DynLib, MissingModuleNamesEveryPlaceTried) {
    auto lib = dynlib_open("libgemma_no_such_module.so");
    ASSERT_FALSE(lib.ok());
    EXPECT_EQ(lib.error().code, ErrorCode::not_found);
    const std::string & msg = lib.error().message;
    EXPECT_TRUE(contains(msg, "cannot load libgemma_no_such_module.so")) << msg;
    // <exe dir>/../lib, <exe dir>, then the bare name; this test binary lives in build/tests.
    const std::string dir = dynlib_exe_dir();
    ASSERT_FALSE(dir.empty());
    EXPECT_TRUE(contains(msg, dir + "/../lib/libgemma_no_such_module.so")) << msg;
    EXPECT_TRUE(contains(msg, dir + "/libgemma_no_such_module.so")) << msg;
    EXPECT_TRUE(contains(msg, "No such file or directory")) << msg;  // dlerror()
}

TEST(DynLib, NotALibraryIsAnErrorWithTheLoadersReason) {
    const fs::path path =
        fs::temp_directory_path() / ("gemma_fake_" + std::to_string(getpid()) + ".so");
    std::ofstream(path) << std::string(256, 'x');  // long enough for the loader to read a header
    auto lib = dynlib_open(path.string());         // a path: opened as given, nothing searched
    fs::remove(path);
    ASSERT_FALSE(lib.ok());
    EXPECT_TRUE(contains(lib.error().message, path.string())) << lib.error().message;
    EXPECT_TRUE(contains(lib.error().message, "ELF")) << lib.error().message;  // invalid ELF header
}

TEST(DynLib, FindsTheImageModuleNextToTheProgram) {
    auto lib = dynlib_open(kImageModuleFile);
    ASSERT_TRUE(lib.ok()) << lib.error().message;
    EXPECT_EQ(lib->path, dynlib_exe_dir() + "/../lib/" + kImageModuleFile);
    EXPECT_NE(dynlib_symbol_or_null(*lib, "gemma_media_image_api"), nullptr);
    EXPECT_EQ(dynlib_symbol_or_null(*lib, "gemma_media_video_api"), nullptr);
}

TEST(CodecModules, LoadAndMatchThisBuildsAbi) {
    auto image = image_codec_api();
    ASSERT_TRUE(image.ok()) << image.error().message;
    auto video = video_codec_api();
    ASSERT_TRUE(video.ok()) << video.error().message;
    const CodecAbi want = codec_abi_expected();
    for (const CodecAbi * got : {&(*image)->abi, &(*video)->abi}) {
        EXPECT_EQ(got->version, want.version);
        EXPECT_EQ(got->size_image, want.size_image);
        EXPECT_EQ(got->size_frames, want.size_frames);
    }
    EXPECT_EQ(*image_codec_api(), *image);  // loaded once
}

// Issue #3: no program links OpenCV; it comes with the codec modules when media is decoded.
TEST(CodecModules, CliDoesNotLinkOpenCv) {
    ASSERT_TRUE(fs::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    RunResult r = run("ldd " + kCli);
    if (r.exit_code != 0) GTEST_SKIP() << "ldd is not usable here: " << r.output;
    EXPECT_TRUE(contains(r.output, "libc.so")) << r.output;  // a real dependency listing
    EXPECT_FALSE(contains(r.output, "opencv")) << r.output;
    RunResult m = run("ldd " + std::string(GEMMA_BIN_DIR) + "/../lib/" + kImageModuleFile);
    EXPECT_TRUE(contains(m.output, "libopencv_imgcodecs")) << m.output;
    EXPECT_FALSE(contains(m.output, "libopencv_videoio")) << m.output;  // images skip ffmpeg & co
}

// gemma_core is linked into each module hidden: its one exported function is its entry point, so
// the module's copies never interpose on the program's.
TEST(CodecModules, EachExportsOnlyItsEntryPoint) {
    for (const char * kind : {"image", "video"}) {
        const std::string so =
            std::string(GEMMA_BIN_DIR) + "/../lib/libgemma_media_" + kind + ".so";
        RunResult r = run("nm -D --defined-only " + so);
        if (r.exit_code != 0) GTEST_SKIP() << "nm is not usable here: " << r.output;
        std::string functions;  // " T " lines: exported code
        size_t at = 0;
        while ((at = r.output.find(" T ", at)) != std::string::npos) {
            const size_t end = r.output.find('\n', at);
            functions += r.output.substr(at + 3, end - at - 3) + " ";
            at = end;
        }
        EXPECT_EQ(functions, std::string("gemma_media_") + kind + "_api ") << r.output;
    }
}

// A program installed without its modules still runs; decoding an image fails with a message
// naming the module, and nothing crashes. The CLI is linked into a folder with no lib/ beside it.
TEST(CodecModules, MissingModuleIsAClearErrorInTheCli) {
    ASSERT_TRUE(fs::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    const fs::path dir = fs::path(GEMMA_BIN_DIR).parent_path() / "tests" /
                         ("no_codecs_" + std::to_string(getpid())) / "bin";
    fs::create_directories(dir);
    const fs::path cli = dir / "gemdesk-cli";
    std::error_code ec;
    fs::create_hard_link(kCli, cli, ec);  // /proc/self/exe then names this copy's folder
    if (ec) fs::copy_file(kCli, cli, fs::copy_options::overwrite_existing);
    const std::string verify = "env -u LD_LIBRARY_PATH " + cli.string() + " verify --model " +
                               kTiny + " --golden " + kTiny + "/golden.safetensors --cases ";
    RunResult image = run(verify + "image.pixel_values");
    RunResult text = run(verify + "text.logits");
    fs::remove_all(dir.parent_path());

    EXPECT_FALSE(image.signaled) << image.output;
    EXPECT_EQ(image.exit_code, 1) << image.output;
    EXPECT_TRUE(contains(image.output, "image.pixel_values       FAIL")) << image.output;
    EXPECT_TRUE(contains(image.output,
                         "image decoding needs libgemma_media_image.so next to the "
                         "program"))
        << image.output;
    EXPECT_TRUE(contains(image.output, "verify: 0 passed, 1 failed")) << image.output;
    EXPECT_EQ(text.exit_code, 0) << text.output;  // text needs no codec
    EXPECT_TRUE(contains(text.output, "verify: 1 passed, 0 failed")) << text.output;
}

}  // namespace
}  // namespace gemma::media
