#pragma once
/**
 * @file
 * A fleet shares one token: a token store on Redis for `basic_shared_token`.
 *
 * One process already makes one token request per token lifetime however many callers it has; a
 * fleet of N processes makes N, all at once after a deploy. With this store the shared token asks
 * Redis on a miss (its hot path, a fresh token in memory, stays without I/O):
 * - a valid token in Redis is used without asking the identity domain;
 * - on a miss exactly one process fetches, under a lock with an expiry (`SET NX PX`, released only
 *   by its owner); the others poll for its token, within `max_wait`;
 * - a token is stored with an expiry before its own, and refreshed ahead once per fleet;
 * - after a 401 only the refused token is removed (compare-and-delete in a Lua script), once.
 * The key is a hash of token URL, client id and scope; the value is sealed with AES-256-GCM under a
 * key derived from the client secret. Redis down, slow or answering garbage: the process fetches
 * for itself (`stats()` says why), bounded by `timeout` per step; a call the identity domain could
 * serve never fails because of the store.
 *
 * Optional: this header and its dependency (hiredis, Debian's `libhiredis-dev`) are needed only by
 * those who include it; link the CMake target `oic::redis`.
 */

#include <oic/auth/shared_token.hpp>
#include <oic/error.hpp>
#include <oic/http/session.hpp>
#include <oic/http/url.hpp>
#include <oic/redis/detail/link.hpp>
#include <oic/redis/detail/sealed_token.hpp>
#include <oic/secret.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/rand.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace oic::redis {

using clock = std::chrono::steady_clock; ///< The clock of the store's durations, deadlines and timers.

/// Where the store finds Redis, and its timing. Defaults suit a fleet on one Redis in the same
/// network.
struct options {
    std::string host = "127.0.0.1"; ///< Redis server: a name or an IP address; also the name TLS verifies
    unsigned short port = 6379;     ///< Redis server's TCP port
    std::string username;           ///< ACL user (`AUTH user password`); empty: `AUTH password`
    secret password;                ///< empty: no AUTH. Sent only over TLS, or to a loopback host
    bool tls = false;               ///< TLS with certificate and host name verification
    std::string ca_file;            ///< extra trusted CA (PEM) for TLS, besides the system store
    /// An IP address to connect to instead of resolving `host` (curl's `--resolve`): `host` still
    /// names the server for TLS and for the loopback rule (a loopback name connects only to
    /// loopback addresses, whatever it resolves to).
    std::string resolve_to;
    /// Start of the Redis key; the rest is a SHA-256 (hex) of token URL, client id and scope. The lock's
    /// key is that key and `:lock`.
    std::string key_prefix = "oic:token:";
    clock::duration timeout = std::chrono::seconds(2); ///< each step with Redis: connect, TLS, AUTH, one command
    /// How long the lock of a fetching process lasts: one that dies blocks the others this long at most.
    /// Longer than a token request takes.
    clock::duration lock_ttl = std::chrono::seconds(15);
    clock::duration poll_interval = std::chrono::milliseconds(50); ///< how often waiters look for the new token
    /// How long a process waits for another's fetch before it fetches for itself.
    clock::duration max_wait = std::chrono::seconds(20);
    /// A stored token this close to expiry (at most half its lifetime) is refreshed by one process;
    /// use the shared token's `refresh_ahead`.
    clock::duration refresh_ahead = std::chrono::minutes(5);
    /// Stored tokens expire from Redis this long before their own expiry (at most a tenth of the
    /// lifetime); use the shared token's `expiry_margin`.
    clock::duration expiry_margin = std::chrono::seconds(30);
};

/// What a store has done, for monitoring and tests. Never holds a secret.
struct store_stats {
    std::uint64_t hits = 0;            ///< tokens served from Redis
    std::uint64_t fetches = 0;         ///< tokens this process fetched under the lock (and stored)
    std::uint64_t waits = 0;           ///< operations that waited for another process's fetch
    std::uint64_t fallbacks = 0;       ///< fetched in-process because Redis failed or took too long
    std::uint64_t rejected_values = 0; ///< values in Redis that did not open here: tampered, foreign, garbage
    std::uint64_t invalidations = 0;   ///< refused tokens removed from Redis
    std::string last_problem;          ///< why the last fallback happened
};

/**
 * @brief A token store on Redis for the shared tokens of a fleet of processes.
 *
 * Copies share one state. Thread-safe. Use it through `make_shared_token`, or give `source(fetch)`
 * to a `basic_shared_token` yourself.
 */
template <class Executor = asio::any_io_executor>
class basic_token_store {
public:
    using shared_token_type = basic_shared_token<Executor>; ///< The shared token this store serves.

    /// @throws error_with_diagnostics (`bad_config`) for unusable options, or `insecure_transport`
    /// for a password that would cross plaintext to a non-loopback host.
    basic_token_store(Executor ex, options o, client_credentials const& creds)
        : state_(std::make_shared<state>(ex, std::move(o), creds)) {}

    /// A source for `basic_shared_token`: tokens from Redis, and `fetch` under the fleet's lock on a miss.
    typename shared_token_type::source source(typename shared_token_type::fetch_function fetch) const {
        return {[s = state_, fetch](diagnostics& d) { return s->get(fetch, d); },
                [s = state_](token_ptr t) { return s->reject(std::move(t)); }};
    }

    /// A snapshot of what the store has done so far (shared by all copies).
    store_stats stats() const {
        std::lock_guard lock(state_->mutex);
        return state_->stats;
    }

    /// The Redis key this store uses (a hash, no secret): for operators and tests.
    std::string const& key() const noexcept { return state_->sealer.key_name(); }

private:
    using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor>;
    using result = std::tuple<error_code, access_token>;

    struct state {
        state(Executor e, options o, client_credentials const& creds)
            : ex(e), opts(std::move(o)), sealer(creds.client_secret, detail::token_key(opts.key_prefix, creds)),
              lock_key(sealer.key_name() + ":lock") {
            if (opts.host.empty() || opts.port == 0 || opts.timeout <= clock::duration::zero() ||
                opts.lock_ttl < std::chrono::milliseconds(1) || opts.poll_interval <= clock::duration::zero() ||
                opts.max_wait < clock::duration::zero() || opts.refresh_ahead < clock::duration::zero() ||
                opts.expiry_margin < clock::duration::zero())
                fail(error::bad_config, "redis options: host, port, timeout, lock_ttl and poll_interval must be set, "
                                        "and no duration negative");
            http::origin const home{opts.tls ? "https" : "http", opts.host, opts.port}; // https: any TLS link
            if (!opts.password.empty() && !http::may_send(http::credential_kind::redis_password, home, home, true))
                fail(error::insecure_transport,
                     "refusing to send the Redis password over plaintext to " + opts.host + ": set tls");
            if (!sealer.ok())
                fail(error::bad_config, "cannot derive the token store's sealing key (OpenSSL)");
            boost::system::error_code not_ip;
            if (!opts.resolve_to.empty() && (asio::ip::make_address(opts.resolve_to, not_ip), not_ip))
                fail(error::bad_config, "redis options: resolve_to is not an IP address");
            endpoint = {opts.host,
                        opts.port,
                        opts.username,
                        opts.password,
                        opts.tls ? oic::detail::tls_client_context(opts.ca_file) : nullptr,
                        opts.resolve_to};
        }

        Executor ex;
        options opts;
        detail::sealer sealer;
        std::string lock_key;
        detail::endpoint endpoint;

        mutable std::mutex mutex;
        store_stats stats;           // guarded by mutex
        std::string last_value;      // guarded: the sealed value of the last token served or stored...
        secret last_token;           // ...and that token, to remove it from Redis when refused
        std::string last_token_type; // (with its type: a token is its value and type)

        template <class F>
        void update(F f) {
            std::lock_guard lock(mutex);
            f(stats);
        }
        void remember(std::string value, access_token const& t) {
            std::lock_guard lock(mutex);
            last_value = std::move(value);
            last_token = t.value;
            last_token_type = t.token_type;
        }

        /// The lifetime parts the shared token uses, for a token of `life`.
        clock::duration refresh_window(std::chrono::seconds life) const {
            return std::min<clock::duration>(opts.refresh_ahead, life / 2);
        }
        clock::duration margin(std::chrono::seconds life) const {
            return std::min<clock::duration>(opts.expiry_margin, life / 10);
        }

        /// `t` as the shared token takes it: `expires_in` is what is left of its life at `now`.
        static access_token handed_out(detail::stored_token const& t, std::chrono::system_clock::time_point now) {
            access_token out = t.token;
            out.expires_in = std::chrono::duration_cast<std::chrono::seconds>(t.expires_at - now);
            return out;
        }

        static std::string random_owner() {
            unsigned char bytes[16];
            if (RAND_bytes(bytes, sizeof bytes) != 1)
                return "owner-" + std::to_string(clock::now().time_since_epoch().count());
            static constexpr char hex[] = "0123456789abcdef";
            std::string out;
            for (unsigned char b : bytes)
                out += {hex[b >> 4], hex[b & 15]};
            return out;
        }

        static std::string ms(clock::duration d) {
            return std::to_string(
                std::max<long long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
        }

        /// Fetches in-process because Redis could not help; says why in the stats, and in `diag`
        /// if that fetch fails too.
        asio::awaitable<result, Executor> fallback(typename shared_token_type::fetch_function const& fetch,
                                                   diagnostics& diag, std::string why) {
            update([&](store_stats& s) {
                ++s.fallbacks;
                s.last_problem = why;
            });
            auto r = co_await fetch(diag);
            if (std::get<0>(r))
                diag.message += " (token store: " + why + ")";
            co_return r;
        }

        asio::awaitable<result, Executor> get(typename shared_token_type::fetch_function fetch, diagnostics& diag) {
            auto const give_up = clock::now() + opts.max_wait;
            // On the running coroutine's executor (the shared token's fetch strand): the link's
            // deadlines then close its socket on the same strand as its reads and writes.
            detail::link<Executor> link(co_await asio::this_coro::executor, endpoint);
            std::string what;
            if (co_await link.open(clock::now() + opts.timeout, what))
                co_return co_await fallback(fetch, diag, what);
            auto failed = [&](char const* step, error_code ec, detail::value const& v) {
                return std::string(step) + " at " + link.where() + ": " +
                       (!ec && v.type == detail::value::kind::error
                            ? v.str.substr(0, 80)
                            : (ec ? ec : error_code(error::store_bad_reply)).message());
            };
            auto const owner = random_owner();
            bool waited = false;
            for (bool locked = false;;) {
                auto [gec, got] = co_await link.exec(clock::now() + opts.timeout, "GET", sealer.key_name());
                if (gec || (got.type != detail::value::kind::string && got.type != detail::value::kind::nil)) {
                    if (locked) // not left to expire: the others would wait lock_ttl for nothing
                        co_await unlock(link, owner);
                    co_return co_await fallback(fetch, diag, failed("GET", gec, got));
                }
                std::optional<detail::stored_token> stored;
                if (got.type == detail::value::kind::string)
                    stored = sealer.open(got.str);
                if (got.type == detail::value::kind::string && !stored && !locked) // counted at the first look
                    update([](store_stats& s) { ++s.rejected_values; });
                auto const now = std::chrono::system_clock::now();
                auto const left = stored ? stored->expires_at - now : clock::duration::zero();
                // Fresh until the shared token's own refresh point: then one process refreshes.
                auto const life = stored ? stored->token.expires_in : std::chrono::seconds(0);
                if (stored && left > refresh_window(life) + margin(life)) {
                    if (locked) // another process stored it between our first look and our lock
                        co_await unlock(link, owner);
                    update([](store_stats& s) { ++s.hits; });
                    auto t = handed_out(*stored, now);
                    remember(std::move(got.str), t);
                    co_return result{error_code{}, std::move(t)};
                }
                if (locked) // still nothing fresh, now that no other process can store one
                    co_return co_await fetch_and_store(fetch, diag, link, owner);
                // A miss, a token near its expiry or a value that does not open here: one process
                // fetches. The lock taken, look once more (the loop) before fetching.
                auto [lec, taken] = co_await link.exec(clock::now() + opts.timeout, "SET", lock_key, owner, "NX", "PX",
                                                       ms(opts.lock_ttl));
                if (lec || taken.type == detail::value::kind::error)
                    co_return co_await fallback(fetch, diag, failed("SET NX", lec, taken));
                if ((locked = taken.is_ok()))
                    continue;
                if (stored && left > std::max<clock::duration>(margin(life), std::chrono::seconds(1))) {
                    // Near expiry but valid: used until the lock holder's token arrives.
                    update([](store_stats& s) { ++s.hits; });
                    auto t = handed_out(*stored, now);
                    remember(std::move(got.str), t);
                    co_return result{error_code{}, std::move(t)};
                }
                if (!waited) {
                    waited = true;
                    update([](store_stats& s) { ++s.waits; });
                }
                if (clock::now() + opts.poll_interval >= give_up)
                    co_return co_await fallback(fetch, diag, "no token from the fetching process within max_wait");
                timer_type pause(ex, opts.poll_interval);
                co_await pause.async_wait(asio::as_tuple(asio::use_awaitable_t<Executor>{}));
            }
        }

        /// Holding the lock: fetches, stores the token with an expiry before its own, unlocks.
        asio::awaitable<result, Executor> fetch_and_store(typename shared_token_type::fetch_function const& fetch,
                                                          diagnostics& diag, detail::link<Executor>& link,
                                                          std::string const& owner) {
            auto const started = std::chrono::system_clock::now();
            auto r = co_await fetch(diag);
            auto& [ec, token] = r;
            if (!ec) {
                update([](store_stats& s) { ++s.fetches; });
                auto const keep =
                    std::chrono::duration_cast<clock::duration>(token.expires_in) - margin(token.expires_in);
                auto sealed = sealer.seal({token, started + token.expires_in});
                if (!sealed.empty() && keep > std::chrono::milliseconds(1)) {
                    auto [sec, set] = co_await link.exec(clock::now() + opts.timeout, "SET", sealer.key_name(), sealed,
                                                         "PX", ms(keep));
                    if (!sec && set.is_ok())
                        remember(std::move(sealed), token);
                }
            }
            co_await unlock(link, owner);
            co_return r;
        }

        /// Releases the lock if `owner` still holds it (after `lock_ttl` another process may).
        asio::awaitable<void, Executor> unlock(detail::link<Executor>& link, std::string const& owner) {
            co_await link.exec(clock::now() + opts.timeout, "EVAL", compare_and_delete, "1", lock_key, owner);
        }

        /// Deletes KEYS[1] only if it holds ARGV[1].
        static constexpr std::string_view compare_and_delete =
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

        /// The API refused `t`: removes it from Redis if it is still what Redis holds (another
        /// process may have stored a new one meanwhile).
        asio::awaitable<void, Executor> reject(token_ptr t) {
            std::string value;
            {
                std::lock_guard lock(mutex);
                if (!t || last_value.empty() || !(t->value == last_token) || t->token_type != last_token_type)
                    co_return;
                value = std::exchange(last_value, {});
            }
            // On the running coroutine's executor (the shared token's fetch strand): the link's
            // deadlines then close its socket on the same strand as its reads and writes.
            detail::link<Executor> link(co_await asio::this_coro::executor, endpoint);
            std::string what;
            if (co_await link.open(clock::now() + opts.timeout, what)) {
                update([&](store_stats& s) { s.last_problem = what; });
                co_return;
            }
            auto [ec, v] = co_await link.exec(clock::now() + opts.timeout, "EVAL", compare_and_delete, "1",
                                              sealer.key_name(), value);
            if (!ec && v.type == detail::value::kind::integer && v.integer == 1)
                update([](store_stats& s) { ++s.invalidations; });
        }
    };

    std::shared_ptr<state> state_;
};

using token_store = basic_token_store<>; ///< The store on `boost::asio::any_io_executor`.

/// A shared token for `creds` whose fetches go through `store` (fleet-wide single flight), made
/// with `fetch_token(session, creds)`.
template <class Executor>
basic_shared_token<Executor> make_shared_token(http::basic_session<Executor> session, client_credentials creds,
                                               basic_token_store<Executor> const& store,
                                               shared_token_options opts = {}) {
    return basic_shared_token<Executor>(
        session.get_executor(),
        store.source([session, creds = std::move(creds)](diagnostics& d) { return fetch_token(session, creds, d); }),
        std::move(opts));
}

} // namespace oic::redis
