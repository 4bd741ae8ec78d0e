// Log-mel front end of the Gemma 4 audio encoder: semicausal framing, periodic Hann window,
// |rfft| of 512 points, HTK mel filterbank, ln(mel + 1e-3). float64 where HF computes in numpy
// float64 (FFT, filterbank, log); the windowed frame is float32 as in the reference.
#include "media/audio_features.h"

#include <algorithm>
#include <cmath>
#include <complex>

namespace gemma::media {
namespace {

constexpr double kPi = 3.14159265358979323846;

double hz_to_mel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double mel_to_hz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }

// In-place iterative radix-2 FFT (n a power of two).
void fft(std::vector<std::complex<double>> & a) {
    const size_t n = a.size();
    for (size_t i = 1, j = 0; i < n; ++i) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        const double ang = -2.0 * kPi / double(len);
        for (size_t i = 0; i < n; i += len) {
            for (size_t k = 0; k < len / 2; ++k) {
                std::complex<double> w = std::polar(1.0, ang * double(k));
                std::complex<double> u = a[i + k], v = a[i + k + len / 2] * w;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
            }
        }
    }
}

bool is_pow2(int n) { return n > 0 && (n & (n - 1)) == 0; }

// One frame: window (float32, as the reference multiplies float32 arrays), |rfft|, mel, log.
void frame_log_mel(const float * x, const std::vector<float> & window,
                   const std::vector<double> & fb, const AudioFeatureOptions & o, float * out) {
    std::vector<std::complex<double>> buf(size_t(o.fft_length));
    for (int n = 0; n < o.frame_length; ++n) buf[size_t(n)] = double(x[n] * window[size_t(n)]);
    fft(buf);
    const int n_bins = o.fft_length / 2 + 1;
    std::vector<double> mag(static_cast<size_t>(n_bins));
    for (int k = 0; k < n_bins; ++k) mag[size_t(k)] = std::abs(buf[size_t(k)]);
    for (int m = 0; m < o.n_mel; ++m) {
        double s = 0.0;
        for (int k = 0; k < n_bins; ++k)
            s += mag[size_t(k)] * fb[size_t(k) * size_t(o.n_mel) + size_t(m)];
        out[m] = float(std::log(s + o.mel_floor));
    }
}

}  // namespace

int AudioFeatures::n_valid() const { return int(std::count(mask.begin(), mask.end(), uint8_t(1))); }

int audio_num_valid_frames(int64_t n, const AudioFeatureOptions & o) {
    n = std::min<int64_t>(n, o.max_samples);
    return n > o.hop_length ? int((n - 1) / o.hop_length) : 0;
}

int audio_num_soft_tokens(int64_t n, const AudioFeatureOptions & o) {
    int t = audio_num_valid_frames(n, o);
    return std::min(((t + 1) / 2 + 1) / 2, 750);
}

std::vector<double> audio_mel_filterbank(const AudioFeatureOptions & o) {
    const int n_bins = o.fft_length / 2 + 1;
    const double mel_lo = hz_to_mel(o.min_frequency), mel_hi = hz_to_mel(o.max_frequency);
    std::vector<double> edge(size_t(o.n_mel) + 2);
    for (size_t j = 0; j < edge.size(); ++j) {
        edge[j] = mel_to_hz(mel_lo + (mel_hi - mel_lo) * double(j) / double(o.n_mel + 1));
    }
    std::vector<double> fb(size_t(n_bins) * size_t(o.n_mel));
    for (int k = 0; k < n_bins; ++k) {
        const double f = double(k) * (o.sampling_rate / 2) / double(n_bins - 1);
        for (int m = 0; m < o.n_mel; ++m) {
            double down = (f - edge[size_t(m)]) / (edge[size_t(m) + 1] - edge[size_t(m)]);
            double up = (edge[size_t(m) + 2] - f) / (edge[size_t(m) + 2] - edge[size_t(m) + 1]);
            fb[size_t(k) * size_t(o.n_mel) + size_t(m)] = std::max(0.0, std::min(down, up));
        }
    }
    return fb;
}

Result<AudioFeatures> audio_log_mel(std::span<const float> samples, const AudioFeatureOptions & o) {
    if (!is_pow2(o.fft_length) || o.fft_length < o.frame_length || o.hop_length <= 0 ||
        o.n_mel <= 0) {
        return make_error(ErrorCode::unsupported,
                          format("audio features: fft_length %d must be a power of two >= "
                                 "frame_length %d, with hop %d and %d mel bins > 0",
                                 o.fft_length, o.frame_length, o.hop_length, o.n_mel));
    }
    const int64_t n = std::min<int64_t>(int64_t(samples.size()), o.max_samples);
    int64_t n_pad = n;
    if (o.pad_like_reference && o.pad_to_multiple_of > 0) {
        n_pad = (n + o.pad_to_multiple_of - 1) / o.pad_to_multiple_of * o.pad_to_multiple_of;
    }
    // Semicausal: hop zeros in front; frame i covers padded [hop·i, hop·i + frame_length) and is
    // valid iff padded sample hop·i + frame_length (one past the window) is inside the clip.
    const int64_t lead = o.hop_length;
    std::vector<float> x(size_t(lead + n_pad) + size_t(o.frame_length) + 1, 0.0f);
    std::copy(samples.begin(), samples.begin() + n, x.begin() + lead);
    const int64_t len = lead + n_pad;
    const int64_t span = o.frame_length + 1;  // HF unfolds frame_length + 1 samples
    const int n_frames_all = len >= span ? int((len - span) / o.hop_length + 1) : 0;
    const int n_valid = audio_num_valid_frames(n, o);
    AudioFeatures out;
    out.n_mel = o.n_mel;
    out.n_frames = o.pad_like_reference ? n_frames_all : n_valid;
    out.values.assign(size_t(out.n_frames) * size_t(o.n_mel), 0.0f);
    out.mask.assign(size_t(out.n_frames), 0);
    std::vector<float> window(size_t(o.frame_length));
    for (int i = 0; i < o.frame_length; ++i) {
        window[size_t(i)] =
            float(0.5 - 0.5 * std::cos(2.0 * kPi * i / o.frame_length));  // periodic
    }
    const std::vector<double> fb = audio_mel_filterbank(o);
    for (int i = 0; i < std::min(n_valid, out.n_frames); ++i) {
        frame_log_mel(&x[size_t(i) * size_t(o.hop_length)], window, fb, o,
                      &out.values[size_t(i) * size_t(o.n_mel)]);
        out.mask[size_t(i)] = 1;
    }
    return out;
}

}  // namespace gemma::media
