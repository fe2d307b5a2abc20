#pragma once
/**
 * @file The byte transport under a connection: a TCP socket with TLS driven straight on it, and
 * the connector that opens one (resolve, loopback check, connect).
 *
 * A connection asks its transport for three non-blocking steps (`read_now`, `write_now`,
 * `handshake_now`) and to `wait` until one can go on; that is the seam where unit tests put a
 * scripted transport, to run the pool and the exchange with a failure injected at every step.
 * The concepts `byte_transport` and `transport_connector` below say what a transport and the
 * connector that opens one provide.
 */

#include <oic/detail/cancelled.hpp>
#include <oic/detail/tls.hpp>
#include <oic/error.hpp>
#include <oic/http/detail/loopback.hpp>
#include <oic/http/types.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <concepts>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace oic::http::detail {

/// What a transport waits for before a step can go on.
enum class want { nothing, read, write };

/// What one non-blocking step did: bytes moved, an error, or what to wait for before retrying.
struct transport_step {
    error_code ec;
    std::size_t bytes = 0;
    want wait = want::nothing;
};

/**
 * What a connection needs of its transport:
 * - `start_handshake(origin)` sets up the TLS check (nothing without TLS), `handshake_now()` steps it;
 * - `read_now`, `write_now`: one non-blocking step each, or what to wait for;
 * - `wait(want)`: until that step can go on (or the transport was interrupted);
 * - `has_pending()`: bytes read from the socket that `read_now` has not returned yet;
 * - `ssl()`: the TLS session (nullptr without TLS);
 * - `interrupt()`: callable from any thread while the others run, so that a wait in progress, or
 *   the next one, ends.
 */
template <class T>
concept byte_transport = std::move_constructible<T> &&
    requires(T& t, T const& ct, origin const& o, asio::mutable_buffer in, asio::const_buffer out, want w) {
    typename T::executor_type;
    { t.get_executor() } -> std::convertible_to<typename T::executor_type>;
    { t.start_handshake(o) } -> std::same_as<error_code>;
    { t.handshake_now() } -> std::same_as<transport_step>;
    { t.read_now(in) } -> std::same_as<transport_step>;
    { t.write_now(out) } -> std::same_as<transport_step>;
    { t.wait(w) } -> std::same_as<asio::awaitable<error_code, typename T::executor_type>>;
    { ct.has_pending() } -> std::same_as<bool>;
    { t.ssl() } -> std::same_as<SSL*>;
    { t.interrupt() }
    noexcept;
};

/// What the pool needs of a connector: `connect(origin, tls, deadline, diag)` gives a transport
/// (TLS over it when `tls` is given), or an error reported in `diag`.
template <class C>
concept transport_connector = byte_transport<typename C::transport_type> &&
    requires(C& c, origin const& o, asio::ssl::context* tls, clock::time_point deadline, diagnostics& diag) {
    {
        c.connect(o, tls, deadline, diag)
        } -> std::same_as<asio::awaitable<std::tuple<error_code, std::optional<typename C::transport_type>>,
                                          typename C::transport_type::executor_type>>;
};

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

/// A connected TCP socket, with TLS over it when a context is given. Movable until a connection
/// holds it.
template <class Executor>
class socket_transport {
public:
    using executor_type = Executor;
    using socket_type = asio::basic_stream_socket<asio::ip::tcp, Executor>;

    /// `socket` is connected; with `tls`, the handshake is still to be done.
    socket_transport(socket_type&& socket, asio::ssl::context* tls)
        : socket_(std::move(socket)), fd_(socket_.native_handle()) {
        socket_.non_blocking(true, setup_error_);
        if (tls && !setup_error_) {
            ssl_.reset(SSL_new(tls->native_handle()));
            BIO* const bio = ssl_ ? socket_bio::make(fd_) : nullptr;
            if (!bio) {
                setup_error_ = oic::detail::last_tls_error();
                ssl_.reset();
                return;
            }
            SSL_set_bio(ssl_.get(), bio, bio); // one reference, owned by the SSL from here on
            // OpenSSL's record buffers only while a record is in flight (after the handshake, the
            // connection frees them as it waits: `free_idle_tls_buffers`).
            SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
            // One recv per record, not two (its 5-byte header, then the rest).
            // Safe with `wait(read)`: OpenSSL asks to wait only when what it buffered is not a whole
            // record, and the rest of that record is still to come from the socket.
            SSL_set_read_ahead(ssl_.get(), 1);
            // And one recv for several records: a 41 KiB page arrives in 1.2 recvs instead of 3.3,
            // 8% less CPU per call (bench: the same binary's two builds, alternated). The buffer
            // exists only while an answer is being read (see above), so a waiting call holds none.
            SSL_set_default_read_buffer_len(ssl_.get(), 64 * 1024);
        }
    }

    /// Bytes read from the socket that no `read_now` has returned yet (TLS read-ahead).
    bool has_pending() const noexcept { return ssl_ && SSL_has_pending(ssl_.get()); }

    executor_type get_executor() noexcept { return socket_.get_executor(); }

    /// The TLS connection, or nullptr for plain http.
    SSL* ssl() noexcept { return ssl_.get(); }

    /// Sets up SNI and host name (or IP address) verification for `o`; for plain http, only says
    /// whether the socket could be set up.
    error_code start_handshake(origin const& o) {
        if (setup_error_ || !ssl_)
            return setup_error_;
        return oic::detail::verify_server(ssl_.get(), o.host);
    }

    transport_step handshake_now() {
        if (!ssl_)
            return {};
        clear_tls_errors();
        return tls_result(SSL_connect(ssl_.get()), 0);
    }

    transport_step read_now(asio::mutable_buffer b) {
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

    transport_step write_now(asio::const_buffer b) {
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

    asio::awaitable<error_code, Executor> wait(want w) {
        auto [ec] = co_await socket_.async_wait(w == want::read ? socket_type::wait_read : socket_type::wait_write,
                                                asio::as_tuple(asio::use_awaitable_t<Executor>{}));
        co_return ec;
    }

    /// Shuts the socket down (from any thread): a wait in progress, or the next, sees the end of
    /// the stream. The descriptor stays open until the transport is destroyed.
    void interrupt() noexcept { ::shutdown(fd_, SHUT_RDWR); }

private:
    /// What an OpenSSL call's result means, with the errors Asio's SSL stream would give.
    transport_step tls_result(int ok, std::size_t n) {
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
            return {oic::detail::last_tls_error()};
        default: return {oic::detail::last_tls_error()};
        }
    }

    /// OpenSSL's result codes are reliable only with an empty error queue; clearing an empty one
    /// costs more than looking.
    static void clear_tls_errors() {
        if (ERR_peek_error() != 0)
            ERR_clear_error();
    }

    struct ssl_free {
        void operator()(SSL* s) const noexcept { SSL_free(s); }
    };

    socket_type socket_;
    int fd_;                             // the socket's descriptor, read by interrupt() on any thread
    std::unique_ptr<SSL, ssl_free> ssl_; // null: plain http
    error_code setup_error_;             // the socket could not be set up (non-blocking, TLS state)
};

/**
 * A deadline over a transport (or a socket being connected): when it passes, the target is
 * interrupted (a socket is shut down), so the wait in progress, or the next one, ends, and
 * `expired()` says why. The timer's handler may run on another thread than the operation (an
 * executor without a strand): it shares only this guarded state with it, never closes anything, and
 * interrupts only while the step that armed it runs and the target exists, so a descriptor number
 * reused after close is never touched.
 */
template <class Transport>
class deadline_state {
public:
    explicit deadline_state(Transport& t) : transport_(&t) {}

    std::uint64_t arm() {
        std::lock_guard lock(mutex_);
        expired_ = false;
        return armed_ = ++generation_;
    }
    void disarm() {
        std::lock_guard lock(mutex_);
        armed_ = 0;
    }
    /// The connection destroys its transport: nothing may be interrupted any more.
    void forget_transport() {
        std::lock_guard lock(mutex_);
        armed_ = 0;
        transport_ = nullptr;
    }
    void expire(std::uint64_t generation) {
        std::lock_guard lock(mutex_);
        if (armed_ != generation || !transport_)
            return;
        expired_ = true;
        transport_->interrupt();
    }
    bool expired() const {
        std::lock_guard lock(mutex_);
        return expired_;
    }

private:
    mutable std::mutex mutex_;
    Transport* transport_;
    std::uint64_t generation_ = 0;
    std::uint64_t armed_ = 0; // the generation whose deadline may interrupt; 0: none
    bool expired_ = false;
};

/// Arms `state`'s deadline on `timer` for one step (a connect, a handshake, an exchange); disarms
/// it, and cancels the timer (which would otherwise keep an idle io_context running), when the
/// scope ends.
template <class Timer, class Target>
class armed_deadline {
public:
    armed_deadline(Timer& timer, std::shared_ptr<deadline_state<Target>> const& state, clock::time_point deadline)
        : timer_(timer), state_(*state) {
        auto const generation = state->arm();
        timer.expires_at(deadline);
        timer.async_wait([state, generation](error_code ec) {
            if (!ec)
                state->expire(generation);
        });
    }
    armed_deadline(armed_deadline const&) = delete;
    armed_deadline& operator=(armed_deadline const&) = delete;
    ~armed_deadline() { disarm(); }

    /// From here on the deadline interrupts nothing, and `expired()` says for good whether it did.
    void disarm() {
        state_.disarm();
        timer_.cancel();
    }

private:
    Timer& timer_;
    deadline_state<Target>& state_;
};

/// What a deadline interrupts while a socket connects: a shutdown ends a connect in progress.
struct connecting_socket {
    int fd;
    void interrupt() noexcept { ::shutdown(fd, SHUT_RDWR); }
};

/// Opens `socket_transport`s: resolves the host (IP literals are not looked up), connects with a
/// deadline, and sets TCP_NODELAY.
template <class Executor>
class tcp_connector {
public:
    using transport_type = socket_transport<Executor>;

    explicit tcp_connector(Executor ex) : ex_(ex) {}

    /// A transport to `o` (TLS over it when `tls` is given), or an error reported in `diag`.
    asio::awaitable<std::tuple<error_code, std::optional<transport_type>>, Executor>
    connect(origin const& o, asio::ssl::context* tls, clock::time_point deadline, diagnostics& diag) {
        using oic::detail::report;
        auto failed = [](error_code ec) { return std::tuple{ec, std::optional<transport_type>()}; };
        auto token = asio::as_tuple(asio::use_awaitable_t<Executor>{});
        error_code not_literal;
        asio::ip::make_address(o.host, not_literal);
        bool const literal = !not_literal;
        using resolver_type = asio::ip::tcp::resolver;
        resolver_type resolver(ex_);
        auto [rec, results] = co_await resolver.async_resolve(
            o.host, std::to_string(o.port), literal ? resolver_type::numeric_host : resolver_type::flags{}, token);
        if (rec)
            co_return failed(report(diag, rec, "cannot resolve " + o.host + ": " + rec.message()));
        std::string refused;
        auto const endpoints = allowed_endpoints(o.host, results, refused);
        if (endpoints.empty())
            co_return failed(report(diag, error::insecure_transport, refused));

        // One socket per address tried, opened and closed only here; the deadline only shuts the
        // one connecting down (see deadline_state), from whatever thread its timer fires on.
        asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor> timer(ex_);
        error_code cec;
        for (auto const& ep : endpoints) {
            typename transport_type::socket_type socket(ex_);
            if (socket.open(ep.protocol(), cec))
                continue;
            connecting_socket target{socket.native_handle()};
            auto const state = std::make_shared<deadline_state<connecting_socket>>(target);
            auto const cancellation = co_await asio::this_coro::cancellation_state; // not a temporary: GCC 12
            if (oic::detail::cancelled(cancellation)) {
                cec = asio::error::operation_aborted;
                break;
            }
            {
                armed_deadline armed(timer, state, deadline);
                std::tie(cec) = co_await socket.async_connect(ep, token);
            }
            if (state->expired()) { // the socket may have been shut down, connected or not
                cec = error::timeout;
                break;
            }
            if (!cec) {
                socket.set_option(asio::ip::tcp::no_delay(true), cec);
                if (!cec)
                    co_return std::tuple{error_code{},
                                         std::optional<transport_type>(std::in_place, std::move(socket), tls)};
            }
            if (cec == asio::error::operation_aborted) // cancelled: no other address is tried
                break;
        }
        co_return failed(report(diag, cec,
                                "cannot connect to " + o.to_string() + ": " +
                                    (cec == error::timeout ? std::string("timed out") : cec.message())));
    }

private:
    Executor ex_;
};

} // namespace oic::http::detail
