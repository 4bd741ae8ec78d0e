// The media worker's audio on a backend (MediaWorkerOptions::audio_backend): the soft tokens it
// prepares for audio.wav match the reference's audio.soft_tokens on the backend path (cpu-ref
// here; the GPU test does cuda), and a backend that cannot be created falls back to the CPU
// path instead of losing audio input.
#include <gtest/gtest.h>

#include "media_test_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

Result<std::unique_ptr<MediaWorker>> load_worker(const std::string & audio_backend,
                                                 const io::TensorSource & weights) {
    auto cfg = gemma4::load_config(kTiny);
    if (!cfg.ok()) return cfg.error();
    MediaWorkerOptions o;
    o.audio_mask = gemma4::AudioMaskMode::hf_eager;  // the fixture's reference mask
    o.audio_backend = audio_backend;
    return MediaWorker::load(kTiny, *cfg, weights, o);
}

// The audio soft tokens the worker prepares for a bos + audio-marker prompt.
Result<Tensor> prepared_audio(MediaWorker & w) {
    auto cfg = gemma4::load_config(kTiny);
    if (!cfg.ok()) return cfg.error();
    MediaRequest r;
    r.tokens = greedy_request({2, cfg->audio_token_id}, 1);
    r.media = {fixture_media(gemma4::MediaKind::audio, "audio.wav")};
    auto t = w.prepare(std::move(r));
    if (!t.ok()) return t.error();
    if (t->media.size() != 1) return make_error(ErrorCode::internal, "expected one audio part");
    return t->media[0].embeds;
}

// The worker's audio soft tokens against the reference's. From the wav (/32768 vs the fixture's
// /32767 PCM): the fp32 tolerance, as audio_encoder_test.
void expect_golden_audio(MediaWorker & w) {
    Golden g = open_golden(kTiny);
    auto soft = prepared_audio(w);
    ASSERT_TRUE(soft.ok()) << soft.error().message;
    Tensor ref = g.get("audio.soft_tokens");
    ASSERT_EQ(soft->shape, ref.shape);
    EXPECT_LT(rel_error(soft->ptr<float>(), ref.ptr<float>(), size_t(ref.numel())), kTol);
}

TEST(MediaAudioBackend, WorkerEncodesAudioOnTheNamedBackend) {
    auto w = io::open_safetensors(kTiny + "/model.safetensors");
    ASSERT_TRUE(w.ok()) << w.error().message;
    auto worker = load_worker("cpu-ref", **w);
    ASSERT_TRUE(worker.ok()) << worker.error().message;
    EXPECT_TRUE((*worker)->audio_on_backend());
    EXPECT_TRUE((*worker)->has_audio());
    expect_golden_audio(**worker);
}

// Both towers on the same backend name share one instance of it, and both still reproduce the
// reference's soft tokens from the fixture's mixed image + audio prompt.
TEST(MediaAudioBackend, BothTowersShareTheWorkersBackendInstance) {
    Golden g = open_golden(kTiny);
    auto w = io::open_safetensors(kTiny + "/model.safetensors");
    ASSERT_TRUE(w.ok()) << w.error().message;
    auto cfg = gemma4::load_config(kTiny);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    MediaWorkerOptions o;
    o.audio_mask = gemma4::AudioMaskMode::hf_eager;  // the fixture's reference mask
    o.audio_backend = o.vision_backend = "cpu-ref";
    auto worker = MediaWorker::load(kTiny, *cfg, **w, o);
    ASSERT_TRUE(worker.ok()) << worker.error().message;
    EXPECT_TRUE((*worker)->audio_on_backend());
    EXPECT_EQ((*worker)->vision_path(), "cpu-ref");
    EXPECT_EQ((*worker)->media_backends(), 1u);
    MediaRequest r;
    r.tokens = greedy_request(fold_markers(g.ids("mm.input_ids"), *cfg), 1);
    r.media = {fixture_media(gemma4::MediaKind::image, "image.png"),
               fixture_media(gemma4::MediaKind::audio, "audio.wav")};
    auto t = (*worker)->prepare(std::move(r));
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_EQ(t->media.size(), 2u);
    const char * names[2] = {"image.soft_tokens", "audio.soft_tokens"};
    for (size_t i = 0; i < 2; ++i) {
        Tensor ref = g.get(names[i]);
        const Tensor & got = t->media[i].embeds;
        ASSERT_EQ(got.shape, ref.shape) << names[i];
        EXPECT_LT(rel_error(got.ptr<float>(), ref.ptr<float>(), size_t(ref.numel())), kTol)
            << names[i];
    }
}

TEST(MediaAudioBackend, UnknownBackendFallsBackToTheCpuPath) {
    auto w = io::open_safetensors(kTiny + "/model.safetensors");
    ASSERT_TRUE(w.ok()) << w.error().message;
    auto worker = load_worker("no-such-backend", **w);
    ASSERT_TRUE(worker.ok()) << worker.error().message;
    EXPECT_FALSE((*worker)->audio_on_backend());
    EXPECT_TRUE((*worker)->has_audio());
    expect_golden_audio(**worker);
}

}  // namespace
