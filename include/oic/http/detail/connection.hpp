#pragma once
/**
 * @file One keep-alive connection of a session's pool: a TCP socket, TLS driven straight on it, a
 * read buffer, and one request/answer exchange at a time.
 *
 * Why not `asio::ssl::stream` and `beast::http::async_read`: each TLS record then took a trip
 * through four composed operations (Beast's read, Asio's SSL engine and its BIO pair, Beast's timed
 * stream, the socket), with a copy and a timer reset per record. Here OpenSSL reads and writes the
 * non-blocking socket itself, Beast's parser and serializer run synchronously on the bytes, and
 * Asio is asked only to wait until the socket is ready. A profile of a keep-alive call had about
 * a third of its CPU time in those layers.
 */

#include <oic/error.hpp>
#include <oic/http/types.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

namespace oic::http::detail {

/// Our codes for Beast's limits and timeouts; other errors pass through.
inline error_code map_transport_error(error_code ec) {
    if (ec == beast::error::timeout)
        return error::timeout;
    if (ec == beast::http::error::body_limit)
        return error::body_too_large;
    if (ec == beast::http::error::header_limit || ec == beast::http::error::buffer_overflow)
        return error::response_too_large;
    return ec;
}

/// Whether a coroutine's cancellation state says it was cancelled. A cancellation emitted after an
/// operation completed but before the coroutine resumed reaches no operation, so each step asks
/// once its operation is done.
inline bool cancelled(asio::cancellation_state const& state) {
    return state.cancelled() != asio::cancellation_type::none;
}

/// Errors that mean a kept-alive connection was closed by the server while idle.
inline bool is_stale_connection(error_code ec) {
    return ec == beast::http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

/// How much of an answer one read may hold in memory.
struct read_limits {
    std::size_t body;
    std::size_t header;
};

/// At most this many interim (1xx) answers are skipped before one is taken as the answer.
inline constexpr int max_interim_answers = 8;

/// Bytes asked of the socket at a time: one TLS record's worth of plaintext at most.
inline constexpr std::size_t read_chunk = 16 * 1024;

/**
 * OpenSSL's I/O on a non-blocking socket descriptor, like its own socket BIO but with `send(...,
 * MSG_NOSIGNAL)`: writing to a connection the server has closed must fail with EPIPE, never raise
 * SIGPIPE in the user's process.
 */
struct socket_bio {
    static BIO_METHOD const* method() {
        static BIO_METHOD* const m = [] {
            BIO_METHOD* bm =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "oic socket");
            if (bm) {
                BIO_meth_set_write(bm, &write);
                BIO_meth_set_read(bm, &read);
                BIO_meth_set_ctrl(bm, &ctrl);
            }
            return bm;
        }();
        return m;
    }

    /// A BIO over `fd` (not owned: the socket closes it), or nullptr.
    static BIO* make(int fd) {
        BIO* const b = method() ? BIO_new(method()) : nullptr;
        if (b) {
            BIO_set_data(b, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
            BIO_set_init(b, 1);
        }
        return b;
    }

private:
    static int fd(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }
    static bool again() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

    static int write(BIO* b, char const* data, int n) {
        BIO_clear_retry_flags(b);
        auto const r = static_cast<int>(::send(fd(b), data, static_cast<std::size_t>(n), MSG_NOSIGNAL));
        if (r < 0 && again())
            BIO_set_retry_write(b);
        return r;
    }
    static int read(BIO* b, char* data, int n) {
        BIO_clear_retry_flags(b);
        auto const r = static_cast<int>(::recv(fd(b), data, static_cast<std::size_t>(n), 0));
        if (r < 0 && again())
            BIO_set_retry_read(b);
        return r;
    }
    static long ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
};

/**
 * A deadline over a socket: when it passes, the socket is shut down, so the wait in progress (or the
 * next one) sees the end of the stream, and `expired()` says why. The timer's handler may run on
 * another thread than the exchange (an executor without a strand): it shares only this guarded
 * state with it, and shuts down the descriptor only while the exchange that armed it runs, so a
 * descriptor number reused after close is never touched.
 */
class deadline_state {
public:
    explicit deadline_state(int fd) : fd_(fd) {}

    std::uint64_t arm() {
        std::lock_guard lock(mutex_);
        expired_ = false;
        return armed_ = ++generation_;
    }
    void disarm() {
        std::lock_guard lock(mutex_);
        armed_ = 0;
    }
    /// The connection closes its socket: nothing may be shut down any more.
    void forget_socket() {
        std::lock_guard lock(mutex_);
        armed_ = 0;
        fd_ = -1;
    }
    void expire(std::uint64_t generation) {
        std::lock_guard lock(mutex_);
        if (armed_ != generation || fd_ < 0)
            return;
        expired_ = true;
        ::shutdown(fd_, SHUT_RDWR);
    }
    bool expired() const {
        std::lock_guard lock(mutex_);
        return expired_;
    }

private:
    mutable std::mutex mutex_;
    int fd_;
    std::uint64_t generation_ = 0;
    std::uint64_t armed_ = 0; // the generation whose deadline may shut the socket down; 0: none
    bool expired_ = false;
};

/// One TCP or TLS connection to one origin, with its read buffer.
template <class Executor>
class connection {
public:
    using socket_type = asio::basic_stream_socket<asio::ip::tcp, Executor>;

    /// `socket` is connected; with `tls`, the handshake is still to be done (`handshake`).
    connection(origin o, socket_type&& socket, asio::ssl::context* tls, std::size_t read_buffer_size)
        : origin_(std::move(o)), socket_(std::move(socket)), timer_(socket_.get_executor()),
          deadline_(std::make_shared<deadline_state>(socket_.native_handle())), buffer_(read_buffer_size) {
        socket_.non_blocking(true, setup_error_);
        if (tls && !setup_error_) {
            ssl_.reset(SSL_new(tls->native_handle()));
            BIO* const bio = ssl_ ? socket_bio::make(socket_.native_handle()) : nullptr;
            if (!bio) {
                setup_error_ = last_tls_error();
                ssl_.reset();
                return;
            }
            SSL_set_bio(ssl_.get(), bio, bio); // one reference, owned by the SSL from here on
            // OpenSSL's 17 KiB record buffers only while a record is in flight: a connection waiting
            // for a slow answer holds less (inflight_memory: 116 -> 99 KiB per call; no CPU cost seen).
            SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
        }
    }
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;
    ~connection() { deadline_->forget_socket(); } // before the socket closes

    origin const& get_origin() const noexcept { return origin_; }

    bool session_kept = false; ///< the pool keeps a copy of this connection's TLS session already

    /// The TLS connection, or nullptr for plain http.
    SSL* ssl() noexcept { return ssl_.get(); }

    /// No unread bytes after an answer. A server that sent more than it was asked for is not
    /// trusted with the next request on this connection.
    bool drained() const noexcept { return buffer_.size() == 0; }

    /// TLS handshake with SNI and host name (or IP address) verification, before `deadline`; a
    /// no-op for plain connections.
    asio::awaitable<error_code, Executor> handshake(clock::time_point deadline) {
        if (setup_error_ || !ssl_)
            co_return setup_error_;
        SSL* const s = ssl_.get();
        boost::system::error_code not_ip;
        asio::ip::make_address(origin_.host, not_ip);
        bool const named =
            not_ip && SSL_set_tlsext_host_name(s, origin_.host.c_str()) && SSL_set1_host(s, origin_.host.c_str());
        bool const ip = !not_ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), origin_.host.c_str());
        if (!named && !ip)
            co_return last_tls_error();
        SSL_set_verify(s, SSL_VERIFY_PEER, nullptr);
        armed_deadline armed(*this, deadline);
        for (;;) {
            clear_tls_errors();
            auto const r = tls_result(SSL_connect(s), 0);
            if (r.wait == want::nothing)
                co_return failed(r.ec);
            if (auto ec = co_await wait(r.wait))
                co_return failed(ec);
        }
    }

    /// Writes `req` and reads one answer (skipping interim 1xx answers), all before `deadline`:
    /// the deadline shuts the socket down however slowly the server sends.
    asio::awaitable<std::tuple<error_code, response>, Executor> exchange(request& req, read_limits limits,
                                                                         clock::time_point deadline) {
        armed_deadline armed(*this, deadline);
        if (auto ec = serialize(req))
            co_return std::tuple{ec, response{}};
        for (std::size_t written = 0; written < out_.size();) {
            auto const r = write_now(asio::buffer(out_) + written);
            if (r.wait != want::nothing) {
                if (auto ec = co_await wait(r.wait))
                    co_return std::tuple{failed(ec), response{}};
                continue;
            }
            if (r.ec)
                co_return std::tuple{failed(r.ec), response{}};
            written += r.bytes;
        }
        for (int interim = 0;; ++interim) {
            beast::http::response_parser<beast::http::string_body> parser;
            parser.eager(true);
            parser.body_limit(limits.body);
            parser.header_limit(static_cast<std::uint32_t>(limits.header));
            if (auto ec = co_await read_message(parser))
                co_return std::tuple{failed(ec), response{}};
            auto const status = parser.get().result_int();
            if (status / 100 == 1 && status != 101 && interim < max_interim_answers)
                continue; // 100 Continue, 103 Early Hints: the answer follows
            co_return std::tuple{error_code{}, parser.release()};
        }
    }

private:
    enum class want { nothing, read, write };
    /// What one non-blocking step did: bytes moved, an error, or what to wait for before retrying.
    struct step {
        error_code ec;
        std::size_t bytes = 0;
        want wait = want::nothing;
    };

    /// Arms the deadline for one handshake or exchange; disarms it (and cancels the timer, which
    /// would otherwise keep an idle io_context running) when the scope ends.
    class armed_deadline {
    public:
        armed_deadline(connection& c, clock::time_point deadline) : c_(c) {
            auto const generation = c.deadline_->arm();
            c.timer_.expires_at(deadline);
            c.timer_.async_wait([state = c.deadline_, generation](error_code ec) {
                if (!ec)
                    state->expire(generation);
            });
        }
        armed_deadline(armed_deadline const&) = delete;
        armed_deadline& operator=(armed_deadline const&) = delete;
        ~armed_deadline() {
            c_.deadline_->disarm();
            c_.timer_.cancel();
        }

    private:
        connection& c_;
    };

    /// Reads until `parser` has a whole message, from the buffer first, then from the socket.
    asio::awaitable<error_code, Executor> read_message(beast::http::response_parser<beast::http::string_body>& parser) {
        for (;;) {
            if (buffer_.size() > 0) {
                error_code ec;
                std::size_t const used = parser.put(buffer_.data(), ec);
                buffer_.consume(used);
                if (ec && ec != beast::http::error::need_more)
                    co_return ec;
                if (parser.is_done())
                    co_return error_code{};
                if (!ec && used > 0)
                    continue; // the parser took a part (the header, say): offer it the rest
            }
            std::size_t const room = buffer_.max_size() - buffer_.size();
            if (room == 0)
                co_return beast::http::error::buffer_overflow; // a header larger than the read buffer
            auto const r = read_now(buffer_.prepare(std::min(room, read_chunk)));
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
        }
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

    asio::awaitable<error_code, Executor> wait(want w) {
        auto [ec] = co_await socket_.async_wait(w == want::read ? socket_type::wait_read : socket_type::wait_write,
                                                asio::as_tuple(asio::use_awaitable_t<Executor>{}));
        co_return ec;
    }

    step read_now(asio::mutable_buffer b) {
        if (ssl_) {
            clear_tls_errors();
            std::size_t n = 0;
            int const ok = SSL_read_ex(ssl_.get(), b.data(), b.size(), &n);
            return tls_result(ok, n);
        }
        error_code ec;
        std::size_t const n = socket_.read_some(b, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again)
            return {{}, 0, want::read};
        return {ec, n};
    }

    step write_now(asio::const_buffer b) {
        if (ssl_) {
            clear_tls_errors();
            std::size_t n = 0;
            int const ok = SSL_write_ex(ssl_.get(), b.data(), b.size(), &n);
            return tls_result(ok, n);
        }
        error_code ec;
        std::size_t const n = socket_.write_some(b, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again)
            return {{}, 0, want::write};
        return {ec, n};
    }

    /// What an OpenSSL call's result means, with the errors Asio's SSL stream would give.
    step tls_result(int ok, std::size_t n) {
        if (ok > 0)
            return {{}, n};
        int const saved_errno = errno;
        switch (SSL_get_error(ssl_.get(), ok)) {
        case SSL_ERROR_WANT_READ: return {{}, 0, want::read};
        case SSL_ERROR_WANT_WRITE: return {{}, 0, want::write};
        case SSL_ERROR_ZERO_RETURN: return {asio::error::eof}; // the server's close_notify
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0)
                return {saved_errno ? error_code(saved_errno, boost::system::system_category())
                                    : error_code(asio::ssl::error::stream_truncated)};
            return {last_tls_error()};
        default: return {last_tls_error()};
        }
    }

    /// The first error on OpenSSL's queue (an end of stream without close_notify is
    /// `stream_truncated`, as with Asio's SSL stream); the queue is left empty.
    static error_code last_tls_error() {
        unsigned long const e = ERR_get_error();
        ERR_clear_error();
        if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return asio::ssl::error::stream_truncated;
        return e ? error_code(static_cast<int>(e), asio::error::get_ssl_category())
                 : error_code(asio::ssl::error::stream_truncated);
    }

    /// OpenSSL's result codes are reliable only with an empty error queue; clearing an empty one
    /// costs more than looking.
    static void clear_tls_errors() {
        if (ERR_peek_error() != 0)
            ERR_clear_error();
    }

    /// A failure as the caller should see it: a deadline that shut the socket down is a timeout.
    error_code failed(error_code ec) const {
        if (ec && ec != asio::error::operation_aborted && deadline_->expired())
            return beast::error::timeout;
        return ec;
    }

    struct ssl_free {
        void operator()(SSL* s) const noexcept { SSL_free(s); }
    };
    using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor>;

    origin origin_;
    socket_type socket_;
    std::unique_ptr<SSL, ssl_free> ssl_; // null: plain http
    error_code setup_error_;             // the socket could not be set up (non-blocking, TLS state)
    timer_type timer_;
    std::shared_ptr<deadline_state> deadline_;
    beast::flat_buffer buffer_;
    std::string out_; // the request being written
};

} // namespace oic::http::detail
