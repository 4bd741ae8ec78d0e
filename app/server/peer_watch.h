// Notices when the client of a request has hung up, so its generation can be cancelled even
// while no bytes are being written (cpp-httplib 0.11 hands handlers no socket, so the socket is
// found by its address pair). Linux only; elsewhere closed() is always false.
#pragma once

#include <string>

namespace gemdesk::server {

class PeerWatch {
public:
    // Finds the connected socket whose local/remote addresses match the request's.
    PeerWatch(const std::string & remote_addr, int remote_port, const std::string & local_addr,
              int local_port);
    bool found() const { return fd_ >= 0; }
    // True when the peer closed or reset the connection. Never blocks.
    bool closed() const;

private:
    int fd_ = -1;
};

}  // namespace gemdesk::server
