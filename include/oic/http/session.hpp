#pragma once
/**
 * @file An HTTP/1.1 session: TLS, keep-alive connection pool, timeouts, limits and the redirect
 * engine. It knows nothing of OAuth or OIC; the token fetch and the API calls both go through it.
 */

#include <oic/detail/async_run.hpp>
#include <oic/error.hpp>
#include <oic/http/detail/connection.hpp>
#include <oic/http/detail/send_machine.hpp>
#include <oic/http/redirect.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace oic::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

/// Transport settings. Defaults suit a CLI talking to OIC over the internet.
struct session_options {
    std::string ca_file;                                        ///< extra trusted CA (PEM), besides the system store
    clock::duration connect_timeout = std::chrono::seconds(10); ///< resolve is not bounded by Asio; TCP + TLS are
    clock::duration request_timeout = std::chrono::seconds(30); ///< one exchange: write the request, read the answer
    clock::duration total_timeout = std::chrono::seconds(60);   ///< one call, redirects and retries included
    std::size_t max_body_size = 16 * 1024 * 1024;               ///< answers larger than this fail
    std::size_t max_header_size = 16 * 1024;  ///< status line + header fields; also each chunk header and the trailers
    std::size_t read_buffer_size = 64 * 1024; ///< a connection's read buffer never grows past this (>= max_header_size)
    /// Open at once, idle ones included, all origins together: a new connection closes the one
    /// idle the longest when the pool is full; callers beyond it wait for a connection in turn.
    std::size_t max_connections = 16;
    std::size_t max_connections_per_origin = 0; ///< open at once to one origin, idle included; 0: max_connections
    /// An idle connection older than this is closed, not reused (checked whenever the pool is used:
    /// a timer would keep an idle io_context's run() from returning).
    clock::duration idle_timeout = std::chrono::seconds(50);
    int max_redirects = 5; ///< hop limit per call
};

/// Per-call knobs of `basic_session::send`.
struct send_options {
    bool body_has_credentials = false; ///< client_secret_post: the body may not cross origins
    std::size_t max_body_size = 0;     ///< 0: the session's limit
    bool use_redirect_memory = true;   ///< false (token requests): neither use nor learn remembered hops
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

/// An answer and the URL that gave it (after redirects and remembered hops).
struct reply {
    response message;
    urls::url url;
};

namespace detail {

/// Headers that count as credentials: re-added per hop only where the policy allows.
inline constexpr beast::http::field credential_fields[] = {
    beast::http::field::authorization, beast::http::field::proxy_authorization, beast::http::field::cookie};

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

/**
 * At most N connections in use at once. A caller over the limit waits, first come first served,
 * until a permit comes back or its deadline passes; a cancelled or timed-out wait leaves the count
 * as it was. Thread-safe: the count is guarded by a mutex and taken without any hop while one is
 * free; waiters queue on a strand, each on its own timer. Shared-owned, so that a permit released
 * as a call ends can still be handed over after everything else is gone.
 */
template <class Executor>
class connection_permits : public std::enable_shared_from_this<connection_permits<Executor>> {
public:
    connection_permits(Executor ex, std::size_t n) : strand_(asio::make_strand(ex)), free_(n) {}

    /// Takes a permit: `{}`, `error::timeout` at `deadline`, or `operation_aborted` when cancelled
    /// (terminal, partial or total); only `{}` leaves a permit taken.
    asio::awaitable<error_code, Executor> acquire(clock::time_point deadline) {
        if (try_take())
            co_return error_code{};
        co_return co_await asio::co_spawn(strand_, wait(this->shared_from_this(), deadline),
                                          asio::use_awaitable_t<Executor>{});
    }

    /// Gives a permit back: to the first waiter, or to the free count.
    void release() {
        {
            std::lock_guard lock(mutex_);
            if (queued_ == 0) {
                ++free_;
                return;
            }
        }
        asio::post(strand_, [self = this->shared_from_this()] { self->hand_over(); });
    }

private:
    using strand_type = asio::strand<Executor>;
    using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, strand_type>;
    struct waiter {
        timer_type timer;
        bool granted = false;
    };

    bool try_take() {
        std::lock_guard lock(mutex_);
        if (free_ == 0)
            return false;
        --free_;
        return true;
    }

    static asio::awaitable<error_code, strand_type> wait(std::shared_ptr<connection_permits> self,
                                                         clock::time_point deadline) {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        {
            // On the strand, where hand_over runs: a permit released since acquire() looked is here now.
            std::lock_guard lock(self->mutex_);
            if (self->free_ > 0) {
                --self->free_;
                co_return error_code{};
            }
            ++self->queued_;
        }
        waiter w{timer_type(self->strand_, deadline)};
        self->queue_.push_back(&w);
        auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable_t<strand_type>{}));
        if (w.granted) // handed over, whatever else woke us: the permit is ours to use or give back
            co_return error_code{};
        std::erase(self->queue_, &w);
        {
            std::lock_guard lock(self->mutex_);
            --self->queued_;
        }
        co_return ec ? error_code(asio::error::operation_aborted) : error_code(error::timeout);
    }

    void hand_over() { // strand only
        if (!queue_.empty()) {
            waiter* w = queue_.front();
            queue_.pop_front();
            {
                std::lock_guard lock(mutex_);
                --queued_;
            }
            w->granted = true;
            w->timer.cancel();
            return;
        }
        std::lock_guard lock(mutex_);
        ++free_;
    }

    strand_type strand_;
    mutable std::mutex mutex_;
    std::size_t free_;          // guarded by mutex_
    std::size_t queued_ = 0;    // guarded by mutex_: waiters in queue_ or about to be
    std::deque<waiter*> queue_; // strand only
};

/// What a pool may hold; see `session_options`.
struct pool_limits {
    std::size_t max_connections;
    std::size_t max_per_origin;
    clock::duration idle_timeout;
    std::size_t read_buffer_size;
};

/**
 * Keep-alive connections by origin: at most `max_connections` open (idle ones included) and
 * `max_per_origin` to one origin; callers beyond either limit wait in turn (first come, first
 * served). The last TLS session of each origin is kept to resume the next handshake there.
 * Thread-safe: the idle list, the counts and the session cache are guarded by a mutex; the limits
 * are `connection_permits`.
 */
template <class Executor>
class connection_pool {
public:
    using connection_type = connection<Executor>;
    using permits_ptr = std::shared_ptr<connection_permits<Executor>>;

    connection_pool(Executor ex, pool_limits limits)
        : ex_(ex), limits_(limits),
          permits_(std::make_shared<connection_permits<Executor>>(ex, limits.max_connections)) {}

    /// A connection in use; goes back to the pool on destruction if marked reusable (else it is
    /// closed), and its permits go back in any case.
    class lease {
    public:
        lease() = default; ///< holds nothing (what a failed acquire returns)
        lease(connection_pool* pool, permits_ptr origin_permits)
            : pool_(pool), origin_permits_(std::move(origin_permits)) {}
        lease(lease&& o) noexcept
            : pool_(std::exchange(o.pool_, nullptr)), origin_permits_(std::move(o.origin_permits_)),
              conn_(std::move(o.conn_)), reused_(o.reused_), keep_(o.keep_) {}
        lease& operator=(lease&&) = delete;
        ~lease() {
            if (pool_)
                pool_->release(std::move(conn_), keep_, *origin_permits_);
        }
        void attach(std::unique_ptr<connection_type> c, bool reused) noexcept {
            conn_ = std::move(c);
            reused_ = reused;
        }
        connection_type& operator*() const noexcept { return *conn_; }
        connection_type* operator->() const noexcept { return conn_.get(); }
        bool reused() const noexcept { return reused_; }
        void keep_alive(bool keep) noexcept { keep_ = keep; }

    private:
        connection_pool* pool_ = nullptr;
        permits_ptr origin_permits_;
        std::unique_ptr<connection_type> conn_;
        bool reused_ = false;
        bool keep_ = false;
    };

    /// Waits for a permit for `o` and one for the pool, then reuses an idle connection to `o` or
    /// opens a new one. On failure `diag` says why and the lease is empty.
    asio::awaitable<std::tuple<error_code, lease>, Executor> acquire(origin const& o, asio::ssl::context& tls,
                                                                     clock::duration connect_timeout,
                                                                     clock::time_point deadline, diagnostics& diag) {
        auto refused = [&](error_code ec) {
            return std::tuple{
                oic::detail::report(diag, ec,
                                    ec == error::timeout
                                        ? "no free connection to " + o.to_string() + " before the deadline"
                                        : "waiting for a free connection to " + o.to_string() + " was cancelled"),
                lease{}};
        };
        auto const for_origin = origin_permits(o);
        if (auto ec = co_await for_origin->acquire(deadline))
            co_return refused(ec);
        // Given back if anything below ends this frame before the lease holds it, an exception
        // from a cancelled co_await included.
        std::unique_ptr<connection_permits<Executor>, void (*)(connection_permits<Executor>*)> held(
            for_origin.get(), [](connection_permits<Executor>* p) { p->release(); });
        if (auto ec = co_await permits_->acquire(deadline))
            co_return refused(ec);
        held.release();
        lease l(this, for_origin); // holds both permits from here on, gives them back on failure
        if (auto idle = take_idle(o)) {
            l.attach(std::move(idle), true);
            co_return std::tuple{error_code{}, std::move(l)};
        }
        auto [ec, c] = co_await connect(o, tls, std::min(deadline, clock::now() + connect_timeout), diag);
        if (!ec && cancelled(co_await asio::this_coro::cancellation_state))
            ec = oic::detail::report(diag, asio::error::operation_aborted,
                                     "cancelled while connecting to " + o.to_string());
        if (ec)
            co_return std::tuple{ec, lease{}}; // a connection just opened is closed
        l.attach(std::move(c), false);
        co_return std::tuple{error_code{}, std::move(l)};
    }

    pool_stats stats() const {
        std::lock_guard lock(mutex_);
        auto s = stats_;
        s.idle = idle_.size();
        s.open = open_;
        return s;
    }

private:
    struct idle_connection {
        std::unique_ptr<connection_type> conn;
        clock::time_point since;
    };

    permits_ptr origin_permits(origin const& o) {
        std::lock_guard lock(mutex_);
        auto& p = per_origin_[o];
        if (!p)
            p = std::make_shared<connection_permits<Executor>>(ex_, limits_.max_per_origin);
        return p;
    }

    /// The newest idle connection to `o` not past its idle time; the expired ones are closed.
    /// Called holding both permits: with none idle, makes room for the connection about to open.
    std::unique_ptr<connection_type> take_idle(origin const& o) {
        std::vector<idle_connection> closing; // closed after the lock is released
        std::unique_ptr<connection_type> found;
        {
            std::lock_guard lock(mutex_);
            auto const oldest_kept = clock::now() - limits_.idle_timeout;
            for (auto it = idle_.begin(); it != idle_.end();) {
                if (it->since < oldest_kept) {
                    closing.push_back(std::move(*it));
                    it = idle_.erase(it);
                } else {
                    ++it;
                }
            }
            for (auto it = idle_.rbegin(); it != idle_.rend(); ++it)
                if (it->conn->get_origin() == o) {
                    found = std::move(it->conn);
                    idle_.erase(std::next(it).base());
                    ++stats_.reused;
                    break;
                }
            if (!found) {
                // A new connection: the one idle the longest (any origin) makes room when the pool is full.
                while (open_ - closing.size() >= limits_.max_connections && !idle_.empty()) {
                    closing.push_back(std::move(idle_.front()));
                    idle_.erase(idle_.begin());
                }
                ++open_;
            }
            open_ -= closing.size();
            stats_.closed_idle += closing.size();
        }
        return found;
    }

    void release(std::unique_ptr<connection_type> c, bool keep, connection_permits<Executor>& for_origin) noexcept {
        std::shared_ptr<SSL_SESSION> session;
        // After an answer (TLS 1.3 tickets have arrived by now), once per connection: a copy costs
        // as much as a tenth of a keep-alive call.
        if (c && keep && c->ssl() && !c->session_kept) {
            // A copy: OpenSSL marks the connection's own session not resumable when the connection
            // is later closed without a TLS shutdown, as pooled connections are.
            SSL_SESSION* current = SSL_get_session(c->ssl());
            if (current && SSL_SESSION_is_resumable(current))
                if (SSL_SESSION* copy = SSL_SESSION_dup(current)) {
                    session.reset(copy, SSL_SESSION_free);
                    c->session_kept = true;
                }
        }
        {
            std::lock_guard lock(mutex_);
            if (c && keep) {
                if (session)
                    tls_sessions_[c->get_origin()] = std::move(session);
                idle_.push_back({std::move(c), clock::now()});
            } else {
                --open_; // closed, or never opened
            }
        }
        c.reset(); // closes a connection not kept, outside the lock
        permits_->release();
        for_origin.release();
    }

    /// The TLS session to resume with `o`, if one is kept.
    std::shared_ptr<SSL_SESSION> tls_session(origin const& o) const {
        std::lock_guard lock(mutex_);
        auto it = tls_sessions_.find(o);
        return it == tls_sessions_.end() ? nullptr : it->second;
    }

    asio::awaitable<std::tuple<error_code, std::unique_ptr<connection_type>>, Executor>
    connect(origin const& o, asio::ssl::context& tls, clock::time_point deadline, diagnostics& diag);

    Executor ex_;
    pool_limits limits_;
    permits_ptr permits_;
    mutable std::mutex mutex_;
    std::vector<idle_connection> idle_; // oldest first
    std::size_t open_ = 0;              // connections open or being opened, in use or idle
    std::map<origin, permits_ptr> per_origin_;
    std::map<origin, std::shared_ptr<SSL_SESSION>> tls_sessions_;
    pool_stats stats_;
};

/// Origin rewrites learned from remembered redirects (runtime host -> design-time host).
class redirect_memory {
public:
    std::optional<remembered_hop> lookup(origin const& from) const {
        std::lock_guard lock(mutex_);
        for (auto const& e : entries_)
            if (e.from == from)
                return e;
        return std::nullopt;
    }
    void remember(remembered_hop e) {
        std::lock_guard lock(mutex_);
        std::erase_if(entries_, [&](remembered_hop const& x) { return x.from == e.from; });
        entries_.push_back(std::move(e));
    }
    void forget(origin const& from) {
        std::lock_guard lock(mutex_);
        std::erase_if(entries_, [&](remembered_hop const& x) { return x.from == from; });
    }

private:
    mutable std::mutex mutex_;
    std::vector<remembered_hop> entries_;
};

/**
 * The TLS client context for a CA file, shared by every session that names it. Loading the system
 * store costs ~30 ms of CPU on Debian, too much to pay per session; an SSL_CTX is safe to share
 * between threads. The cache holds weak references, so a CA file is read again once no session
 * uses it any more.
 */
inline std::shared_ptr<asio::ssl::context> tls_client_context(std::string const& ca_file) {
    if (ca_file.find('\0') != std::string::npos) // a C API would read a shorter path
        fail(error::bad_config, "ca_file holds a NUL character");
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<asio::ssl::context>> cache;
    std::lock_guard lock(mutex);
    if (auto ctx = cache[ca_file].lock())
        return ctx;
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    error_code ec;
    ctx->set_default_verify_paths(ec); // a machine without a system store still works with ca_file
    if (!ca_file.empty() && ctx->load_verify_file(ca_file, ec))
        fail(error::bad_config, "cannot load CA file " + ca_file);
    cache[ca_file] = ctx;
    return ctx;
}

} // namespace detail

/**
 * @brief An HTTPS client session over any Asio executor: a TLS context, a pool of keep-alive
 * connections, timeouts, size limits and a redirect policy.
 *
 * Copies share one state; the state lives as long as any copy or any operation in flight.
 * All member functions are thread-safe.
 */
template <class Executor = asio::any_io_executor>
class basic_session {
public:
    using executor_type = Executor;

    /// @throws error_with_diagnostics (`error::bad_config`) when the CA file cannot be loaded.
    explicit basic_session(Executor ex, session_options opts = {}, any_redirect_policy policy = never_forward{})
        : state_(std::make_shared<state>(ex, std::move(opts), std::move(policy))) {}

    template <redirect_policy P>
    basic_session(Executor ex, session_options opts, P policy)
        : basic_session(ex, std::move(opts), any_redirect_policy(std::move(policy))) {}

    executor_type get_executor() const noexcept { return state_->ex; }
    session_options const& options() const noexcept { return state_->opts; }
    /// What the connection pool has done so far.
    pool_stats stats() const { return state_->pool.stats(); }

    /**
     * @brief Sends `req` to `url` and follows redirects; returns the first non-redirect answer,
     * whatever its status. Errors come back as values: the code, and `diag` filled.
     *
     * `Authorization`, `Proxy-Authorization` and `Cookie` in `req` are credentials: they go to
     * `url`, and on each redirect hop only where the policy and the fixed rules allow.
     *
     * A remembered hop (see `redirect_decision::remember`) sends the call straight to the origin
     * learned earlier; if that origin fails in any way (connection, TLS, timeout, 404, 421), the hop
     * is forgotten and the call goes to `url` once more. A hop is remembered only after its target
     * answered.
     * @return the answer and the URL that gave it, or an error for network, TLS, timeout, size and
     * redirect failures.
     */
    asio::awaitable<std::tuple<error_code, reply>, Executor> send(urls::url url, request req, send_options so,
                                                                  diagnostics& diag) const;

    /// As above, throwing `error_with_diagnostics` on failure.
    asio::awaitable<reply, Executor> send(urls::url url, request req, send_options so = {}) const {
        diagnostics diag;
        auto [ec, r] = co_await send(std::move(url), std::move(req), so, diag);
        if (ec)
            fail(ec, std::move(diag));
        co_return std::move(r);
    }

    /**
     * @brief `send` for any completion token, from any executor: handler `void(error_code, reply)`.
     *
     * With `diag`, failures also fill it (it must outlive the operation).
     * @par Per-operation cancellation
     * Terminal: the call ends with `operation_aborted` at once, without retry or fallback; the
     * connection it used is closed, not pooled; remembered hops and the pool's permits are left
     * whole. Partial and total cancellation are not supported (ignored).
     */
    template <asio::completion_token_for<void(error_code, reply)> CompletionToken = asio::deferred_t>
    auto async_send(urls::url url, request req, send_options so, diagnostics& diag,
                    CompletionToken&& token = {}) const {
        return start_send(&diag, std::move(url), std::move(req), so, std::forward<CompletionToken>(token));
    }
    /// As above, without diagnostics.
    template <asio::completion_token_for<void(error_code, reply)> CompletionToken = asio::deferred_t>
    auto async_send(urls::url url, request req, send_options so = {}, CompletionToken&& token = {}) const {
        return start_send(nullptr, std::move(url), std::move(req), so, std::forward<CompletionToken>(token));
    }

private:
    template <class CompletionToken>
    auto start_send(diagnostics* diag, urls::url url, request req, send_options so, CompletionToken&& token) const {
        return oic::detail::async_run<reply>(
            get_executor(), diag,
            [self = *this, url = std::move(url), req = std::move(req), so](diagnostics& d) mutable {
                return self.send(std::move(url), std::move(req), so, d);
            },
            std::forward<CompletionToken>(token));
    }

    struct state {
        state(Executor e, session_options o, any_redirect_policy p)
            : ex(e), opts(std::move(o)), policy(std::move(p)), tls(detail::tls_client_context(opts.ca_file)),
              pool(e, detail::pool_limits{opts.max_connections,
                                          opts.max_connections_per_origin ? opts.max_connections_per_origin
                                                                          : opts.max_connections,
                                          opts.idle_timeout, opts.read_buffer_size}) {
            if (opts.max_connections == 0 || opts.max_redirects < 0)
                fail(error::bad_config, "max_connections must be positive and max_redirects not negative");
            if (opts.max_header_size == 0 || opts.max_header_size > UINT32_MAX ||
                opts.read_buffer_size < opts.max_header_size)
                fail(error::bad_config, "max_header_size must be positive and read_buffer_size at least as large");
        }
        Executor ex;
        session_options opts;
        any_redirect_policy policy;
        std::shared_ptr<asio::ssl::context> tls;
        detail::connection_pool<Executor> pool;
        detail::redirect_memory memory;
    };

    static asio::awaitable<std::tuple<error_code, response>, Executor> exchange(state& s, origin const& o, request& req,
                                                                                detail::read_limits limits,
                                                                                clock::time_point deadline,
                                                                                diagnostics& diag);

    std::shared_ptr<state> state_;
};

using session = basic_session<>;

} // namespace oic::http

#include <oic/http/impl/session.hpp>
