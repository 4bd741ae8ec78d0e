// Key comparison, header parsing, loopback and origin checks, the concurrency gate.
#include "server/security.h"

#include <arpa/inet.h>

#include <algorithm>

namespace gemdesk::server {

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Walk the longer length so timing does not reveal a matching prefix.
    size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? (unsigned char)a[i] : 0;
        unsigned char y = i < b.size() ? (unsigned char)b[i] : 0;
        diff |= (unsigned char)(x ^ y);
    }
    volatile unsigned char result = diff;
    return result == 0;
}

std::string api_key_from_headers(const std::string & authorization, const std::string & x_api_key) {
    static const std::string kBearer = "Bearer ";
    if (authorization.size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), authorization.begin(), [](char a, char b) {
            return std::tolower((unsigned char)a) == std::tolower((unsigned char)b);
        })) {
        std::string key = authorization.substr(kBearer.size());
        while (!key.empty() && key.back() == ' ') key.pop_back();
        return key;
    }
    return x_api_key;
}

bool is_loopback_host(const std::string & host) {
    if (host == "localhost" || host == "::1" || host == "[::1]") return true;
    in_addr addr4{};
    if (inet_pton(AF_INET, host.c_str(), &addr4) == 1) return (ntohl(addr4.s_addr) >> 24) == 127;
    return false;
}

bool origin_allowed(const std::vector<std::string> & allowlist, const std::string & origin) {
    for (const auto & o : allowlist)
        if (o == "*" || o == origin) return true;
    return false;
}

bool ConcurrencyGate::try_acquire() {
    int current = in_use_.load();
    while (current < limit_) {
        if (in_use_.compare_exchange_weak(current, current + 1)) return true;
    }
    return false;
}

void ConcurrencyGate::release() { in_use_.fetch_sub(1); }

}  // namespace gemdesk::server
