// processor_config.json parsing: the fixture's values, defaults, and refusals.
#include "media/processor_config.h"

#include <gtest/gtest.h>

#include "golden.h"

namespace gemma::media {
namespace {

TEST(ProcessorConfig, ReadsFixture) {
    auto c = load_processor_config(test::tiny_dir());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->image_max_soft_tokens, 70);  // tiny-gemma4/processor_config.json
    EXPECT_EQ(c->audio.n_mel, 128);
    EXPECT_EQ(c->audio.fft_length, 512);
    EXPECT_DOUBLE_EQ(c->audio.mel_floor, 0.001);
}

TEST(ProcessorConfig, DefaultsAndErrors) {
    auto d = parse_processor_config("{}", "inline");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->image_max_soft_tokens, 280);
    auto flat = parse_processor_config(R"({"max_soft_tokens": 1120})", "inline");
    ASSERT_TRUE(flat.ok());
    EXPECT_EQ(flat->image_max_soft_tokens, 1120);
    auto bad_budget =
        parse_processor_config(R"({"image_processor": {"max_soft_tokens": 300}})", "x");
    ASSERT_FALSE(bad_budget.ok());
    EXPECT_EQ(bad_budget.error().code, ErrorCode::unsupported);
    auto pre = parse_processor_config(R"({"feature_extractor": {"preemphasis": 0.97}})", "x");
    ASSERT_FALSE(pre.ok());
    EXPECT_NE(pre.error().message.find("preemphasis"), std::string::npos);
    auto type = parse_processor_config(R"({"feature_extractor": {"hop_length": "160"}})", "x");
    ASSERT_FALSE(type.ok());
    EXPECT_EQ(type.error().code, ErrorCode::corrupt_file);
    EXPECT_FALSE(parse_processor_config("[1,", "x").ok());
    auto missing = load_processor_config(test::tiny_dir() + "/nowhere");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace gemma::media
