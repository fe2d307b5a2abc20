#pragma once
/// @file
/// The HTTP layer's vocabulary: its clock, request and answer types, retry settings and the
/// pool's statistics.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace oic::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using clock = std::chrono::steady_clock;                        ///< of every timeout and deadline
using request = beast::http::request<beast::http::string_body>; ///< a request, its body in memory
using response =
    beast::http::response<beast::http::string_body>; ///< an answer, its body in memory (empty when streamed)

/// A request with its method and no target: the session sets the target per hop (Beast's
/// constructor that takes one allocates it, to be replaced).
inline request make_request(beast::http::verb method) {
    request r;
    r.method(method);
    return r;
}

/**
 * When a call is sent again: idempotent requests (RFC 9110 9.2.2: GET, HEAD, PUT, DELETE, OPTIONS)
 * and requests marked `retry_safe` (token requests), after a connection error before any byte of
 * the answer, or an answer 429, 502, 503 or 504; a POST or PATCH only after a connection error
 * before any byte of it went out, never once it was written. The wait is the
 * answer's `Retry-After` (seconds or HTTP-date) when it has one, else a random time between zero
 * and `base_delay` doubled per retry, at most `max_delay` (exponential backoff, full jitter). A wait
 * that would end past the call's deadline is not started: the call ends at once with the answer
 * (or the error) it has. Nothing else is retried: not timeouts, TLS or certificate errors, other
 * statuses, nor an answer cut off midway.
 */
struct retry_options {
    int max_retries = 2; ///< per call, on top of the first attempt; 0 switches retries off
    clock::duration base_delay = std::chrono::milliseconds(200); ///< the first backoff's bound, doubled per retry
    clock::duration max_delay = std::chrono::seconds(10);        ///< bounds the backoff, not `Retry-After`
    /// The session's retry budget, a token bucket as in gRPC's retry throttling: each call adds
    /// `budget_ratio` of a retry, up to `budget_burst`, and each retry takes one. Retries then add at
    /// most that fraction to the request rate, so a failing service is not hammered by every caller.
    double budget_ratio = 0.1; ///< of a retry, earned per call
    double budget_burst = 10;  ///< retries the budget holds at most (and at the start)
};

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
