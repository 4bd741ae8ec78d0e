// Safetensors reader: the fixture loads as zero-copy views; hand-made corrupt files written into a
// temp dir each give a clear error value (code + message naming the problem), never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/dtype.h"
#include "io/tensor_source.h"

using namespace gemma;
namespace fs = std::filesystem;

namespace {

const std::string kTiny = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4";

class TempDir {
public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("gemma_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string file(const std::string & name) const { return (path_ / name).string(); }
    const fs::path & path() const { return path_; }

private:
    static inline int counter_ = 0;
    fs::path path_;
};

void write_bytes(const std::string & path, const std::string & bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

// header_len (8 bytes LE) + header + data; `declared_len` overrides the length field.
std::string safetensors_bytes(const std::string & header, const std::string & data,
                              long long declared_len = -1) {
    uint64_t n = declared_len < 0 ? header.size() : uint64_t(declared_len);
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
    return out + header + data;
}

// Opens a file with that content and returns the error (the test fails if it opened).
Error open_error(const TempDir & dir, const std::string & bytes) {
    std::string path = dir.file("bad.safetensors");
    write_bytes(path, bytes);
    auto src = io::open_safetensors(path);
    EXPECT_FALSE(src.ok()) << "corrupt file was accepted";
    return src.ok() ? Error{} : src.error();
}

const std::string kGoodHeader =
    R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}})";

}  // namespace

TEST(Safetensors, FixtureLoadsZeroCopy) {
    auto src = io::open_safetensors(kTiny);
    ASSERT_TRUE(src.ok()) << src.error().message;
    auto t = (*src)->get("model.language_model.embed_tokens.weight");
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->dtype, DType::bf16);
    EXPECT_EQ(t->shape, (Shape{512, 64}));
    EXPECT_NE(t->owner, nullptr);
    const io::TensorInfo * info = (*src)->find_or_null("model.language_model.embed_tokens.weight");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->nbytes, 512u * 64u * 2u);
    // A view into the mapping: the bytes at the recorded offset of the mapped file.
    std::ifstream in(kTiny + "/model.safetensors", std::ios::binary);
    in.seekg(std::streamoff(info->offset));
    uint16_t first = 0;
    in.read(reinterpret_cast<char *>(&first), 2);
    EXPECT_EQ(first, t->ptr<uint16_t>()[0]);
    EXPECT_EQ((*src)->find_or_null("model.language_model.layers.4.self_attn.k_proj.weight"),
              nullptr);
}

TEST(Safetensors, TensorOutlivesSource) {
    Tensor t;
    {
        auto src = io::open_safetensors(kTiny + "/model.safetensors");
        ASSERT_TRUE(src.ok()) << src.error().message;
        t = *(*src)->get("model.language_model.norm.weight");
    }
    float sum = 0;
    for (int i = 0; i < 64; ++i) sum += bf16_to_f32(t.ptr<uint16_t>()[i]);
    EXPECT_GT(sum, 0.0f);  // norm weights are 1 +- 0.2 (fixtures README)
}

TEST(Safetensors, GoldenIntDtypes) {
    auto src = io::open_safetensors(kTiny + "/golden.safetensors");
    ASSERT_TRUE(src.ok()) << src.error().message;
    auto ids = (*src)->get("text.input_ids");
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(ids->dtype, DType::i32);
    EXPECT_EQ(ids->ptr<int32_t>()[0], 2);  // prompt starts with bos = 2 (fixtures README)
}

TEST(Safetensors, GetCheckedNamesShapes) {
    auto src = io::open_safetensors(kTiny);
    ASSERT_TRUE(src.ok());
    auto t = (*src)->get_checked("model.language_model.norm.weight", {65});
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("[64]"), std::string::npos) << t.error().message;
    EXPECT_NE(t.error().message.find("[65]"), std::string::npos) << t.error().message;
    auto missing = (*src)->get("nope");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(Safetensors, HandMadeGoodFileLoads) {
    TempDir dir;
    std::string path = dir.file("good.safetensors");
    write_bytes(path, safetensors_bytes(kGoodHeader, std::string(24, '\x01')));
    auto src = io::open_safetensors(path);
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ((*src)->names(), (std::vector<std::string>{"a", "b"}));
}

TEST(SafetensorsCorrupt, TooShortForLength) {
    TempDir dir;
    Error e = open_error(dir, std::string("\x10\x00\x00", 3));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("shorter than"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, HeaderLengthLargerThanFile) {
    TempDir dir;
    Error e = open_error(dir, safetensors_bytes(kGoodHeader, std::string(24, '\0'), 5000));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("header length"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, HugeHeaderLength) {
    TempDir dir;
    Error e = open_error(dir, safetensors_bytes(kGoodHeader, "", (1LL << 40)));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("limit"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, TruncatedData) {
    TempDir dir;
    Error e = open_error(dir, safetensors_bytes(kGoodHeader, std::string(20, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("past the end"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("'b'"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, InvalidJson) {
    TempDir dir;
    Error e = open_error(dir, safetensors_bytes(R"({"a":{"dtype":"F32",)", ""));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("not valid JSON"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, OffsetsOutOfRange) {
    TempDir dir;
    Error e = open_error(
        dir, safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}})",
                               std::string(8, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("past the end"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, OffsetsShapeMismatch) {
    TempDir dir;
    Error e = open_error(
        dir, safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                               std::string(8, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("needs 12"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, EndBeforeBegin) {
    TempDir dir;
    Error e = open_error(
        dir, safetensors_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})",
                               std::string(8, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
}

TEST(SafetensorsCorrupt, Overlap) {
    TempDir dir;
    Error e = open_error(
        dir,
        safetensors_bytes(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            std::string(12, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("overlap"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, UnsupportedDtype) {
    TempDir dir;
    Error e = open_error(
        dir, safetensors_bytes(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
                               std::string(8, '\0')));
    EXPECT_EQ(e.code, ErrorCode::unsupported);
    EXPECT_NE(e.message.find("F64"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, UnknownDtype) {
    TempDir dir;
    Error e = open_error(
        dir, safetensors_bytes(R"({"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}})",
                               std::string(1, '\0')));
    EXPECT_EQ(e.code, ErrorCode::unsupported);
    EXPECT_NE(e.message.find("unknown dtype 'Q9'"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("'a'"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, DuplicateName) {
    TempDir dir;
    Error e = open_error(
        dir,
        safetensors_bytes(
            R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
            std::string(2, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("duplicate tensor name 'a'"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, MissingFields) {
    TempDir dir;
    Error e = open_error(
        dir, safetensors_bytes(R"({"a":{"dtype":"U8","shape":[1]}})", std::string(1, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("data_offsets"), std::string::npos) << e.message;
}

TEST(SafetensorsCorrupt, NegativeDimension) {
    TempDir dir;
    Error e = open_error(
        dir, safetensors_bytes(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})",
                               std::string(1, '\0')));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("bad dimension"), std::string::npos) << e.message;
}

TEST(SafetensorsSharded, IndexLoadsAllShards) {
    TempDir dir;
    write_bytes(dir.file("s1.safetensors"),
                safetensors_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                  std::string(4, '\0')));
    write_bytes(dir.file("s2.safetensors"),
                safetensors_bytes(R"({"y":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})",
                                  std::string(4, '\0')));
    write_bytes(dir.file("model.safetensors.index.json"),
                R"({"metadata":{},"weight_map":{"x":"s1.safetensors","y":"s2.safetensors"}})");
    auto src = io::open_safetensors(dir.path().string());
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ((*src)->names(), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ((*src)->find_or_null("y")->file_index, 1);
    EXPECT_TRUE((*src)->get("y").ok());
}

TEST(SafetensorsSharded, MissingShard) {
    TempDir dir;
    write_bytes(dir.file("s1.safetensors"),
                safetensors_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                  std::string(4, '\0')));
    write_bytes(dir.file("model.safetensors.index.json"),
                R"({"weight_map":{"x":"s1.safetensors","y":"s2.safetensors"}})");
    auto src = io::open_safetensors(dir.path().string());
    ASSERT_FALSE(src.ok());
    EXPECT_EQ(src.error().code, ErrorCode::not_found);
    EXPECT_NE(src.error().message.find("s2.safetensors"), std::string::npos) << src.error().message;
    EXPECT_NE(src.error().message.find("missing"), std::string::npos) << src.error().message;
}

TEST(SafetensorsSharded, IndexNamesTensorNotInShard) {
    TempDir dir;
    write_bytes(dir.file("s1.safetensors"),
                safetensors_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                  std::string(4, '\0')));
    write_bytes(dir.file("model.safetensors.index.json"),
                R"({"weight_map":{"x":"s1.safetensors","z":"s1.safetensors"}})");
    auto src = io::open_safetensors(dir.path().string());
    ASSERT_FALSE(src.ok());
    EXPECT_EQ(src.error().code, ErrorCode::corrupt_file);
    EXPECT_NE(src.error().message.find("'z'"), std::string::npos) << src.error().message;
}

TEST(SafetensorsSharded, BadIndexJson) {
    TempDir dir;
    write_bytes(dir.file("model.safetensors.index.json"), "{ not json");
    auto src = io::open_safetensors(dir.path().string());
    ASSERT_FALSE(src.ok());
    EXPECT_EQ(src.error().code, ErrorCode::corrupt_file);
}

TEST(SafetensorsOpen, EmptyDirAndMissingPath) {
    TempDir dir;
    auto a = io::open_safetensors(dir.path().string());
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code, ErrorCode::not_found);
    auto b = io::open_safetensors(dir.file("nothing.safetensors"));
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().code, ErrorCode::not_found);
}
