// gemdesk-server's --kv-cache option (server/server_cli.h): the value reaches the service
// factory as a KV cache type; a bad one exits 2 with the choices before any service is made.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/server_cli.h"

namespace gemdesk::server {
namespace {

// Runs run_server_cli with `args`; the factory records its options and fails (so nothing
// listens and the call returns 2 at once).
int run(std::vector<std::string> args, std::vector<ServiceOptions> & seen) {
    args.insert(args.begin(), "gemdesk-server");
    std::vector<char *> argv;
    for (std::string & a : args) argv.push_back(a.data());
    return run_server_cli(int(argv.size()), argv.data(), [&](const ServiceOptions & o) {
        seen.push_back(o);
        return gemma::Result<std::shared_ptr<ChatService>>(
            gemma::make_error(gemma::ErrorCode::invalid_argument, "test factory: not serving"));
    });
}

TEST(ServerKvCache, ValueReachesTheFactory) {
    std::vector<ServiceOptions> seen;
    EXPECT_EQ(run({"--model", "m", "--kv-cache", "q8_0"}, seen), 2);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].kv_cache, gemma::DType::q8_0);
    EXPECT_EQ(run({"--model", "m", "--kv-cache", "bf16"}, seen), 2);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].kv_cache, gemma::DType::bf16);
    EXPECT_EQ(run({"--model", "m"}, seen), 2);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[2].kv_cache, gemma::DType::f32);  // the default
}

TEST(ServerKvCache, BadValueExitsBeforeTheService) {
    std::vector<ServiceOptions> seen;
    testing::internal::CaptureStderr();
    int code = run({"--model", "m", "--kv-cache", "q4"}, seen);
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(code, 2);
    EXPECT_TRUE(seen.empty());
    EXPECT_NE(err.find("unknown KV cache type 'q4'; use f32, bf16 or q8_0"), std::string::npos)
        << err;
}

}  // namespace
}  // namespace gemdesk::server
