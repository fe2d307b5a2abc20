#pragma once
/// @file The loopback rule, in one place for every connection that may carry credentials: the HTTP
/// connector and the Redis link.

#include <oic/http/url.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace oic::http::detail {

/**
 * @brief The addresses a connection to `host` may use, of those `resolved` gave (resolver results
 * or endpoints).
 *
 * A host that `is_loopback` calls loopback may receive credentials over plaintext, so its traffic
 * must not leave the machine: a name (`localhost`, `*.localhost`) connects only to loopback
 * addresses (127.0.0.0/8, ::1), whatever a search domain, a hosts file or a spoofed answer made of
 * it. An IPv4-mapped address (`::ffff:127.0.0.1`) does not count as loopback: no resolver gives
 * one for a loopback name unless asked to, and refusing it cannot leak. Other hosts keep every address.
 * @return the endpoints to connect to, in order; empty, with `why` set (no secret in it), when
 * none is allowed.
 */
template <class Resolved>
std::vector<boost::asio::ip::tcp::endpoint> allowed_endpoints(std::string_view host, Resolved const& resolved,
                                                              std::string& why) {
    bool const loopback_host = is_loopback(host);
    std::vector<boost::asio::ip::tcp::endpoint> out;
    for (auto const& r : resolved) {
        boost::asio::ip::tcp::endpoint const ep = r;
        if (!loopback_host || ep.address().is_loopback())
            out.push_back(ep);
    }
    if (out.empty())
        why = std::string(host) +
              (loopback_host ? " is a loopback name but resolves to no loopback address" : " resolves to no address");
    return out;
}

} // namespace oic::http::detail
