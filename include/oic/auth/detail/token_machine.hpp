#pragma once
/// @file The shared token's decisions, without I/O, threads or a clock of its own.

#include <oic/auth/client_credentials.hpp>

#include <algorithm>
#include <chrono>
#include <optional>

namespace oic::detail {

/**
 * What a shared token does when a caller asks and when a fetch ends. The coroutines of
 * `basic_shared_token` feed it the time and each fetch's result on their strand and do what it
 * answers; the unit tests step through it without sockets or sleeping.
 */
class token_machine {
public:
    using clock = std::chrono::steady_clock;
    using duration = clock::duration;
    using time_point = clock::time_point;

    struct timing {
        duration refresh_ahead;   ///< clamped to half a token's lifetime
        duration expiry_margin;   ///< clamped to a tenth of a token's lifetime
        duration failure_backoff; ///< between a failed fetch and the next
    };

    /// What a caller asking now gets.
    enum class answer {
        current,         ///< the current token
        current_refresh, ///< the current token; start the one background refresh
        fetch_and_wait,  ///< no usable token: start the fetch and wait for it
        wait,            ///< no usable token: wait for the fetch in flight
    };

    explicit token_machine(timing t) : timing_(t) {}

    /// A caller asks at `now`. An answer that starts a fetch marks it in flight.
    answer on_request(time_point now) {
        if (current_ && now < expires_at_) {
            if (now < refresh_at_ || fetching_)
                return answer::current;
            fetching_ = true;
            return answer::current_refresh;
        }
        if (fetching_)
            return answer::wait;
        fetching_ = true;
        return answer::fetch_and_wait;
    }

    /// How long the fetch in flight waits at `now` before it sends its request: zero, or what is left
    /// of `failure_backoff` after the last failure. (A duration, not a time point: "no failure" needs
    /// no sentinel time whose difference with now would overflow.)
    duration backoff_left(time_point now) const {
        if (!last_failure_)
            return duration::zero();
        auto const until = *last_failure_ + timing_.failure_backoff;
        return until > now ? until - now : duration::zero();
    }

    /// The fetch that started at `started` ended at `now` with `token`, or with nothing (a failure).
    void on_fetched(time_point started, time_point now, token_ptr token) {
        fetching_ = false;
        if (!token) {
            last_failure_ = now; // the current token, if any, stays until it expires
            return;
        }
        auto const life = std::chrono::duration_cast<duration>(token->expires_in);
        current_ = std::move(token);
        expires_at_ = started + life - std::min(timing_.expiry_margin, life / 10);
        refresh_at_ = expires_at_ - std::min(timing_.refresh_ahead, life / 2);
        last_failure_.reset();
    }

    /// What the API's refusal of a token changes.
    enum class rejection {
        stale,   ///< not the current token (a newer one came meanwhile): nothing
        refetch, ///< dropped; start the fetch of the next token (marked in flight), which first tells the source
        dropped, ///< dropped; a fetch is in flight already and brings the next token
    };

    /// The API refused `rejected`: forget it if it is still the current token.
    rejection on_rejected(token_ptr const& rejected) {
        if (!rejected || rejected != current_)
            return rejection::stale;
        current_.reset();
        if (fetching_)
            return rejection::dropped;
        fetching_ = true;
        return rejection::refetch;
    }

    token_ptr const& current() const noexcept { return current_; }
    bool fetching() const noexcept { return fetching_; }
    time_point expires_at() const noexcept { return expires_at_; }
    time_point refresh_at() const noexcept { return refresh_at_; }
    /// Until when callers may be handed `current()` without asking: the refresh point, or expiry
    /// once the refresh is under way.
    time_point serve_until() const noexcept { return fetching_ ? expires_at_ : refresh_at_; }

private:
    timing timing_;
    token_ptr current_;
    time_point expires_at_{};
    time_point refresh_at_{};
    bool fetching_ = false;
    std::optional<time_point> last_failure_;
};

} // namespace oic::detail
