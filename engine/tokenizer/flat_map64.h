// An open-addressing hash map from uint64 keys to a small POD value: the BPE merge table and
// the pair sets are looked up millions of times per second, where std::unordered_map is slow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gemma::tok {

// Insert-only; reads are thread-safe once filled. Key ~0 is reserved as the empty marker.
template <class V>
class FlatMap64 {
public:
    static constexpr uint64_t kEmpty = ~uint64_t{0};

    explicit FlatMap64(size_t expected = 16) {
        size_t cap = 16;
        while (cap < expected * 2) cap <<= 1;
        slots_.assign(cap, Slot{kEmpty, V{}});
        mask_ = cap - 1;
    }

    // Keeps the first value inserted for a key; returns false when the key was present.
    bool insert(uint64_t key, const V & value) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            if (slots_[i].key == key) return false;
            if (slots_[i].key == kEmpty) {
                slots_[i] = Slot{key, value};
                ++size_;
                return true;
            }
        }
    }

    const V * find(uint64_t key) const {
        for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            if (slots_[i].key == key) return &slots_[i].value;
            if (slots_[i].key == kEmpty) return nullptr;
        }
    }

    size_t size() const { return size_; }

private:
    struct Slot {
        uint64_t key;
        V value;
    };
    static size_t hash(uint64_t k) {  // splitmix64 finalizer
        k ^= k >> 30;
        k *= 0xbf58476d1ce4e5b9ULL;
        k ^= k >> 27;
        k *= 0x94d049bb133111ebULL;
        k ^= k >> 31;
        return static_cast<size_t>(k);
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.size() * 2, Slot{kEmpty, V{}});
        mask_ = slots_.size() - 1;
        size_ = 0;
        for (const Slot & s : old) {
            if (s.key != kEmpty) insert(s.key, s.value);
        }
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

inline uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }

}  // namespace gemma::tok
