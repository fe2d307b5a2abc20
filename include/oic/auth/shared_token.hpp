#pragma once
/**
 * @file One token for many concurrent callers: fetched once, refreshed ahead, never stampeded.
 *
 * Identity domains allow 10 to 65 token requests per second; a server whose coroutines each fetch
 * their own token burns that budget and gets 429. A `shared_token` keeps one token per process
 * (per credentials), on a strand of the user's executor.
 */

#include <oic/auth/client_credentials.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace oic {

/// Tokens are handed out as shared pointers: no copy of the secret on the hot path.
using token_ptr = std::shared_ptr<access_token const>;

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
    /// Gets a new token; called on `Executor`, at most once at a time.
    using fetch_function = std::function<asio::awaitable<access_token, Executor>()>;

    basic_shared_token(Executor ex, fetch_function fetch, shared_token_options opts = {})
        : state_(std::make_shared<state>(ex, std::move(fetch), std::move(opts))) {}

    /// Fetches with `fetch_token(session, creds)`.
    basic_shared_token(http::basic_session<Executor> session, client_credentials creds, shared_token_options opts = {})
        : basic_shared_token(
              session.get_executor(),
              [session, creds = std::move(creds)] { return fetch_token(session, creds); }, std::move(opts)) {}

    executor_type get_executor() const noexcept { return state_->ex; }

    /**
     * @brief The current token, or the result of the one fetch in flight.
     *
     * @par Per-operation cancellation
     * Terminal, partial and total (as far as the calling coroutine's filter lets them through):
     * the cancelled caller leaves with `operation_aborted`; the shared fetch goes on for the others.
     * @throws error_with_diagnostics with the fetch's error (every waiter of that fetch gets it).
     */
    asio::awaitable<token_ptr, Executor> get() const {
        auto const s = state_;
        if (auto t = s->fresh_snapshot())
            co_return t;
        co_return co_await asio::co_spawn(s->strand, state::wait(s), asio::use_awaitable_t<Executor>{});
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
        return detail::async_run<token_ptr>(get_executor(), &diag, [self = *this] { return self.get(); },
                                            std::forward<CompletionToken>(token));
    }
    /// As above, without diagnostics.
    template <asio::completion_token_for<void(error_code, token_ptr)> CompletionToken = asio::deferred_t>
    auto async_get(CompletionToken&& token = {}) const {
        return detail::async_run<token_ptr>(get_executor(), nullptr, [self = *this] { return self.get(); },
                                            std::forward<CompletionToken>(token));
    }

    /// Drops `rejected` if it is still the current token (the API answered 401 with it); a token
    /// fetched meanwhile by another caller stays. Completes once the state has been updated.
    asio::awaitable<void, Executor> invalidate(token_ptr rejected) const {
        auto const s = state_;
        co_await asio::co_spawn(s->strand, state::drop(s, rejected), asio::use_awaitable_t<Executor>{});
    }

    /// Fetches started so far (for tests and monitoring).
    std::uint64_t fetches() const noexcept { return state_->fetches.load(); }

private:
    using strand_type = asio::strand<Executor>;
    using on_strand = asio::use_awaitable_t<strand_type>;
    using time_point = std::chrono::steady_clock::time_point;

    struct state : std::enable_shared_from_this<state> {
        state(Executor e, fetch_function f, shared_token_options o)
            : ex(e), strand(asio::make_strand(e)), fetch(std::move(f)), opts(std::move(o)), wakeup(strand) {
            wakeup.expires_at(time_point::max());
        }

        Executor ex;
        strand_type strand;
        fetch_function fetch;
        shared_token_options opts;

        // Strand only.
        token_ptr current;
        time_point expires_at{};
        time_point refresh_at{};
        bool fetching = false;
        std::uint64_t completed = 0;          ///< finished fetches: a waiter knows its fetch is done
        token_ptr last_token;                 ///< result of the last fetch, success
        std::optional<error_with_diagnostics> last_error; ///< result of the last fetch, failure
        std::optional<time_point> last_failure;
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

        /// Tells the hot path how long it may hand out `current` without asking the strand:
        /// until the refresh window, or until expiry once a refresh is under way.
        void publish() {
            std::lock_guard lock(snapshot_mutex);
            snapshot = current;
            snapshot_until = fetching ? expires_at : refresh_at;
        }

        void start_fetch() {
            fetching = true;
            ++fetches;
            publish();
            asio::co_spawn(strand, run_fetch(this->shared_from_this()), asio::detached);
        }

        static asio::awaitable<void, strand_type> drop(std::shared_ptr<state> s, token_ptr rejected) {
            if (rejected && s->current == rejected) {
                s->current.reset();
                s->publish();
            }
            co_return;
        }

        static asio::awaitable<token_ptr, strand_type> wait(std::shared_ptr<state> s) {
            co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
            auto const now = s->opts.clock();
            if (s->current && now < s->expires_at) {
                if (now >= s->refresh_at && !s->fetching)
                    s->start_fetch(); // refresh ahead; nobody waits for it
                co_return s->current;
            }
            if (!s->fetching)
                s->start_fetch();
            auto const ticket = s->completed;
            co_await s->wakeup.async_wait(asio::as_tuple(on_strand{}));
            if (s->completed == ticket) // woken by our own cancellation, not by the fetch
                fail(asio::error::operation_aborted, "waiting for the shared token was cancelled");
            if (s->last_error)
                throw *s->last_error;
            co_return s->last_token;
        }

        static asio::awaitable<void, strand_type> run_fetch(std::shared_ptr<state> s) {
            if (s->last_failure) {
                asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                           strand_type>
                    backoff(s->strand);
                backoff.expires_after(*s->last_failure + s->opts.failure_backoff - s->opts.clock());
                co_await backoff.async_wait(asio::as_tuple(on_strand{}));
            }
            auto const started = s->opts.clock();
            token_ptr token;
            std::optional<error_with_diagnostics> failure;
            try {
                token = std::make_shared<access_token const>(co_await asio::co_spawn(s->ex, s->fetch(), on_strand{}));
            } catch (error_with_diagnostics const& e) {
                failure = e;
            } catch (boost::system::system_error const& e) {
                failure.emplace(e.code(), diagnostics{.message = "token fetch failed: " + e.code().message()});
            } catch (std::exception const&) {
                failure.emplace(make_error_code(boost::system::errc::io_error),
                                diagnostics{.message = "token fetch failed with an exception"});
            }
            s->fetching = false;
            ++s->completed;
            s->last_token = token;
            s->last_error = std::move(failure);
            if (token) {
                auto const life = std::chrono::duration_cast<std::chrono::steady_clock::duration>(token->expires_in);
                s->current = token;
                s->expires_at = started + life - std::min(s->opts.expiry_margin, life / 10);
                s->refresh_at = s->expires_at - std::min(s->opts.refresh_ahead, life / 2);
                s->last_failure.reset();
            } else {
                s->last_failure = s->opts.clock();
            }
            s->publish();
            s->wakeup.cancel();
        }
    };

    std::shared_ptr<state> state_;
};

using shared_token = basic_shared_token<>;

} // namespace oic
