#pragma once
/// @file
/// A deadline for any one operation, without building the timer race by hand.

#include <oic/error.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <memory>

namespace oic {

namespace asio = boost::asio;

namespace detail {
template <class Signature>
struct timeout_result;
template <class T>
struct timeout_result<void(error_code, T)> {
    using type = T;
};
} // namespace detail

/**
 * @brief Runs `op`, a deferred operation completing with `(error_code, T)` (any of this library's
 * `async_*` functions called with `asio::deferred`), and cancels it (terminal) if `timeout` passes
 * first; it then completes with `error::timeout` (`condition::timeout`).
 *
 * ```
 * auto page = co_await oic::async_with_timeout(ex, 2s, oic::async_get_connections(client, q, asio::deferred));
 * ```
 * Handler: `void(error_code, T)`. The timer runs on `ex`.
 * @par Per-operation cancellation
 * Terminal cancellation of the whole reaches `op`, which ends with `operation_aborted`.
 */
template <class Executor, class DeferredOp, class CompletionToken = asio::deferred_t>
auto async_with_timeout(Executor ex, std::chrono::steady_clock::duration timeout, DeferredOp op,
                        CompletionToken&& token = {}) {
    using value_type = typename detail::timeout_result<asio::completion_signature_of_t<DeferredOp>>::type;
    auto timer = std::make_shared<
        asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>>(
        ex, timeout);
    return asio::experimental::make_parallel_group(std::move(op), timer->async_wait(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(),
                    asio::deferred([timer](std::array<std::size_t, 2> order, error_code ec, value_type value,
                                           error_code timer_ec) {
                        // The timer expired first (not cancelled with the whole): `op` was cancelled because of it.
                        if (order[0] == 1 && !timer_ec)
                            ec = error::timeout;
                        return asio::deferred.values(ec, std::move(value));
                    }))(std::forward<CompletionToken>(token));
}

} // namespace oic
