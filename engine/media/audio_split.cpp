// Quietest-point splitting of long audio into encoder-sized chunks.
#include "media/audio_split.h"

#include <algorithm>
#include <limits>

namespace gemma::media {
namespace {

// The cut for a chunk starting at `begin`: the centre of the quietest window that ends by
// begin + max_samples, searched over the last search_samples before that limit.
int64_t quietest_cut(std::span<const float> x, int64_t begin, const AudioSplitOptions & o) {
    const int64_t limit = begin + o.max_samples;
    const int64_t lo = std::max(begin + 1, limit - o.search_samples);
    int64_t best = limit;
    double best_energy = std::numeric_limits<double>::infinity();
    for (int64_t w = lo; w + o.window_samples <= limit; w += o.hop_samples) {
        double e = 0.0;
        for (int64_t i = w; i < w + o.window_samples; ++i) e += double(x[size_t(i)]) * x[size_t(i)];
        if (e < best_energy) {
            best_energy = e;
            best = w + o.window_samples / 2;
        }
    }
    return best;
}

}  // namespace

std::vector<AudioChunk> audio_split(std::span<const float> x, const AudioSplitOptions & o) {
    std::vector<AudioChunk> out;
    const int64_t n = int64_t(x.size());
    int64_t begin = 0;
    while (n - begin > o.max_samples) {
        int64_t cut = quietest_cut(x, begin, o);
        out.push_back({begin, cut});
        begin = cut;
    }
    if (n > begin || out.empty()) out.push_back({begin, n});
    return out;
}

}  // namespace gemma::media
