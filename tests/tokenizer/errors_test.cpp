// Missing, corrupt and unsupported tokenizer files give clear error values, never a crash.
#include <filesystem>
#include <fstream>
#include <random>

#include "test_util.h"

using namespace gemma::tok;
using namespace gemma::tok::test;
using gemma::ErrorCode;

namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with the fixture.
class TempDir : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("gemma_tok_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string write(const std::string & name, const std::string & bytes) {
        std::ofstream(dir_ / name, std::ios::binary) << bytes;
        return (dir_ / name).string();
    }
    std::string read_fixture(const std::string & file) {
        std::ifstream in(chat_tokenizer_path(file), std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    // The error of loading `path`; fails the test if loading succeeds.
    gemma::Error load_error(const std::string & path) {
        auto t = load_tokenizer_file(path);
        EXPECT_FALSE(t.ok()) << path << " loaded but should not have";
        return t.ok() ? gemma::Error{} : t.error();
    }
    fs::path dir_;
};

// A minimal valid tokenizer.json around the given model vocab/merges JSON.
std::string tiny_json(const std::string & model_fields) {
    return R"({"added_tokens": [], "normalizer": null, "pre_tokenizer": null,
      "decoder": {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}]},
      "model": {"type": "BPE", "unk_token": "<unk>", )" +
           model_fields + "}}";
}

}  // namespace

TEST_F(TempDir, MissingDirectoryOrFiles) {
    auto r = load_tokenizer((dir_ / "nope").string());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::not_found);

    r = load_tokenizer(dir_.string());  // exists, but holds no tokenizer
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::not_found);
    EXPECT_NE(r.error().message.find("neither tokenizer.json nor tokenizer.model"),
              std::string::npos)
        << r.error().message;

    const auto e = load_error((dir_ / "tokenizer.json").string());
    EXPECT_EQ(e.code, ErrorCode::not_found);
    EXPECT_NE(e.message.find("does not exist"), std::string::npos) << e.message;
}

TEST_F(TempDir, TruncatedTokenizerJson) {
    const std::string full = read_fixture("tokenizer.json");
    const auto e = load_error(write("tokenizer.json", full.substr(0, full.size() / 2)));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("not valid JSON"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(dir_.string()), std::string::npos) << "should name the file";
}

TEST_F(TempDir, TokenizerJsonWithWrongLayout) {
    auto e = load_error(write("tokenizer.json", R"({"model": {"type": "BPE"}})"));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("layout of a tokenizer.json"), std::string::npos) << e.message;

    e = load_error(write("tokenizer.json", R"([1, 2, 3])"));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
}

TEST_F(TempDir, MergeWithUnknownPieceIsCorrupt) {
    const auto e = load_error(write(
        "tokenizer.json",
        tiny_json(R"("vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3}, "merges": ["a b", "a x"])")));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("merge #1"), std::string::npos) << e.message;
}

TEST_F(TempDir, TinyHandMadeBpeWorks) {
    auto t = load_tokenizer_file(write(
        "tokenizer.json",
        tiny_json(
            R"("vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3}, "merges": [["a", "b"]], "fuse_unk": true)")));
    ASSERT_TRUE(t.ok()) << t.error().message;
    // No byte fallback: unknown characters become <unk>, consecutive ones fused.
    EXPECT_EQ(must_encode(**t, "abzzab"), (std::vector<TokenId>{3, 0, 3}));
}

TEST_F(TempDir, UnsupportedComponentsAreRefusedByName) {
    auto e = load_error(write("tokenizer.json", tiny_json(R"("vocab": {}, "merges": [])")));
    EXPECT_EQ(e.code, ErrorCode::unsupported) << "no unk and no byte fallback: " << e.message;

    std::string json = read_fixture("tokenizer.json");
    const std::string bpe = R"("type": "BPE")";
    json.replace(json.find(bpe), bpe.size(), R"("type": "WordPiece")");
    e = load_error(write("tokenizer.json", json));
    EXPECT_EQ(e.code, ErrorCode::unsupported);
    EXPECT_NE(e.message.find("WordPiece"), std::string::npos) << e.message;
}

TEST_F(TempDir, UnsupportedJsonFallsBackToTokenizerModel) {
    std::string json = read_fixture("tokenizer.json");
    const std::string bpe = R"("type": "BPE")";
    json.replace(json.find(bpe), bpe.size(), R"("type": "Unigram")");
    write("tokenizer.json", json);
    write("tokenizer.model", read_fixture("tokenizer.model"));
    auto r = load_tokenizer(dir_.string());
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_NE((*r)->source().find("tokenizer.model"), std::string::npos) << (*r)->source();
    // ids from golden_chat.json tokenize[0]
    EXPECT_EQ(must_encode(**r, "Hello world"),
              (std::vector<TokenId>{4017, 485, 343, 348, 291, 2808}));
}

TEST_F(TempDir, CorruptTokenizerModel) {
    const std::string full = read_fixture("tokenizer.model");
    auto e = load_error(write("tokenizer.model", full.substr(0, full.size() / 3)));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
    EXPECT_NE(e.message.find("SentencePiece"), std::string::npos) << e.message;

    std::mt19937 rng(7);
    std::string junk(4096, '\0');
    for (char & c : junk) c = static_cast<char>(rng());
    junk[0] = 0x0A;  // not '{', so it is taken for a SentencePiece model
    e = load_error(write("junk.model", junk));
    EXPECT_EQ(e.code, ErrorCode::corrupt_file);
}

TEST_F(TempDir, CorruptTokenizerConfig) {
    write("tokenizer.json", read_fixture("tokenizer.json"));
    write("tokenizer_config.json", "{\"bos_token\": ");
    auto r = load_tokenizer(dir_.string());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::corrupt_file);
    EXPECT_NE(r.error().message.find("tokenizer_config.json"), std::string::npos)
        << r.error().message;
}

TEST_F(TempDir, ConfigNamingAMissingPieceExplainsOnLookup) {
    write("tokenizer.json", read_fixture("tokenizer.json"));
    write("tokenizer_config.json", R"({"sot_token": "<|turn>", "image_token": "<|img|>"})");
    auto r = load_tokenizer(dir_.string());
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*(*r)->special_id("sot_token"), 5);
    auto img = (*r)->special_id("image_token");
    ASSERT_FALSE(img.ok());
    EXPECT_NE(img.error().message.find("<|img|>"), std::string::npos) << img.error().message;
}

TEST(Decode, OutOfRangeIdIsAnError) {
    auto tok = must_load(chat_tokenizer_path("tokenizer.json"));
    ASSERT_NE(tok, nullptr);
    auto r = tok->decode(std::vector<TokenId>{5, 4096});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("4096"), std::string::npos) << r.error().message;
}
