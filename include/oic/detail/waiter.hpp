#pragma once
/// @file A coroutine that waits until another thread wakes it, without a strand of its own.

#include <oic/detail/cancelled.hpp>
#include <oic/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <mutex>

namespace oic::detail {

namespace asio = boost::asio;

/**
 * One coroutine's wait for a hand-over (a connection permit, the shared token): it ends when
 * another thread calls `wake()`, when `deadline` passes, or when the waiting coroutine is cancelled.
 *
 * The waiter lives in the waiting coroutine's frame; its owner (a queue guarded by `mutex`) holds a
 * pointer to it. Both sides touch the timer only while holding `mutex`: the waker in `wake()`, the
 * waiting side when the wait starts (inside `wait`) and when it reads `woken()` after the wait; so
 * the waker may run on any thread, whatever executor the waiting coroutine runs on, and nothing
 * outlives the frame. (A sub-coroutine `co_spawn`ed onto the owner's strand did this before; in
 * Boost 1.81 its cancellation handler could run after the parent had freed the slot.)
 *
 * The owner must remove the waiter from its queue, under `mutex`, before the waiting frame ends:
 * the waiting side does that when `woken()` is false after the wait.
 */
template <class Executor>
class waiter {
public:
    using clock = std::chrono::steady_clock;

    waiter(Executor ex, clock::time_point deadline) : timer_(ex, deadline) {}
    waiter(waiter const&) = delete;
    waiter& operator=(waiter const&) = delete;

    /// Ends the wait, now or, if it has not started yet, as soon as it starts. Caller holds `mutex`.
    void wake() {
        woken_ = true;
        timer_.expires_at(clock::time_point::min()); // cancels a wait in progress; a later one ends at once
    }

    /// Whether `wake()` was called. Caller holds `mutex`.
    bool woken() const noexcept { return woken_; }

    /// Waits until woken, the deadline or cancellation. Call without holding `mutex`; afterwards,
    /// look at `woken()` under it first: if false, the result says why the wait ended
    /// (`operation_aborted`: cancelled; nothing: the deadline passed).
    asio::awaitable<error_code, Executor> wait(std::mutex& mutex) {
        auto const state = co_await asio::this_coro::cancellation_state; // not a temporary: GCC 12
        if (cancelled(state))
            co_return asio::error::operation_aborted;
        auto token = asio::as_tuple(asio::use_awaitable_t<Executor>{});
        auto [ec] = co_await asio::async_initiate<decltype(token), void(error_code)>(
            [this, &mutex](auto handler) {
                std::lock_guard lock(mutex); // serialized with wake()
                timer_.async_wait(std::move(handler));
            },
            token);
        co_return ec;
    }

private:
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor> timer_;
    bool woken_ = false;
};

} // namespace oic::detail
