// image_threads.h: image_thread_count honours a request, caps and shrinks the rest.
#include "media/image_threads.h"

#include <gtest/gtest.h>

namespace gemma::media {
namespace {

TEST(ImageThreads, CountHonoursRequestCapAndWork) {
    EXPECT_EQ(image_thread_count(3, 1, 1000), 3);   // tests pin it, even for tiny work
    EXPECT_EQ(image_thread_count(0, 10, 1000), 1);  // small image: the caller's thread only
    const int big = image_thread_count(0, int64_t(1) << 40, 1000);
    EXPECT_GE(big, 1);
    EXPECT_LE(big, kMaxImageThreads);
    EXPECT_LE(image_thread_count(0, 2500, 1000), 2);  // two threads' worth of work at most
}

}  // namespace
}  // namespace gemma::media
