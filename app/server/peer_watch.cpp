// PeerWatch: socket lookup through /proc/self/fd and a non-blocking hang-up check.
#include "server/peer_watch.h"

#if defined(__linux__)
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#endif

namespace gemdesk::server {

#if defined(__linux__)
namespace {

bool same_endpoint(const sockaddr_storage & addr, const std::string & ip, int port) {
    char buf[INET6_ADDRSTRLEN] = {};
    int p = -1;
    if (addr.ss_family == AF_INET) {
        auto * a = reinterpret_cast<const sockaddr_in *>(&addr);
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        p = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        auto * a = reinterpret_cast<const sockaddr_in6 *>(&addr);
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        p = ntohs(a->sin6_port);
    } else {
        return false;
    }
    if (p != port) return false;
    std::string s = buf;
    return s == ip || s == "::ffff:" + ip || "::ffff:" + s == ip;
}

}  // namespace

PeerWatch::PeerWatch(const std::string & remote_addr, int remote_port,
                     const std::string & local_addr, int local_port) {
    DIR * dir = opendir("/proc/self/fd");
    if (!dir) return;
    while (dirent * entry = readdir(dir)) {
        char * end = nullptr;
        long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0') continue;
        struct stat st;
        if (fstat(int(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        sockaddr_storage peer{}, local{};
        socklen_t peer_len = sizeof peer, local_len = sizeof local;
        if (getpeername(int(fd), reinterpret_cast<sockaddr *>(&peer), &peer_len) != 0) continue;
        if (getsockname(int(fd), reinterpret_cast<sockaddr *>(&local), &local_len) != 0) continue;
        if (same_endpoint(peer, remote_addr, remote_port) &&
            same_endpoint(local, local_addr, local_port)) {
            fd_ = int(fd);
            break;
        }
    }
    closedir(dir);
}

bool PeerWatch::closed() const {
    if (fd_ < 0) return false;
    pollfd p{fd_, short(POLLIN | POLLRDHUP), 0};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    if (p.revents & POLLIN) {
        char c;
        ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        return n == 0;  // orderly shutdown; > 0 is a pipelined next request
    }
    return false;
}

#else
PeerWatch::PeerWatch(const std::string &, int, const std::string &, int) {}
bool PeerWatch::closed() const { return false; }
#endif

}  // namespace gemdesk::server
