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
#include <oic/detail/tls.hpp>
#include <oic/error.hpp>
#include <oic/http/body_sink.hpp>
#include <oic/http/body_source.hpp>
#include <oic/http/detail/transport.hpp>
#include <oic/http/types.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
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
#include <variant>

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

/// Bytes of a streamed request body read from its source and written at a time.
inline constexpr std::size_t write_chunk = 64 * 1024;

/// A request body read from a source as it is sent.
struct upload {
    body_source* source = nullptr;
    /// With `Expect: 100-continue` in the request: how long to wait for the server's word before
    /// sending the body anyway.
    clock::duration expect_wait = std::chrono::seconds(1);
};

/// One connection to one origin over a transport (see transport.hpp), with its read buffer.
template <class Executor, byte_transport Transport = socket_transport<Executor>>
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
    bool drained() const noexcept { return buffer_.size() == 0 && !transport_.has_pending(); }

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
    /// With `sink`, the body of a 2xx answer goes there instead of into the answer. With
    /// `upload.source`, the body is read from there as it is sent (see `upload`).
    asio::awaitable<std::tuple<error_code, response>, Executor>
    exchange(request& req, read_limits limits, clock::time_point deadline, body_sink* sink = nullptr, upload up = {}) {
        armed_deadline armed(timer_, deadline_, deadline);
        auto [ec, res] = co_await exchange_steps(req, limits, sink, up);
        armed.disarm();
        if (ec && ec != asio::error::operation_aborted && interrupted())
            ec = beast::error::timeout;
        co_return std::tuple{ec, std::move(res)};
    }

    /// Whether the last request went out whole: a final answer that came while its body was
    /// still being sent stops the upload, and the connection cannot carry another request.
    bool request_whole() const noexcept { return request_whole_; }

    /// Whether the last exchange failed because its body source did (see `body_source::describe`).
    bool source_failed() const noexcept { return source_failed_; }

    /// Whether the deadline of the last handshake or exchange shut the transport down (its
    /// answer, if whole, still counts; the connection may not be used again).
    bool interrupted() const { return deadline_->expired(); }

private:
    asio::awaitable<std::tuple<error_code, response>, Executor> exchange_steps(request& req, read_limits limits,
                                                                               body_sink* sink, upload up) {
        answer_started_ = false;
        request_written_ = false;
        request_whole_ = false;
        source_failed_ = false;
        if (up.source && !up.source->rewind())
            co_return std::tuple{error_code(error::body_not_replayable), response{}};
        if (auto ec = serialize(req))
            co_return std::tuple{ec, response{}};
        if (auto [ec, answered] = co_await write_out(asio::buffer(out_), false); ec)
            co_return std::tuple{ec, response{}};
        if (up.source && up.source->size() > 0) {
            if (auto ec =
                    co_await send_body(*up.source, req.count(beast::http::field::expect) > 0, up.expect_wait, limits))
                co_return std::tuple{ec, response{}};
        } else {
            request_whole_ = true;
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

    /// Writes `bytes` whole. With `watch`, an answer that arrives meanwhile stops the write:
    /// `answered` (its bytes are in the read buffer).
    asio::awaitable<std::tuple<error_code, bool>, Executor> write_out(asio::const_buffer bytes, bool watch,
                                                                      read_limits const* limits = nullptr) {
        for (std::size_t written = 0; written < bytes.size();) {
            auto const r = transport_.write_now(bytes + written);
            if (r.wait == want::write && watch) {
                // A server that stopped reading may be answering: wait for either.
                using namespace asio::experimental::awaitable_operators;
                auto const either = co_await (wait(want::write) || wait(want::read));
                if (auto const ec = std::visit([](error_code e) { return e; }, either))
                    co_return std::tuple{ec, false};
                if (either.index() == 1) {
                    auto [ec, status] = poll_answer(*limits);
                    if (ec || status >= 200)
                        co_return std::tuple{ec, ec ? false : true};
                }
                continue;
            }
            if (r.wait != want::nothing) {
                if (auto ec = co_await wait(r.wait))
                    co_return std::tuple{ec, false};
                continue;
            }
            if (r.ec)
                co_return std::tuple{r.ec, false};
            written += r.bytes;
            request_written_ = request_written_ || r.bytes > 0;
        }
        co_return std::tuple{error_code{}, false};
    }

    /**
     * The body from `source`, after the header went out. With `expect` (the header asked
     * `Expect: 100-continue`), up to `expect_wait` for the server's word first: `100 Continue`
     * sends the body, a final answer (a redirect, a refusal) is the answer and no byte of the body
     * goes, silence sends it anyway. A final answer that arrives while the body is being sent stops
     * it at once. Either way the answer is left in the read buffer for the exchange to read.
     */
    asio::awaitable<error_code, Executor> send_body(body_source& source, bool expect, clock::duration expect_wait,
                                                    read_limits const& limits) {
        if (expect) {
            auto const until = clock::now() + expect_wait;
            for (;;) {
                auto [ec, status] = poll_answer(limits);
                if (ec || status >= 200)
                    co_return ec; // a final answer before the body: no byte of it goes
                if (status == 100)
                    break;
                auto const left = until - clock::now();
                if (left <= clock::duration::zero())
                    break; // a server that ignores Expect: send the body anyway (as curl does)
                timer_type pause(co_await asio::this_coro::executor, left);
                using namespace asio::experimental::awaitable_operators;
                auto const either =
                    co_await (wait(want::read) || pause.async_wait(asio::as_tuple(asio::use_awaitable_t<Executor>{})));
                if (either.index() == 0 && std::get<0>(either))
                    co_return std::get<0>(either);
                if (either.index() == 1) {
                    auto const state = co_await asio::this_coro::cancellation_state; // not a temporary: GCC 12
                    if (cancelled(state))
                        co_return asio::error::operation_aborted;
                }
            }
        }
        out_.resize(write_chunk);
        for (std::uint64_t left = source.size(); left > 0;) {
            if (auto [ec, status] = poll_answer(limits); ec || status >= 200)
                co_return ec; // answered before the body was whole: stop, and read the answer
            error_code ec;
            auto const n = std::min<std::uint64_t>(left, source.read(asio::buffer(out_), ec));
            if (!ec && n == 0)
                ec = make_error_code(boost::system::errc::file_too_large); // shorter than it said
            if (ec) {
                source_failed_ = true;
                co_return ec;
            }
            auto [wec, answered] = co_await write_out(asio::buffer(out_.data(), n), true, &limits);
            if (wec || answered)
                co_return wec;
            left -= n;
        }
        request_whole_ = true;
        co_return error_code{};
    }

    /**
     * Whether the server has answered yet, without waiting: reads what is there, then looks at the
     * front of the read buffer. The status of a whole header there (0: none yet); an interim
     * `100 Continue` or `103` is taken off the buffer and reported; a final one is left in it.
     * A malformed or failed answer is reported as final, for the exchange to read and report.
     */
    std::tuple<error_code, unsigned> poll_answer(read_limits const& limits) {
        for (;;) {
            std::size_t const room = buffer_.max_size() - buffer_.size();
            if (room == 0)
                break;
            auto const r = transport_.read_now(buffer_.prepare(std::min(room, read_chunk)));
            if (r.wait != want::nothing)
                break;
            if (r.ec == asio::error::eof || (r.ec && buffer_.size() > 0))
                return {error_code{}, 999}; // closed after an answer, or too early: reading says which
            if (r.ec)
                return {r.ec, 0};
            buffer_.commit(r.bytes);
            answer_started_ = answer_started_ || r.bytes > 0;
            if (r.bytes == 0)
                break;
        }
        if (buffer_.size() == 0)
            return {error_code{}, 0};
        beast::http::response_parser<beast::http::empty_body> head;
        head.header_limit(static_cast<std::uint32_t>(limits.header));
        error_code ec;
        auto const used = head.put(buffer_.data(), ec);
        if (ec == beast::http::error::need_more)
            return {error_code{}, 0};
        if (ec || !head.is_header_done())
            return {error_code{}, 999};
        auto const status = head.get().result_int();
        if (status / 100 == 1 && status != 101) {
            buffer_.consume(used);
            return {error_code{}, status};
        }
        return {error_code{}, status};
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
                // A connection waiting for an answer holds no read buffer, its own or OpenSSL's:
                // calls held by a slow server cost less memory, for one allocation when the
                // answer comes (inflight_memory in benchmarks/README.md).
                if (buffer_.size() == 0) {
                    buffer_.shrink_to_fit();
                    if (r.wait == want::read && transport_.ssl())
                        oic::detail::free_idle_tls_buffers(transport_.ssl());
                }
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
    bool request_whole_ = false;
    bool source_failed_ = false;
};

} // namespace oic::http::detail
