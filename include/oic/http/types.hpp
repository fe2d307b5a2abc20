#pragma once
/// @file The HTTP layer's vocabulary: its clock, request and answer types, and the pool's statistics.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace oic::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using clock = std::chrono::steady_clock;
using request = beast::http::request<beast::http::string_body>;
using response = beast::http::response<beast::http::string_body>;

/// What a session's connection pool has done, for monitoring and tests.
struct pool_stats {
    std::uint64_t opened = 0;      ///< connections opened (TCP, and TLS when https)
    std::uint64_t reused = 0;      ///< requests sent on a kept-alive connection
    std::uint64_t tls_resumed = 0; ///< TLS handshakes that resumed an earlier session (no full handshake)
    std::uint64_t closed_idle = 0; ///< idle connections closed: past `idle_timeout`, or to make room
    std::size_t open = 0;          ///< connections open now, in use or idle
    std::size_t idle = 0;          ///< ...of which idle
};

} // namespace oic::http
