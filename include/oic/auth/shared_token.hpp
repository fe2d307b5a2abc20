#pragma once
/**
 * @file One token for many concurrent callers: fetched once, refreshed ahead, never stampeded.
 *
 * Identity domains allow 10 to 65 token requests per second; a server whose coroutines each fetch
 * their own token burns that budget and gets 429. A `shared_token` keeps one token per process
 * (per credentials), on a strand of the user's executor.
 */

#include <oic/auth/client_credentials.hpp>
#include <oic/auth/detail/token_machine.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

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
 * is thread-safe; the state is changed only on the strand.
 */
template <class Executor = asio::any_io_executor>
class basic_shared_token {
public:
    using executor_type = Executor;
    /// Gets a new token, or an error with the diagnostics filled; called on `Executor`, at most
    /// once at a time.
    using fetch_function = std::function<asio::awaitable<std::tuple<error_code, access_token>, Executor>(diagnostics&)>;
    /// Told once about a token the API refused (401), after the shared token has dropped it.
    using reject_function = std::function<asio::awaitable<void, Executor>(token_ptr)>;

    /// Where tokens come from: a fetch, and whom to tell about a refused token (a token store
    /// shared by several processes, see `oic/redis/token_store.hpp`).
    struct source {
        fetch_function fetch;
        reject_function rejected{}; ///< may be empty
    };

    basic_shared_token(Executor ex, source src, shared_token_options opts = {})
        : state_(std::make_shared<state>(ex, std::move(src), std::move(opts))) {}

    basic_shared_token(Executor ex, fetch_function fetch, shared_token_options opts = {})
        : basic_shared_token(ex, source{std::move(fetch)}, std::move(opts)) {}

    /// Fetches with `fetch_token(session, creds)`.
    basic_shared_token(http::basic_session<Executor> session, client_credentials creds, shared_token_options opts = {})
        : basic_shared_token(
              session.get_executor(),
              [session, creds = std::move(creds)](diagnostics& d) { return fetch_token(session, creds, d); },
              std::move(opts)) {}

    executor_type get_executor() const noexcept { return state_->ex; }

    /**
     * @brief The current token, or the result of the one fetch in flight.
     *
     * @par Per-operation cancellation
     * Terminal, partial and total (as far as the calling coroutine's filter lets them through):
     * the cancelled caller leaves with `operation_aborted`; the shared fetch goes on for the others.
     * @return the token, or the fetch's error with `diag` filled (every waiter of that fetch gets it).
     */
    asio::awaitable<std::tuple<error_code, token_ptr>, Executor> get(diagnostics& diag) const {
        auto const s = state_;
        if (auto t = s->fresh_snapshot())
            co_return std::tuple{error_code{}, std::move(t)};
        auto [e, result] = co_await asio::co_spawn(s->strand, state::wait(s, &diag),
                                                   asio::as_tuple(asio::use_awaitable_t<Executor>{}));
        if (e) // only what wait() does not expect, e.g. an allocation failure
            std::rethrow_exception(e);
        co_return std::move(result);
    }

    /// As above, throwing `error_with_diagnostics` on failure.
    asio::awaitable<token_ptr, Executor> get() const {
        diagnostics diag;
        auto [ec, t] = co_await get(diag);
        if (ec)
            fail(ec, std::move(diag));
        co_return std::move(t);
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
            get_executor(), &diag, [self = *this](diagnostics& d) { return self.get(d); },
            std::forward<CompletionToken>(token));
    }
    /// As above, without diagnostics.
    template <asio::completion_token_for<void(error_code, token_ptr)> CompletionToken = asio::deferred_t>
    auto async_get(CompletionToken&& token = {}) const {
        return detail::async_run<token_ptr>(
            get_executor(), nullptr, [self = *this](diagnostics& d) { return self.get(d); },
            std::forward<CompletionToken>(token));
    }

    /// Drops `rejected` if it is still the current token (the API answered 401 with it); a token
    /// fetched meanwhile by another caller stays. Completes once the state has been updated, and
    /// the source's `rejected` (if any) has been told, once per refused token.
    asio::awaitable<void, Executor> invalidate(token_ptr rejected) const {
        auto const s = state_;
        co_await asio::co_spawn(s->strand, state::drop(s, rejected), asio::as_tuple(asio::use_awaitable_t<Executor>{}));
    }

    /// Fetches started so far (for tests and monitoring).
    std::uint64_t fetches() const noexcept { return state_->fetches.load(); }

private:
    using strand_type = asio::strand<Executor>;
    using on_strand = asio::use_awaitable_t<strand_type>;
    using time_point = std::chrono::steady_clock::time_point;

    struct state : std::enable_shared_from_this<state> {
        state(Executor e, source src, shared_token_options o)
            : ex(e), strand(asio::make_strand(e)), fetch(std::move(src.fetch)), rejected(std::move(src.rejected)),
              opts(std::move(o)), machine({opts.refresh_ahead, opts.expiry_margin, opts.failure_backoff}),
              wakeup(strand) {
            wakeup.expires_at(time_point::max());
        }

        Executor ex;
        strand_type strand;
        fetch_function fetch;
        reject_function rejected;
        shared_token_options opts;

        // Strand only.
        detail::token_machine machine;
        std::uint64_t completed = 0;  ///< finished fetches: a waiter knows its fetch is done
        token_ptr last_token;         ///< result of the last fetch, success
        error_code last_error;        ///< result of the last fetch, failure
        diagnostics last_diagnostics; ///< ...and what went wrong
        asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                   strand_type>
            wakeup; ///< never expires; cancel() wakes every waiter

        // Read by any thread: the hot path takes a mutex for a pointer copy, never the strand.
        mutable std::mutex snapshot_mutex;
        token_ptr snapshot;
        time_point snapshot_until{};
        std::atomic<std::uint64_t> fetches{0};

        token_ptr fresh_snapshot() const {
            auto const now = opts.clock();
            std::lock_guard lock(snapshot_mutex);
            return snapshot && now < snapshot_until ? snapshot : nullptr;
        }

        /// Tells the hot path which token it may hand out without asking the strand, and until when.
        void publish() {
            std::lock_guard lock(snapshot_mutex);
            snapshot = machine.current();
            snapshot_until = machine.serve_until();
        }

        void start_fetch() {
            ++fetches;
            publish();
            asio::co_spawn(strand, run_fetch(this->shared_from_this()), asio::detached);
        }

        static asio::awaitable<void, strand_type> drop(std::shared_ptr<state> s, token_ptr rejected) {
            if (!s->machine.on_rejected(rejected))
                co_return;
            s->publish();
            if (s->rejected)
                co_await asio::co_spawn(s->ex, s->rejected(std::move(rejected)), asio::as_tuple(on_strand{}));
        }

        /// Waits on the strand for the current token or the fetch in flight; fills `*diag` (the
        /// waiting caller's, alive until this completes) with a failed fetch's diagnostics.
        static asio::awaitable<std::tuple<error_code, token_ptr>, strand_type> wait(std::shared_ptr<state> s,
                                                                                    diagnostics* diag) {
            co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
            using answer = detail::token_machine::answer;
            switch (s->machine.on_request(s->opts.clock())) {
            case answer::current_refresh:
                s->start_fetch(); // nobody waits for it
                [[fallthrough]];
            case answer::current: co_return std::tuple{error_code{}, s->machine.current()};
            case answer::fetch_and_wait: s->start_fetch(); break;
            case answer::wait: break;
            }
            auto const ticket = s->completed;
            co_await s->wakeup.async_wait(asio::as_tuple(on_strand{}));
            if (s->completed == ticket) // woken by our own cancellation, not by the fetch
                co_return std::tuple{oic::detail::report(*diag, asio::error::operation_aborted,
                                                         "waiting for the shared token was cancelled"),
                                     token_ptr{}};
            if (s->last_error)
                *diag = s->last_diagnostics;
            co_return std::tuple{s->last_error, s->last_token};
        }

        static asio::awaitable<void, strand_type> run_fetch(std::shared_ptr<state> s) {
            if (auto const wait = s->machine.backoff_left(s->opts.clock()); wait > wait.zero()) {
                asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                           strand_type>
                    backoff(s->strand, wait);
                co_await backoff.async_wait(asio::as_tuple(on_strand{}));
            }
            auto const started = s->opts.clock();
            diagnostics diag;
            auto [e, result] = co_await asio::co_spawn(s->ex, s->fetch(diag), asio::as_tuple(on_strand{}));
            auto [ec, fetched] = std::move(result);
            if (e) { // a fetch function that throws instead of reporting: its waiters still get an error
                ec = detail::to_error(e, &diag);
                diag.message = "token fetch failed: " + (diag.message.empty() ? ec.message() : diag.message);
            }
            token_ptr token = ec ? nullptr : std::make_shared<access_token const>(std::move(fetched));
            s->machine.on_fetched(started, s->opts.clock(), token);
            ++s->completed;
            s->last_token = std::move(token);
            s->last_error = ec;
            s->last_diagnostics = std::move(diag);
            s->publish();
            s->wakeup.cancel();
        }
    };

    std::shared_ptr<state> state_;
};

using shared_token = basic_shared_token<>;

} // namespace oic
