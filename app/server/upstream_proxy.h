// Scale-out: forwards the API routes to a remote OpenAI-compatible server (--upstream URL)
// instead of a local engine, streaming responses through as they arrive. Local security checks
// (API key, CORS, body limit, concurrency cap) still apply; a client that leaves aborts the
// upstream request.
#pragma once

#include <httplib.h>

#include <string>

#include "core/status.h"
#include "server/generation.h"

namespace gemdesk::server {

struct UpstreamTarget {
    std::string host;
    int port = 80;
    std::string base_path;  // prefix before /v1, usually ""
};

// "http://host[:port][/prefix]"; a trailing "/v1" is dropped. https is not supported.
gemma::Result<UpstreamTarget> parse_upstream_url(const std::string & url);

void register_upstream_routes(httplib::Server & server, const RouteContext & ctx,
                              const UpstreamTarget & target, const std::string & upstream_api_key);

}  // namespace gemdesk::server
