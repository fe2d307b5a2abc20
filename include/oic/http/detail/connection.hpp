#pragma once
/**
 * @file One keep-alive connection of a session's pool: a transport (transport.hpp: a TCP socket
 * with TLS driven straight on it), a read buffer, and one request/answer exchange at a time.
 *
 * Why not `asio::ssl::stream` and `beast::http::async_read`: each TLS record then took a trip
 * through four composed operations (Beast's read, Asio's SSL engine and its BIO pair, Beast's timed
 * stream, the socket), with a copy and a timer reset per record. Here OpenSSL reads and writes the
 * non-blocking socket itself, Beast's parser and serializer run synchronously on the bytes, and
 * Asio is asked only to wait until the socket is ready. A profile of a keep-alive call had about
 * a third of its CPU time in those layers.
 */

#include <oic/detail/cancelled.hpp>
#include <oic/error.hpp>
#include <oic/http/body_sink.hpp>
#include <oic/http/detail/transport.hpp>
#include <oic/http/types.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

namespace oic::http::detail {

using oic::detail::cancelled;

/// Errors that mean a kept-alive connection was closed by the server while idle.
inline bool is_stale_connection(error_code ec) {
    return ec == beast::http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

/// How much of an answer one read may hold in memory, and pass to a sink.
struct read_limits {
    std::size_t body;
    std::size_t header;
    std::uint64_t sink_body = 0; ///< a 2xx body going to a `body_sink`
};

/// At most this many interim (1xx) answers are skipped before one is taken as the answer.
inline constexpr int max_interim_answers = 8;

/// Bytes asked of the transport at a time: one TLS record's worth of plaintext at most.
inline constexpr std::size_t read_chunk = 16 * 1024;

/// One connection to one origin over a transport (see transport.hpp), with its read buffer.
template <class Executor, class Transport = socket_transport<Executor>>
class connection {
public:
    using transport_type = Transport;

    /// `transport` is connected; a TLS handshake is still to be done (`handshake`).
    connection(origin o, Transport&& transport, std::size_t read_buffer_size)
        : origin_(std::move(o)), transport_(std::move(transport)), timer_(transport_.get_executor()),
          deadline_(std::make_shared<deadline_state<Transport>>(transport_)), buffer_(read_buffer_size) {}
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;
    ~connection() { deadline_->forget_transport(); } // before the transport goes

    origin const& get_origin() const noexcept { return origin_; }

    bool session_kept = false; ///< the pool keeps a copy of this connection's TLS session already

    /// The TLS connection, or nullptr for plain http.
    SSL* ssl() noexcept { return transport_.ssl(); }

    /// No unread bytes after an answer. A server that sent more than it was asked for is not
    /// trusted with the next request on this connection.
    bool drained() const noexcept { return buffer_.size() == 0; }

    /// Whether any byte of an answer arrived in the last exchange: a request that failed before
    /// may be sent again without the server having answered it.
    bool answer_started() const noexcept { return answer_started_; }

    /// Whether any byte of the last request went out: a request that is not idempotent (RFC 9110
    /// 9.2.2) may be sent again only if none did.
    bool request_written() const noexcept { return request_written_; }

    /// TLS handshake with SNI and host name (or IP address) verification, before `deadline`; a
    /// no-op for plain connections.
    asio::awaitable<error_code, Executor> handshake(clock::time_point deadline) {
        if (auto ec = transport_.start_handshake(origin_))
            co_return ec;
        if (!transport_.ssl())
            co_return error_code{};
        armed_deadline armed(timer_, deadline_, deadline);
        error_code ec;
        for (;;) {
            auto const r = transport_.handshake_now();
            if (r.wait == want::nothing) {
                ec = r.ec;
                break;
            }
            if ((ec = co_await wait(r.wait)))
                break;
        }
        armed.disarm();
        // A deadline that fired as the handshake ended has shut the transport down: a timeout.
        co_return interrupted() && ec != asio::error::operation_aborted ? error_code(beast::error::timeout) : ec;
    }

    /// Writes `req` and reads one answer (skipping interim 1xx answers), all before `deadline`:
    /// the deadline interrupts the transport however slowly the server sends. An answer that
    /// arrived whole as the deadline passed is the answer, but the connection is `interrupted()`.
    /// With `sink`, the body of a 2xx answer goes there instead of into the answer.
    asio::awaitable<std::tuple<error_code, response>, Executor>
    exchange(request& req, read_limits limits, clock::time_point deadline, body_sink* sink = nullptr) {
        armed_deadline armed(timer_, deadline_, deadline);
        auto [ec, res] = co_await exchange_steps(req, limits, sink);
        armed.disarm();
        if (ec && ec != asio::error::operation_aborted && interrupted())
            ec = beast::error::timeout;
        co_return std::tuple{ec, std::move(res)};
    }

    /// Whether the deadline of the last handshake or exchange shut the transport down (its
    /// answer, if whole, still counts; the connection may not be used again).
    bool interrupted() const { return deadline_->expired(); }

private:
    asio::awaitable<std::tuple<error_code, response>, Executor> exchange_steps(request& req, read_limits limits,
                                                                               body_sink* sink) {
        answer_started_ = false;
        request_written_ = false;
        if (auto ec = serialize(req))
            co_return std::tuple{ec, response{}};
        for (std::size_t written = 0; written < out_.size();) {
            auto const r = transport_.write_now(asio::buffer(out_) + written);
            if (r.wait != want::nothing) {
                if (auto ec = co_await wait(r.wait))
                    co_return std::tuple{ec, response{}};
                continue;
            }
            if (r.ec)
                co_return std::tuple{r.ec, response{}};
            written += r.bytes;
            request_written_ = request_written_ || r.bytes > 0;
        }
        for (int interim = 0;; ++interim) {
            // The header first: its status says where the body goes.
            beast::http::response_parser<beast::http::empty_body> head;
            head.header_limit(static_cast<std::uint32_t>(limits.header));
            head.body_limit(std::max<std::uint64_t>(limits.body, limits.sink_body)); // each body's own below
            if (auto ec = co_await read_message(head, true))
                co_return std::tuple{ec, response{}};
            auto const status = head.get().result_int();
            if (status / 100 == 1 && status != 101 && interim < max_interim_answers)
                continue; // 100 Continue, 103 Early Hints: the answer follows
            auto const length = head.content_length();
            if (sink && status / 100 == 2) {
                if (length && *length > limits.sink_body)
                    co_return std::tuple{error_code(beast::http::error::body_limit), response{}};
                beast::http::response_parser<sink_body> parser(std::move(head), sink);
                parser.body_limit(limits.sink_body);
                parser.eager(true);
                if (auto ec = co_await read_message(parser, false))
                    co_return std::tuple{ec, response{}};
                co_return std::tuple{error_code{}, response(std::move(parser.release().base()))};
            }
            if (length && *length > limits.body)
                co_return std::tuple{error_code(beast::http::error::body_limit), response{}};
            beast::http::response_parser<beast::http::string_body> parser(std::move(head));
            parser.eager(true);
            parser.body_limit(limits.body);
            if (auto ec = co_await read_message(parser, false))
                co_return std::tuple{ec, response{}};
            co_return std::tuple{error_code{}, parser.release()};
        }
    }

    /// Reads until `parser` has a whole header (`header_only`) or message, from the buffer first,
    /// then from the transport.
    template <class Parser>
    asio::awaitable<error_code, Executor> read_message(Parser& parser, bool header_only) {
        for (;;) {
            // Done already when the header said there is no body (a parser converted from `head`).
            if (parser.is_done() || (header_only && parser.is_header_done()))
                co_return error_code{};
            if (buffer_.size() > 0) {
                error_code ec;
                std::size_t const used = parser.put(buffer_.data(), ec);
                buffer_.consume(used);
                if (ec && ec != beast::http::error::need_more)
                    co_return ec;
                if (!ec && used > 0)
                    continue; // the parser took a part (the header, say): offer it the rest
            }
            std::size_t const room = buffer_.max_size() - buffer_.size();
            if (room == 0)
                co_return beast::http::error::buffer_overflow; // a header larger than the read buffer
            auto const r = transport_.read_now(buffer_.prepare(std::min(room, read_chunk)));
            if (r.wait != want::nothing) {
                if (auto ec = co_await wait(r.wait))
                    co_return ec;
                continue;
            }
            if (r.ec == asio::error::eof) { // the server closed: the end of a close-delimited body, or too early
                if (!parser.got_some())
                    co_return beast::http::error::end_of_stream;
                error_code ec;
                parser.put_eof(ec);
                co_return ec;
            }
            if (r.ec)
                co_return r.ec;
            buffer_.commit(r.bytes);
            answer_started_ = answer_started_ || r.bytes > 0;
        }
    }

    /// The transport's wait, unless the coroutine was cancelled while it waited on nothing.
    asio::awaitable<error_code, Executor> wait(want w) {
        auto const state = co_await asio::this_coro::cancellation_state; // not a temporary: GCC 12
        if (cancelled(state))
            co_return asio::error::operation_aborted;
        co_return co_await transport_.wait(w);
    }

    /// The request's bytes into `out_` (kept between exchanges, so its memory is reused).
    error_code serialize(request& req) {
        out_.clear();
        beast::http::request_serializer<beast::http::string_body> sr(req);
        error_code ec;
        while (!ec && !sr.is_done())
            sr.next(ec, [&](error_code&, auto const& buffers) {
                std::size_t n = 0;
                for (auto const b : beast::buffers_range_ref(buffers)) {
                    out_.append(static_cast<char const*>(b.data()), b.size());
                    n += b.size();
                }
                sr.consume(n);
            });
        return ec;
    }

    using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor>;

    origin origin_;
    Transport transport_;
    timer_type timer_;
    std::shared_ptr<deadline_state<Transport>> deadline_;
    beast::flat_buffer buffer_;
    std::string out_; // the request being written
    bool answer_started_ = false;
    bool request_written_ = false;
};

} // namespace oic::http::detail
