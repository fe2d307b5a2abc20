#pragma once
/**
 * @file
 * An HTTP/1.1 session: TLS, keep-alive connection pool, timeouts, limits and the redirect
 * engine. It knows nothing of OAuth or OIC; the token fetch and the API calls both go through it.
 */

#include <oic/detail/async_run.hpp>
#include <oic/detail/config.hpp>
#include <oic/detail/tls.hpp>
#include <oic/error.hpp>
#include <oic/http/body_sink.hpp>
#include <oic/http/body_source.hpp>
#include <oic/http/detail/pool.hpp>
#include <oic/http/detail/retry.hpp>
#include <oic/http/detail/send_machine.hpp>
#include <oic/http/redirect.hpp>
#include <oic/http/types.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace oic::http {

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
    /// Being opened at once to one origin (TCP connect and TLS handshake); more callers wait for a
    /// turn. A handshake holds OpenSSL's buffers, several times what a connection holds once open:
    /// this bounds the memory of a burst of calls on a cold pool. 0: no limit but the two above.
    std::size_t max_connecting_per_origin = 16;
    /// An idle connection older than this is closed, not reused (checked whenever the pool is used:
    /// a timer would keep an idle io_context's run() from returning).
    clock::duration idle_timeout = std::chrono::seconds(50);
    int max_redirects = 5; ///< hop limit per call
    /// A request body from a `body_source` larger than this is sent with `Expect: 100-continue`:
    /// a redirect or a refusal (401, 413) comes before the body goes (curl's threshold).
    std::uint64_t expect_continue_above = 1024 * 1024;
    /// How long to wait for `100 Continue` before sending the body anyway (curl: 1 s).
    clock::duration expect_continue_wait = std::chrono::seconds(1);
    retry_options retry{}; ///< when a call is sent again; `max_retries = 0` switches retries off
};

/// Per-call knobs of `basic_session::send`.
struct send_options {
    bool body_has_credentials = false; ///< client_secret_post: the body may not cross origins
    /// 0: the session's limit for answers in memory, 2 GiB for a body going to `sink`.
    std::uint64_t max_body_size = 0;
    /// Where the body of a 2xx answer goes instead of `reply::message` (an archive, say): streamed
    /// as it arrives, memory bounded by the read buffer. Other answers are read into memory. Must
    /// outlive the call.
    body_sink* sink = nullptr;
    /// Where the request's body comes from instead of `request::body()` (which must be empty): read
    /// as it is sent, memory bounded by one write buffer; read again from the start (`rewind`) when
    /// a 307/308 or a retry replays it. Must outlive the call.
    body_source* source = nullptr;
    /// 0: the session's `total_timeout` for the call and `request_timeout` for each exchange; else
    /// the limit for both (a transfer that may take longer than an API call).
    clock::duration timeout{};
    bool use_redirect_memory = true; ///< false (token requests): neither use nor learn remembered hops
    bool retry_safe = false;         ///< sent again like an idempotent request although it is not one (token requests)
    /// The credentials, in the headers and the body, belong to the URL's origin alone: never sent to
    /// another, whatever the policy; a 307/308 elsewhere is refused (token requests: a client secret
    /// is not a bearer token).
    bool credentials_pinned = false;
    /// The redirect policy of this call instead of the session's (a client passes its own, from its
    /// configuration). Hops it learns are remembered for calls with this same policy object only.
    std::shared_ptr<any_redirect_policy const> policy{};
};

/// An answer and the URL that gave it (after redirects and remembered hops).
struct reply {
    response message; ///< the answer's status, fields and body (empty when a sink took the body)
    urls::url url;    ///< the URL that answered
    int retries = 0;  ///< how many times the request was sent again (see `retry_options`)
    /// The request's credentials (`Authorization`, `Proxy-Authorization`, `Cookie`) went with the
    /// request that got this answer; false when there were none or a hop withheld them.
    bool credentials_sent = false;
    /// The method of the request that got this answer (a 303 turns any method into GET).
    beast::http::verb method = beast::http::verb::get;
};

namespace detail {

/// Headers that count as credentials: re-added per hop only where the policy allows.
inline constexpr beast::http::field credential_fields[] = {
    beast::http::field::authorization, beast::http::field::proxy_authorization, beast::http::field::cookie};

/// Origin rewrites learned from remembered redirects (runtime host -> design-time host), per policy:
/// a hop one policy let credentials follow is never used by a call under another. `policy` null is
/// the session's own; an entry holds its policy, so that no other one takes its address.
class redirect_memory {
public:
    using policy_ptr = std::shared_ptr<any_redirect_policy const>;

    std::optional<remembered_hop> lookup(origin const& from, policy_ptr const& policy) const {
        std::lock_guard lock(mutex_);
        for (auto const& e : entries_)
            if (e.hop.from == from && e.policy == policy)
                return e.hop;
        return std::nullopt;
    }
    void remember(remembered_hop h, policy_ptr policy) {
        std::lock_guard lock(mutex_);
        std::erase_if(entries_, [&](entry const& x) { return x.hop.from == h.from && x.policy == policy; });
        entries_.push_back({std::move(h), std::move(policy)});
    }
    void forget(origin const& from, policy_ptr const& policy) {
        std::lock_guard lock(mutex_);
        std::erase_if(entries_, [&](entry const& x) { return x.hop.from == from && x.policy == policy; });
    }

private:
    struct entry {
        remembered_hop hop;
        policy_ptr policy;
    };
    mutable std::mutex mutex_;
    std::vector<entry> entries_;
};

struct session_access;

} // namespace detail

/**
 * @brief An HTTPS client session over any Asio executor: a TLS context, a pool of keep-alive
 * connections, timeouts, size limits and a redirect policy.
 *
 * Copies share one state; the state lives as long as any copy or any operation in flight.
 * All member functions are thread-safe.
 *
 * @tparam Executor  where its operations run
 * @tparam Connector what opens its connections (`detail::transport_connector`): TCP, with TLS for
 *                   https; the unit tests put a scripted transport there
 */
template <class Executor = asio::any_io_executor, class Connector = detail::tcp_connector<Executor>>
class basic_session {
public:
    using executor_type = Executor;   ///< where its operations run (each call's own if it has one)
    using connector_type = Connector; ///< what opens its connections: TCP, with TLS for https

    /// @throws error_with_diagnostics (`error::bad_config`) when the CA file cannot be loaded.
    explicit basic_session(Executor ex, session_options opts = {}, any_redirect_policy policy = never_forward{})
        : basic_session(ex, std::move(opts), std::move(policy), Connector(ex)) {}

    /// As above, its connections opened by `connector` (the tests' scripted transport).
    basic_session(Executor ex, session_options opts, any_redirect_policy policy, Connector connector)
        : state_(std::make_shared<state>(ex, std::move(opts), std::move(policy), std::move(connector))) {}

    /// As above, with any redirect policy object (see `redirect_policy`).
    template <redirect_policy P>
    basic_session(Executor ex, session_options opts, P policy)
        : basic_session(ex, std::move(opts), any_redirect_policy(std::move(policy))) {}

    executor_type get_executor() const noexcept { return state_->ex; }       ///< the executor it was made with
    session_options const& options() const noexcept { return state_->opts; } ///< its settings, as given
    /// What the connection pool has done so far.
    pool_stats stats() const { return state_->pool.stats(); }

    /**
     * @brief Sends `req` to `url` and follows redirects; returns the first non-redirect answer,
     * whatever its status. Errors come back as values: the code, and `diag` filled.
     *
     * `Authorization`, `Proxy-Authorization` and `Cookie` in `req` are credentials: they go to
     * `url`, and on each redirect hop only where the policy and the fixed rules allow.
     *
     * Idempotent requests (RFC 9110 9.2.2: GET, HEAD, PUT, DELETE, OPTIONS) and calls with
     * `so.retry_safe` are sent again after transient failures (see `retry_options`); a POST or
     * PATCH only when none of its bytes went out (a refused connection, say), never after it was
     * written, whatever the answer. `reply::retries` says how often.
     *
     * A remembered hop (see `redirect_decision::remember`) sends the call straight to the origin
     * learned earlier; if that origin fails in any way (connection, TLS, timeout, 404, 421), the hop
     * is forgotten and the call goes to `url` once more. A hop is remembered only after its target
     * answered.
     * @return the answer and the URL that gave it, or an error for network, TLS, timeout, size and
     * redirect failures.
     */
    asio::awaitable<std::tuple<error_code, reply>, Executor> send(urls::url url, request req, send_options so,
                                                                  diagnostics& diag) const {
        return oic::detail::cancel_as_value(do_send(state_, std::move(url), std::move(req), so, diag));
    }

    /// As above, throwing `error_with_diagnostics` on failure, cancellation included.
    asio::awaitable<reply, Executor> send(urls::url url, request req, send_options so = {}) const {
        return oic::detail::value_or_throw<reply, Executor>(
            [s = state_, url = std::move(url), req = std::move(req), so](diagnostics& d) mutable {
                return do_send(s, std::move(url), std::move(req), so, d);
            });
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
            [s = state_, url = std::move(url), req = std::move(req), so](diagnostics& d) mutable {
                return do_send(s, std::move(url), std::move(req), so, d);
            },
            std::forward<CompletionToken>(token));
    }

    struct state {
        state(Executor e, session_options o, any_redirect_policy p, Connector connector)
            : ex(e), opts(std::move(o)), policy(std::move(p)), tls(oic::detail::tls_client_context(opts.ca_file)),
              pool(e,
                   detail::pool_limits{opts.max_connections,
                                       opts.max_connections_per_origin ? opts.max_connections_per_origin
                                                                       : opts.max_connections,
                                       opts.idle_timeout, opts.read_buffer_size,
                                       opts.max_connecting_per_origin ? opts.max_connecting_per_origin
                                                                      : std::numeric_limits<std::size_t>::max()},
                   std::move(connector)) {
            if (opts.max_connections == 0 || opts.max_redirects < 0)
                fail(error::bad_config, "max_connections must be positive and max_redirects not negative");
            if (opts.max_header_size == 0 || opts.max_header_size > UINT32_MAX ||
                opts.read_buffer_size < opts.max_header_size)
                fail(error::bad_config, "max_header_size must be positive and read_buffer_size at least as large");
            auto const& r = opts.retry;
            if (r.max_retries < 0 || r.base_delay < clock::duration::zero() || r.max_delay < r.base_delay ||
                !(r.budget_ratio >= 0) || !(r.budget_burst >= 0))
                fail(error::bad_config, "retry: max_retries, base_delay, budget_ratio and budget_burst must not be "
                                        "negative, and max_delay not below base_delay");
        }
        Executor ex;
        session_options opts;
        any_redirect_policy policy;
        std::shared_ptr<asio::ssl::context> tls;
        detail::connection_pool<Executor, Connector> pool;
        detail::redirect_memory memory;
        detail::retry_budget budget{opts.retry};
    };

    static asio::awaitable<std::tuple<error_code, reply>, Executor>
    do_send(std::shared_ptr<state> s, urls::url url, request req, send_options so, diagnostics& diag);

    static asio::awaitable<std::tuple<error_code, response>, Executor>
    exchange(state& s, origin const& o, request& req, detail::read_limits limits, body_sink* sink, body_source* source,
             clock::duration exchange_timeout, clock::time_point deadline, bool resendable,
             detail::exchange_progress& progress, diagnostics& diag);

    std::shared_ptr<state> state_;
    friend struct detail::session_access;
};

using session = basic_session<>; ///< on `asio::any_io_executor`

namespace detail {

/// `send` for the library's own calls, without the public wrapper (`cancel_as_value`): their stack
/// has throw-on-cancel off already (a public entry point saw to it), and a wrapper is one more
/// coroutine frame held by every call in flight.
struct session_access {
    template <class Executor, class Connector>
    static asio::awaitable<std::tuple<error_code, reply>, Executor>
    send(basic_session<Executor, Connector> const& session, urls::url url, request req, send_options so,
         diagnostics& diag) {
        return basic_session<Executor, Connector>::do_send(session.state_, std::move(url), std::move(req), so, diag);
    }
};

} // namespace detail

} // namespace oic::http

#include <oic/http/impl/session.hpp>

#ifdef OIC_SEPARATE_COMPILATION // compiled once, by <oic/src.hpp> (see oic/detail/config.hpp)
namespace oic::http {
OIC_INSTANTIATE class basic_session<asio::any_io_executor>;
} // namespace oic::http
namespace oic::detail {
OIC_INSTANTIATE void start_run<http::reply, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*, asio::awaitable<std::tuple<error_code, http::reply>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, http::reply)>);
} // namespace oic::detail
#endif
