// Bounded numbers (minimum / maximum / exclusive*): which number prefixes can still end inside the
// bounds, and how many symbols that takes. A prefix stands for a grid of values (more integer
// digits, or fraction digits); every candidate is judged by its double value, computed as a
// correctly rounded N / 10^M, which is what a JSON parser reading its decimal text gets.
#include <algorithm>
#include <cmath>

#include "runtime/constraint_matcher.h"
#include "runtime/constraint_phases.h"

namespace gemma::runtime::cg {
namespace {

constexpr uint64_t kP10u[] = {1ull,
                              10ull,
                              100ull,
                              1000ull,
                              10000ull,
                              100000ull,
                              1000000ull,
                              10000000ull,
                              100000000ull,
                              1000000000ull,
                              10000000000ull,
                              100000000000ull,
                              1000000000000ull,
                              10000000000000ull,
                              100000000000000ull,
                              1000000000000000ull};

// N / 10^M with its sign within the bounds. N < 10^15 < 2^53 and 10^M are exact doubles, so the
// IEEE quotient is the correctly rounded value of the decimal.
bool in_bounds(const Node & n, bool neg, uint64_t N, int M) {
    double v = double(N) / double(kP10u[M]);
    if (neg) v = -v;
    const bool lo_ok = v > n.lo || (!n.lo_x && v == n.lo);
    const bool hi_ok = v < n.hi || (!n.hi_x && v == n.hi);
    return lo_ok && hi_ok;
}

// Whether some N in [a, b] (a value N / 10^M) is within the bounds. Values are monotonic in N,
// so the feasible N form one run: it contains a, or starts near the bound that limits it.
bool hits(const Node & n, bool neg, uint64_t a, uint64_t b, int M) {
    if (in_bounds(n, neg, a, M)) return true;
    const long double edge = neg ? -static_cast<long double>(n.hi) : static_cast<long double>(n.lo);
    if (!std::isfinite(edge)) return false;
    const long double approx = std::ceil(edge * static_cast<long double>(kP10u[M]));
    for (long double c = approx - 2; c <= approx + 2; ++c)
        if (c >= static_cast<long double>(a) && c <= static_cast<long double>(b) &&
            in_bounds(n, neg, uint64_t(c), M))
            return true;
    return false;
}

// Integer part d (k digits, more allowed unless it is a lone 0): more integer digits first, then
// (numbers only) a fraction.
int32_t rest_in_integer(const Node & n, const Frame & f) {
    const bool neg = f.flag != 0;
    const uint64_t d = f.seen;
    const int k = f.ph == N_ZERO ? 1 : f.ndig;
    const int max_j = f.ph == N_ZERO ? 0 : kMaxBoundedDigits - k;
    int32_t best = kBig;
    for (int j = 0; j <= max_j; ++j) {
        const uint64_t a = d * kP10u[j];
        if (hits(n, neg, a, a + kP10u[j] - 1, 0)) {
            best = j;
            break;
        }
    }
    if (n.kind != Node::Kind::number) return best;
    for (int j = 0; j <= max_j; ++j)
        for (int m = 1; k + j + m <= kMaxBoundedDigits && j + 1 + m < best; ++m) {
            const uint64_t a = d * kP10u[j + m];
            if (hits(n, neg, a, a + kP10u[j + m] - 1, m)) {
                best = j + 1 + m;
                break;
            }
        }
    return best;
}

// After the dot: the fraction so far (m0 digits) extended by m more.
int32_t rest_in_fraction(const Node & n, const Frame & f) {
    const bool neg = f.flag != 0;
    const int m0 = f.ph == N_DOT ? 0 : f.ndig;
    const uint64_t base = f.seen * kP10u[m0] + f.aux;
    if (f.ph == N_FRAC && in_bounds(n, neg, base, m0)) return 0;
    for (int m = 1; f.count + m0 + m <= kMaxBoundedDigits; ++m) {
        const uint64_t a = base * kP10u[m];
        if (hits(n, neg, a, a + kP10u[m] - 1, m0 + m)) return m;
    }
    return kBig;
}

}  // namespace

int32_t number_rest(const Node & n, const Frame & f) {
    switch (f.ph) {
        case N_START:
            return n.min_cost;
        case N_SIGN: {
            int32_t best = kBig;
            for (uint64_t c = 0; c <= 9; ++c) {
                Frame g = f;
                g.ph = c == 0 ? N_ZERO : N_INT;
                g.seen = c;
                g.ndig = 1;
                g.count = 1;
                best = std::min(best, 1 + number_rest(n, g));
            }
            return best;
        }
        case N_ZERO:
        case N_INT:
            return rest_in_integer(n, f);
        case N_DOT:
        case N_FRAC:
            return rest_in_fraction(n, f);
        default:
            return kBig;  // bounded numbers have no exponent
    }
}

int32_t number_min_cost(const Node & n) {
    Frame f;
    f.k = Frame::K::number;
    f.ph = N_SIGN;
    f.flag = 0;
    int32_t best = number_rest(n, f);  // the digit choices, as after a sign...
    f.flag = 1;
    best = std::min(best, 1 + number_rest(n, f));  // ...and with a '-' first
    return std::min(best, kBig);
}

}  // namespace gemma::runtime::cg
