// Audio decoding through libsndfile (from memory via its virtual I/O) and resampling with libsoxr.
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>

#include "media/audio.h"

namespace gemma::media {
namespace {

// A read-only cursor over caller memory for SF_VIRTUAL_IO.
struct MemoryFile {
    std::span<const uint8_t> data;
    sf_count_t pos = 0;
};

sf_count_t vio_size(void * u) { return sf_count_t(static_cast<MemoryFile *>(u)->data.size()); }
sf_count_t vio_tell(void * u) { return static_cast<MemoryFile *>(u)->pos; }
sf_count_t vio_seek(sf_count_t off, int whence, void * u) {
    auto * f = static_cast<MemoryFile *>(u);
    sf_count_t base = whence == SEEK_CUR ? f->pos : whence == SEEK_END ? vio_size(u) : 0;
    f->pos = std::clamp<sf_count_t>(base + off, 0, vio_size(u));
    return f->pos;
}
sf_count_t vio_read(void * dst, sf_count_t n, void * u) {
    auto * f = static_cast<MemoryFile *>(u);
    sf_count_t k = std::min(n, vio_size(u) - f->pos);
    std::memcpy(dst, f->data.data() + f->pos, size_t(k));
    f->pos += k;
    return k;
}
sf_count_t vio_write(const void *, sf_count_t, void *) { return 0; }

struct SndFileCloser {
    void operator()(SNDFILE * s) const { sf_close(s); }
};

Error too_long(const std::string & origin, double seconds) {
    return make_error(ErrorCode::invalid_argument,
                      format("%s: audio is %.0f s long, more than the %.0f s limit; trim it or "
                             "split it into shorter files",
                             origin.c_str(), seconds, kMaxAudioSeconds));
}

// Reads every frame and averages the channels.
Result<Audio> read_mono(SNDFILE * snd, const SF_INFO & info, const std::string & origin) {
    Audio out;
    out.sample_rate = info.samplerate;
    const int ch = info.channels;
    std::vector<float> block(size_t(4096) * size_t(ch));
    for (;;) {
        sf_count_t got = sf_readf_float(snd, block.data(), 4096);
        if (got <= 0) break;
        for (sf_count_t i = 0; i < got; ++i) {
            float sum = 0.0f;
            for (int c = 0; c < ch; ++c) sum += block[size_t(i) * size_t(ch) + size_t(c)];
            out.samples.push_back(sum / float(ch));
        }
        if (out.seconds() > kMaxAudioSeconds) return too_long(origin, out.seconds());
    }
    if (out.samples.empty()) {
        return make_error(ErrorCode::invalid_argument,
                          format("%s: the audio contains no samples", origin.c_str()));
    }
    return out;
}

}  // namespace

Result<Audio> audio_decode(std::span<const uint8_t> bytes, const std::string & origin) {
    if (bytes.empty()) {
        return make_error(ErrorCode::invalid_argument,
                          format("%s: the audio is empty (0 bytes)", origin.c_str()));
    }
    MemoryFile mem{bytes};
    SF_VIRTUAL_IO vio{vio_size, vio_seek, vio_read, vio_write, vio_tell};
    SF_INFO info{};
    std::unique_ptr<SNDFILE, SndFileCloser> snd(sf_open_virtual(&vio, SFM_READ, &info, &mem));
    if (!snd) {
        return make_error(ErrorCode::unsupported,
                          format("%s: cannot decode audio (%s); use WAV, FLAC, Ogg or MP3",
                                 origin.c_str(), sf_strerror(nullptr)));
    }
    if (info.channels < 1 || info.samplerate < 1000 || info.samplerate > 768000) {
        return make_error(ErrorCode::corrupt_file,
                          format("%s: implausible audio header (%d channels at %d Hz)",
                                 origin.c_str(), info.channels, info.samplerate));
    }
    if (double(info.frames) / info.samplerate > kMaxAudioSeconds) {
        return too_long(origin, double(info.frames) / info.samplerate);
    }
    try {
        return read_mono(snd.get(), info, origin);
    } catch (const std::bad_alloc &) {
        return make_error(ErrorCode::out_of_memory,
                          format("%s: out of memory decoding audio", origin.c_str()));
    }
}

Result<Audio> audio_load(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        return make_error(ErrorCode::not_found,
                          format("cannot open audio file '%s'; check the path", path.c_str()));
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
    return audio_decode(bytes, path);
}

Result<std::vector<float>> audio_resample(std::span<const float> in, int from, int to) {
    if (from <= 0 || to <= 0) {
        return make_error(ErrorCode::invalid_argument,
                          format("cannot resample %d Hz -> %d Hz", from, to));
    }
    if (from == to) return std::vector<float>(in.begin(), in.end());
    const size_t n_out = size_t(std::ceil(double(in.size()) * to / from));
    std::vector<float> out(n_out);
    size_t done = 0;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_error_t err = soxr_oneshot(from, to, 1, in.data(), in.size(), nullptr, out.data(), n_out,
                                    &done, &io, &q, nullptr);
    if (err) return make_error(ErrorCode::internal, format("libsoxr resampling failed: %s", err));
    out.resize(done);
    return out;
}

namespace {
Result<Audio> to_16k(Result<Audio> a) {
    if (!a) return a;
    auto r = audio_resample(a->samples, a->sample_rate, kAudioSampleRate);
    if (!r) return r.error();
    return Audio{kAudioSampleRate, std::move(*r)};
}
}  // namespace

Result<Audio> audio_load_16k(const std::string & path) { return to_16k(audio_load(path)); }
Result<Audio> audio_decode_16k(std::span<const uint8_t> bytes, const std::string & origin) {
    return to_16k(audio_decode(bytes, origin));
}

std::string audio_backend_version() { return sf_version_string(); }

bool audio_can_decode_mp3() {
    int n = 0;
    sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof(n));
    for (int i = 0; i < n; ++i) {
        SF_FORMAT_INFO fi{};
        fi.format = i;
        sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &fi, sizeof(fi));
        if ((fi.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG) return true;
    }
    return false;
}

}  // namespace gemma::media
