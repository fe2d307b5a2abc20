#pragma once
/**
 * @file A session's connection pool: keep-alive connections by origin, bounded in total and per
 * origin (idle ones included), fair waiting for a connection, idle expiry and TLS session
 * resumption. Thread-safe.
 */

#include <oic/detail/waiter.hpp>
#include <oic/error.hpp>
#include <oic/http/detail/connection.hpp>
#include <oic/http/detail/transport.hpp>
#include <oic/http/types.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>

#include <openssl/ssl.h>

#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace oic::http::detail {

/**
 * At most N connections in use at once. A caller over the limit waits, first come first served,
 * until a permit comes back or its deadline passes; a cancelled or timed-out wait leaves the count
 * as it was. Thread-safe: the count and the queue are guarded by a mutex, and a permit given back
 * wakes the first waiter from whatever thread gives it back (see `oic::detail::waiter`). Shared-owned,
 * so that a permit released as a call ends can still be handed over after everything else is gone.
 */
template <class Executor>
class connection_permits {
public:
    explicit connection_permits(std::size_t n) : free_(n) {}

    /// Takes a permit: `{}`, `error::timeout` at `deadline`, or `operation_aborted` when cancelled;
    /// only `{}` leaves a permit taken.
    asio::awaitable<error_code, Executor> acquire(clock::time_point deadline) {
        auto const ex = co_await asio::this_coro::executor;
        std::optional<oic::detail::waiter<Executor>> w;
        {
            std::lock_guard lock(mutex_);
            if (free_ > 0) {
                --free_;
                co_return error_code{};
            }
            w.emplace(ex, deadline);
            queue_.push_back(&*w);
        }
        error_code ec;
        try {
            ec = co_await w->wait(mutex_);
        } catch (...) { // an allocation failure, or throw-on-cancel left on by a caller: the queue forgets `w`
            bool granted = false;
            {
                std::lock_guard lock(mutex_);
                granted = w->woken();
                if (!granted)
                    std::erase(queue_, &*w);
            }
            if (granted)
                release();
            throw;
        }
        std::lock_guard lock(mutex_);
        if (w->woken()) // handed over, whatever else ended the wait: the permit is ours to use or give back
            co_return error_code{};
        std::erase(queue_, &*w);
        co_return ec ? error_code(asio::error::operation_aborted) : error_code(error::timeout);
    }

    /// Gives a permit back: to the first waiter, or to the free count.
    void release() {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) {
            ++free_;
            return;
        }
        queue_.front()->wake();
        queue_.pop_front();
    }

private:
    std::mutex mutex_;
    std::size_t free_;                                 // guarded by mutex_
    std::deque<oic::detail::waiter<Executor>*> queue_; // guarded by mutex_: waiting frames, oldest first
};

/// What a pool may hold; see `session_options`.
struct pool_limits {
    std::size_t max_connections;
    std::size_t max_per_origin;
    clock::duration idle_timeout;
    std::size_t read_buffer_size;
    /// Connects and TLS handshakes in progress at once to one origin.
    std::size_t max_connecting_per_origin = std::numeric_limits<std::size_t>::max();
};

/**
 * Keep-alive connections by origin: at most `max_connections` open (idle ones included) and
 * `max_per_origin` to one origin; callers beyond either limit wait in turn (first come, first
 * served). At most `max_connecting_per_origin` of them are being opened at once: a TLS handshake
 * holds OpenSSL's buffers, so a burst of calls on a cold pool opens its connections in turns
 * rather than all at once. The last TLS session of each origin is kept to resume the next handshake there.
 * Thread-safe: the idle list, the counts and the session cache are guarded by a mutex; the limits
 * are `connection_permits`.
 */
template <class Executor, transport_connector Connector = tcp_connector<Executor>>
class connection_pool {
public:
    using connection_type = connection<Executor, typename Connector::transport_type>;
    using permits_ptr = std::shared_ptr<connection_permits<Executor>>;

    /// `connector` opens the transports (tests give a scripted one); the pool itself needs no
    /// executor (its waits run on the caller's).
    connection_pool(Executor, pool_limits limits, Connector connector)
        : limits_(limits), connector_(std::move(connector)),
          permits_(std::make_shared<connection_permits<Executor>>(limits.max_connections)) {}
    connection_pool(Executor ex, pool_limits limits) : connection_pool(ex, limits, Connector(ex)) {}

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
        auto const for_origin = origin_permits(o, &per_origin_permits::open, limits_.max_per_origin);
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
        auto const for_connecting =
            origin_permits(o, &per_origin_permits::connecting, limits_.max_connecting_per_origin);
        if (auto ec = co_await for_connecting->acquire(deadline))
            co_return refused(ec);
        std::unique_ptr<connection_permits<Executor>, void (*)(connection_permits<Executor>*)> connecting(
            for_connecting.get(), [](connection_permits<Executor>* p) { p->release(); });
        auto [ec, c] = co_await connect(o, tls, std::min(deadline, clock::now() + connect_timeout), diag);
        connecting.reset();
        auto const cancellation = co_await asio::this_coro::cancellation_state; // not a temporary: GCC 12
        if (!ec && cancelled(cancellation))
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

    struct per_origin_permits {
        permits_ptr open;       // connections open, in use or idle
        permits_ptr connecting; // connections being opened
    };

    /// The permits of `o` that `which` names, made with `limit` on first use.
    permits_ptr origin_permits(origin const& o, permits_ptr per_origin_permits::*which, std::size_t limit) {
        std::lock_guard lock(mutex_);
        auto& p = per_origin_[o].*which;
        if (!p)
            p = std::make_shared<connection_permits<Executor>>(limit);
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

    pool_limits limits_;
    Connector connector_;
    permits_ptr permits_;
    mutable std::mutex mutex_;
    std::vector<idle_connection> idle_; // oldest first
    std::size_t open_ = 0;              // connections open or being opened, in use or idle
    std::map<origin, per_origin_permits> per_origin_;
    std::map<origin, std::shared_ptr<SSL_SESSION>> tls_sessions_;
    pool_stats stats_;
};

template <class Executor, transport_connector Connector>
asio::awaitable<std::tuple<error_code, std::unique_ptr<typename connection_pool<Executor, Connector>::connection_type>>,
                Executor>
connection_pool<Executor, Connector>::connect(origin const& o, asio::ssl::context& tls, clock::time_point deadline,
                                              diagnostics& diag) {
    auto [ec, transport] = co_await connector_.connect(o, o.tls() ? &tls : nullptr, deadline, diag);
    if (ec)
        co_return std::tuple{ec, std::unique_ptr<connection_type>()};
    auto c = std::make_unique<connection_type>(o, std::move(*transport), limits_.read_buffer_size);
    // Each connection resumes with its own copy of the kept session: OpenSSL writes to the session a
    // connection uses, and the kept one is read by other threads. The server may still insist on a
    // full handshake.
    if (auto const kept = c->ssl() ? tls_session(o) : nullptr)
        if (SSL_SESSION* own = SSL_SESSION_dup(kept.get())) {
            SSL_set_session(c->ssl(), own);
            SSL_SESSION_free(own); // the connection holds its own reference
        }
    if (auto hec = co_await c->handshake(deadline))
        co_return std::tuple{oic::detail::report(diag, oic::detail::map_transport_error(hec),
                                                 "TLS handshake with " + o.to_string() + " failed: " + hec.message()),
                             std::unique_ptr<connection_type>()};
    {
        std::lock_guard lock(mutex_);
        ++stats_.opened;
        if (c->ssl() && SSL_session_reused(c->ssl()))
            ++stats_.tls_resumed;
    }
    co_return std::tuple{error_code{}, std::move(c)};
}

} // namespace oic::http::detail
