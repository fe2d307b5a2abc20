#pragma once
/**
 * @file
 * One token for many concurrent callers: fetched once, refreshed ahead, never stampeded.
 *
 * Identity domains allow 10 to 65 token requests per second; a server whose coroutines each fetch
 * their own token burns that budget and gets 429. A `shared_token` keeps one token per process
 * (per credentials).
 */

#include <oic/auth/client_credentials.hpp>
#include <oic/auth/detail/token_machine.hpp>
#include <oic/detail/async_run.hpp>
#include <oic/detail/config.hpp>
#include <oic/detail/waiter.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

namespace oic {

/// When a shared token counts as fresh, stale or expired. Durations are clamped to the token's lifetime.
struct shared_token_options {
    /// Inside this window before expiry callers still get the current token at once and one
    /// background refresh starts. At most half the token's lifetime.
    std::chrono::steady_clock::duration refresh_ahead = std::chrono::minutes(5);
    /// A token counts as expired this long before its `expires_in` says (clock skew, requests in
    /// flight). At most a tenth of the lifetime.
    std::chrono::steady_clock::duration expiry_margin = std::chrono::seconds(30);
    /// After a failed fetch, the next fetch waits this long, so a broken endpoint is not hammered.
    std::chrono::steady_clock::duration failure_backoff = std::chrono::seconds(1);
    /// The clock that decides expiry; tests inject one to skip time without sleeping.
    std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
};

/**
 * @brief A token shared by every caller of a process (or of several clients with the same
 * credentials), with single-flight fetches.
 *
 * - `get()` returns the current token at once, without I/O, while it is fresh.
 * - Missing or expired: one fetch is in flight however many callers wait; all get its token or
 *   its error. A failure is not cached; the next fetch after one waits `failure_backoff`.
 * - Near expiry: callers get the current token at once and one background refresh starts.
 * - `invalidate(t)` after a 401 drops `t` only if it is still the current token.
 *
 * Copies share one state, kept alive by any copy and by a fetch in flight. Every member function
 * is thread-safe, whatever the executor: the state's decisions are taken under a mutex (held for a
 * few comparisons, never across a wait), a waiting caller waits on its own executor, and the fetch
 * runs on a strand of its own (see `detail::serialized`).
 */
template <class Executor = asio::any_io_executor>
class basic_shared_token {
public:
    using executor_type = Executor; ///< where fetches run, one at a time
    /// Gets a new token, or an error with the diagnostics filled; called on `Executor`, at most
    /// once at a time.
    using fetch_function = std::function<asio::awaitable<std::tuple<error_code, access_token>, Executor>(diagnostics&)>;
    /// Told once about a token the API refused (401), after the shared token has dropped it.
    using reject_function = std::function<asio::awaitable<void, Executor>(token_ptr)>;

    /// Where tokens come from: a fetch, and whom to tell about a refused token (a token store
    /// shared by several processes, see `oic/redis/token_store.hpp`).
    struct source {
        fetch_function fetch;       ///< gets a new token
        reject_function rejected{}; ///< may be empty
    };

    /// Tokens from `src`, shared by every copy of this object.
    basic_shared_token(Executor ex, source src, shared_token_options opts = {})
        : state_(std::make_shared<state>(ex, std::move(src), std::move(opts))) {}

    /// Tokens from `fetch`, nobody told of refused ones.
    basic_shared_token(Executor ex, fetch_function fetch, shared_token_options opts = {})
        : basic_shared_token(ex, source{std::move(fetch)}, std::move(opts)) {}

    /// Fetches with `fetch_token(session, creds)`.
    template <class Connector>
    basic_shared_token(http::basic_session<Executor, Connector> session, client_credentials creds,
                       shared_token_options opts = {})
        : basic_shared_token(
              session.get_executor(),
              [session, creds = std::move(creds)](diagnostics& d) { return fetch_token(session, creds, d); },
              std::move(opts)) {}

    executor_type get_executor() const noexcept { return state_->ex; } ///< the executor it was made with

    /**
     * @brief The current token, or the result of the one fetch in flight.
     *
     * @par Per-operation cancellation
     * Terminal, partial and total (as far as the calling coroutine's filter lets them through):
     * the cancelled caller leaves with `operation_aborted`; the shared fetch goes on for the others.
     * @return the token, or the fetch's error with `diag` filled (every waiter of that fetch gets it).
     */
    asio::awaitable<std::tuple<error_code, token_ptr>, Executor> get(diagnostics& diag) const {
        return detail::cancel_as_value(state::get(state_, diag));
    }

    /// As above, throwing `error_with_diagnostics` on failure, cancellation included.
    asio::awaitable<token_ptr, Executor> get() const {
        return detail::value_or_throw<token_ptr, Executor>([s = state_](diagnostics& d) { return state::get(s, d); });
    }

    /**
     * @brief `get` for any completion token, from any executor: handler `void(error_code, token_ptr)`;
     * with `diag`, a failed fetch's diagnostics too (it must outlive the operation).
     *
     * @par Per-operation cancellation
     * Terminal: the caller leaves with `operation_aborted`; the shared fetch goes on for the others.
     */
    template <asio::completion_token_for<void(error_code, token_ptr)> CompletionToken = asio::deferred_t>
    auto async_get(diagnostics& diag, CompletionToken&& token = {}) const {
        return detail::async_run<token_ptr>(
            get_executor(), &diag, [s = state_](diagnostics& d) { return state::get(s, d); },
            std::forward<CompletionToken>(token));
    }
    /// As above, without diagnostics.
    template <asio::completion_token_for<void(error_code, token_ptr)> CompletionToken = asio::deferred_t>
    auto async_get(CompletionToken&& token = {}) const {
        return detail::async_run<token_ptr>(
            get_executor(), nullptr, [s = state_](diagnostics& d) { return state::get(s, d); },
            std::forward<CompletionToken>(token));
    }

    /**
     * Drops `rejected` if it is still the current token (the API answered 401 with it); a token
     * fetched meanwhile by another caller stays. Completes once the state has been updated. The
     * fetch of the next token starts at once, and it first tells the source's `rejected` (if any),
     * so that the next token is never the refused one read back from a shared store.
     */
    asio::awaitable<void, Executor> invalidate(token_ptr rejected) const {
        state::drop(state_, std::move(rejected));
        co_return;
    }

    /// Fetches started so far (for tests and monitoring).
    std::uint64_t fetches() const noexcept { return state_->fetches.load(); }

private:
    using time_point = std::chrono::steady_clock::time_point;
    using waiter_type = detail::waiter<Executor>;

    struct state : std::enable_shared_from_this<state> {
        state(Executor e, source src, shared_token_options o)
            : ex(e), fetch(std::move(src.fetch)), rejected(std::move(src.rejected)), opts(std::move(o)),
              machine({opts.refresh_ahead, opts.expiry_margin, opts.failure_backoff}) {}

        Executor ex;
        fetch_function fetch;
        reject_function rejected;
        shared_token_options opts;
        std::atomic<std::uint64_t> fetches{0};

        // The machine and what the last fetch gave, guarded by `mutex`: held for a few comparisons
        // and a pointer copy, never across a wait.
        std::mutex mutex;
        detail::token_machine machine;
        token_ptr last_token;              ///< result of the last fetch, success
        error_code last_error;             ///< result of the last fetch, failure
        diagnostics last_diagnostics;      ///< ...and what went wrong
        std::vector<waiter_type*> waiters; ///< callers waiting for the fetch in flight

        /// Starts the one fetch; told `rejected`, it first tells the source about that token.
        /// Called without holding `mutex` (the fetch may start inline on this thread).
        void start_fetch(token_ptr told = nullptr) {
            ++fetches;
            detail::spawn_serialized<Executor>(
                detail::serialized(ex),
                [fetch = run_fetch(this->shared_from_this(), std::move(told))](Executor on) mutable {
                    asio::co_spawn(on, std::move(fetch), asio::detached);
                });
        }

        static asio::awaitable<std::tuple<error_code, token_ptr>, Executor> get(std::shared_ptr<state> s,
                                                                                diagnostics& diag) {
            using answer = detail::token_machine::answer;
            auto const now = s->opts.clock();
            auto const ex = co_await asio::this_coro::executor;
            std::optional<waiter_type> w;
            {
                std::unique_lock lock(s->mutex);
                auto const a = s->machine.on_request(now);
                if (a == answer::current || a == answer::current_refresh) {
                    auto t = s->machine.current();
                    lock.unlock();
                    if (a == answer::current_refresh)
                        s->start_fetch(); // in the background: nobody waits for it
                    co_return std::tuple{error_code{}, std::move(t)};
                }
                w.emplace(ex, time_point::max());
                s->waiters.push_back(&*w);
                lock.unlock();
                if (a == answer::fetch_and_wait)
                    s->start_fetch();
            }
            error_code ec;
            try {
                ec = co_await w->wait(s->mutex);
            } catch (...) { // an allocation failure, or throw-on-cancel left on: the queue forgets `w`
                std::lock_guard lock(s->mutex);
                if (!w->woken())
                    std::erase(s->waiters, &*w);
                throw;
            }
            std::lock_guard lock(s->mutex);
            if (!w->woken()) { // our own cancellation, not the fetch
                std::erase(s->waiters, &*w);
                co_return std::tuple{
                    detail::report(diag, asio::error::operation_aborted, "waiting for the shared token was cancelled"),
                    token_ptr{}};
            }
            if (s->last_error)
                diag = s->last_diagnostics;
            co_return std::tuple{s->last_error, s->last_token};
        }

        static void drop(std::shared_ptr<state> const& s, token_ptr rejected) {
            using rejection = detail::token_machine::rejection;
            rejection r;
            {
                std::lock_guard lock(s->mutex);
                r = s->machine.on_rejected(rejected);
            }
            if (r == rejection::refetch)
                s->start_fetch(std::move(rejected));
            else if (r == rejection::dropped && s->rejected) // a fetch is in flight already: tell the source now
                detail::spawn_serialized<Executor>(detail::serialized(s->ex),
                                                   [told = tell(s, std::move(rejected))](Executor on) mutable {
                                                       asio::co_spawn(on, std::move(told), asio::detached);
                                                   });
        }

        /// Tells the source about a refused token; what it throws is dropped (it only informs).
        static asio::awaitable<void, Executor> tell(std::shared_ptr<state> s, token_ptr rejected) {
            if (!s->rejected || !rejected)
                co_return;
            try {
                co_await s->rejected(std::move(rejected));
            } catch (...) {
            }
        }

        static asio::awaitable<void, Executor> run_fetch(std::shared_ptr<state> s, token_ptr told) {
            co_await tell(s, std::move(told));
            std::chrono::steady_clock::duration wait;
            {
                std::lock_guard lock(s->mutex);
                wait = s->machine.backoff_left(s->opts.clock());
            }
            if (wait > wait.zero()) {
                asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                           Executor>
                    backoff(co_await asio::this_coro::executor, wait);
                co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable_t<Executor>{}));
            }
            auto const started = s->opts.clock();
            diagnostics diag;
            error_code ec;
            access_token fetched;
            try {
                std::tie(ec, fetched) = co_await s->fetch(diag);
            } catch (...) { // a fetch function that throws instead of reporting: its waiters still get an error
                ec = detail::to_error(std::current_exception(), &diag);
                diag.message = "token fetch failed: " + (diag.message.empty() ? ec.message() : diag.message);
            }
            token_ptr token = ec ? nullptr : std::make_shared<access_token const>(std::move(fetched));
            auto const now = s->opts.clock();
            std::lock_guard lock(s->mutex);
            s->machine.on_fetched(started, now, token);
            s->last_token = std::move(token);
            s->last_error = ec;
            s->last_diagnostics = std::move(diag);
            for (auto* w : s->waiters)
                w->wake();
            s->waiters.clear();
        }
    };

    std::shared_ptr<state> state_;
};

using shared_token = basic_shared_token<>; ///< on `asio::any_io_executor`

#ifdef OIC_SEPARATE_COMPILATION // compiled once, by <oic/src.hpp> (see oic/detail/config.hpp)
OIC_INSTANTIATE class basic_shared_token<asio::any_io_executor>;
OIC_INSTANTIATE void detail::start_run<token_ptr, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*, asio::awaitable<std::tuple<error_code, token_ptr>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, token_ptr)>);
#endif

} // namespace oic
