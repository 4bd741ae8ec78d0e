// Audio decoding and resampling: containers written here with libsndfile (WAV, FLAC, Ogg, MP3
// when the build has it), mono mixing, 16 kHz resampling, and clear errors for bad input.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "golden.h"
#include "media/audio.h"
#include "media/audio_split.h"

namespace gemma::media {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Writes interleaved float frames with libsndfile and returns the file's bytes.
std::vector<uint8_t> write_audio(const std::vector<float> & frames, int channels, int rate,
                                 int format) {
    // Unique per process and call: ctest runs tests of this file in parallel processes.
    static int counter = 0;
    std::string path = ::testing::TempDir() + "gemdesk_audio_" + std::to_string(getpid()) + "_" +
                       std::to_string(counter++) + ".bin";
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE * f = sf_open(path.c_str(), SFM_WRITE, &info);
    EXPECT_NE(f, nullptr) << sf_strerror(nullptr);
    if (!f) return {};
    sf_writef_float(f, frames.data(), sf_count_t(frames.size() / size_t(channels)));
    sf_close(f);
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    std::remove(path.c_str());
    return bytes;
}

// Stereo 440 Hz: left amplitude 0.4, right 0.2 (in phase), so the mono mix has amplitude 0.3.
std::vector<float> stereo_tone(int rate, double seconds) {
    std::vector<float> v;
    for (int i = 0; i < int(rate * seconds); ++i) {
        double s = std::sin(2.0 * kPi * 440.0 * i / rate);
        v.push_back(float(0.4 * s));
        v.push_back(float(0.2 * s));
    }
    return v;
}

double rms(const std::vector<float> & x, size_t from, size_t to) {
    double s = 0.0;
    for (size_t i = from; i < to; ++i) s += double(x[i]) * x[i];
    return std::sqrt(s / double(to - from));
}

// Rising zero crossings per second: the dominant frequency of a clean tone.
double tone_hz(const std::vector<float> & x, int rate) {
    int n = 0;
    for (size_t i = 1; i < x.size(); ++i) n += x[i - 1] < 0.0f && x[i] >= 0.0f;
    return n * double(rate) / double(x.size());
}

void expect_tone(const std::vector<uint8_t> & bytes, const char * what, double rms_tol) {
    auto a = audio_decode_16k(bytes, what);
    ASSERT_TRUE(a.ok()) << what << ": " << a.error().message;
    EXPECT_EQ(a->sample_rate, 16000);
    EXPECT_NEAR(a->seconds(), 1.0, 0.06) << what;  // lossy codecs add encoder delay/padding
    const size_t n = a->samples.size();
    EXPECT_NEAR(rms(a->samples, n / 4, 3 * n / 4), 0.3 / std::sqrt(2.0), rms_tol) << what;
    EXPECT_NEAR(tone_hz(a->samples, 16000), 440.0, 5.0) << what;
}

TEST(AudioDecode, WavStereo44kToMono16k) {
    auto bytes = write_audio(stereo_tone(44100, 1.0), 2, 44100, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    auto raw = audio_decode(bytes, "tone.wav");
    ASSERT_TRUE(raw.ok()) << raw.error().message;
    EXPECT_EQ(raw->sample_rate, 44100);
    EXPECT_EQ(raw->samples.size(), 44100u);
    expect_tone(bytes, "wav", 1e-3);
    auto a = audio_decode_16k(bytes);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->samples.size(), 16000u);  // ceil(44100 · 16000 / 44100)
}

TEST(AudioDecode, FlacAndOgg) {
    expect_tone(write_audio(stereo_tone(48000, 1.0), 2, 48000, SF_FORMAT_FLAC | SF_FORMAT_PCM_16),
                "flac", 1e-3);
    expect_tone(write_audio(stereo_tone(48000, 1.0), 2, 48000, SF_FORMAT_OGG | SF_FORMAT_VORBIS),
                "ogg", 0.02);
}

TEST(AudioDecode, Mp3WhenLibsndfileHasIt) {
    std::printf("libsndfile: %s, MP3 decoding: %s\n", audio_backend_version().c_str(),
                audio_can_decode_mp3() ? "yes" : "no");
    if (!audio_can_decode_mp3()) GTEST_SKIP() << "this libsndfile was built without MPEG support";
    expect_tone(
        write_audio(stereo_tone(44100, 1.0), 2, 44100, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III),
        "mp3", 0.02);
}

TEST(AudioDecode, FixtureWav) {
    auto a = audio_load(test::tiny_dir() + "/audio.wav");
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_EQ(a->sample_rate, 16000);
    EXPECT_EQ(a->samples.size(), 36800u);  // golden.json: 2.3 s
}

TEST(AudioDecode, EmptyAndCorruptAreClearErrors) {
    auto e = audio_decode({}, "x.wav");
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(e.error().message.find("empty"), std::string::npos);

    std::vector<uint8_t> garbage(1000);
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = uint8_t(i * 37 + 11);
    auto g = audio_decode(garbage, "noise.bin");
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().code, ErrorCode::unsupported);
    EXPECT_NE(g.error().message.find("noise.bin"), std::string::npos);

    auto wav = write_audio(stereo_tone(16000, 0.5), 2, 16000, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    std::vector<uint8_t> header_cut(wav.begin(), wav.begin() + 20);
    EXPECT_FALSE(audio_decode(header_cut).ok());

    auto silent = write_audio({}, 1, 16000, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    auto s = audio_decode(silent, "none.wav");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find("no samples"), std::string::npos);

    EXPECT_FALSE(audio_load(test::tiny_dir() + "/missing.wav").ok());
}

TEST(AudioDecode, OverlongAudioIsRefused) {
    // 1000 Hz 8-bit: 3,700,000 samples is 3700 s, over the one-hour limit, in a 3.7 MB file.
    std::vector<float> quiet(3700000, 0.0f);
    auto bytes = write_audio(quiet, 1, 1000, SF_FORMAT_WAV | SF_FORMAT_PCM_U8);
    auto r = audio_decode(bytes, "long.wav");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("3700 s"), std::string::npos) << r.error().message;
}

TEST(AudioSplit, NinetyFiveSecondsCutInTheGaps) {
    // 95 s of 16 kHz noise-like tone with 0.3 s silences centred at 27 s, 55 s and 84 s.
    const int rate = 16000;
    std::vector<float> x(size_t(95 * rate));
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = float(0.3 * std::sin(0.37 * double(i)) * std::sin(0.001 * double(i)) + 0.05);
    const double gaps[] = {27.0, 55.0, 84.0};
    for (double g : gaps) {
        for (int64_t i = int64_t((g - 0.15) * rate); i < int64_t((g + 0.15) * rate); ++i)
            x[size_t(i)] = 0.0f;
    }
    auto chunks = audio_split(x);
    ASSERT_EQ(chunks.size(), 4u);
    EXPECT_EQ(chunks.front().begin, 0);
    EXPECT_EQ(chunks.back().end, int64_t(x.size()));
    for (size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_LE(chunks[i].end - chunks[i].begin, 480000) << "chunk " << i;
        if (i) {
            EXPECT_EQ(chunks[i].begin, chunks[i - 1].end);
        }
    }
    for (size_t i = 0; i < 3; ++i) {
        double cut_s = double(chunks[i].end) / rate;
        EXPECT_NEAR(cut_s, gaps[i], 0.15) << "cut " << i;
    }
    EXPECT_EQ(audio_split(std::vector<float>(480000, 0.1f)).size(), 1u);
}

}  // namespace
}  // namespace gemma::media
