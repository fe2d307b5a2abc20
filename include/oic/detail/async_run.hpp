#pragma once
/// @file The bridge from the library's coroutines to Asio completion tokens.

#include <oic/error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <new>
#include <tuple>

namespace oic::detail {

namespace asio = boost::asio;

/// The code and diagnostics of an exception that left one of the library's coroutines.
inline error_code to_error(std::exception_ptr e, diagnostics* diag) {
    try {
        std::rethrow_exception(e);
    } catch (error_with_diagnostics const& x) {
        if (diag)
            *diag = x.get_diagnostics();
        return x.code();
    } catch (boost::system::system_error const& x) { // e.g. Asio's own operation_aborted
        if (diag)
            *diag = diagnostics{.message = x.code().message()};
        return x.code();
    } catch (std::bad_alloc const&) {
        return make_error_code(boost::system::errc::not_enough_memory);
    } catch (...) {
        if (diag)
            *diag = diagnostics{.message = "unexpected exception"};
        return make_error_code(boost::system::errc::state_not_recoverable);
    }
}

/// Runs the operation `make_op(diag)` makes, keeping `make_op` (and what it captured, e.g. the I/O
/// object a member coroutine runs on) alive in this frame for as long as the operation runs.
template <class T, class Executor, class MakeOp>
asio::awaitable<std::tuple<error_code, T>, Executor> run_owned(MakeOp make_op, diagnostics* diag) {
    // A cancelled operation then sees `operation_aborted` as a value where it waits, like any other error.
    co_await asio::this_coro::throw_if_cancelled(false);
    diagnostics unused;
    co_return co_await make_op(diag ? *diag : unused);
}

/**
 * Runs `make_op(diagnostics&)` (an `awaitable<std::tuple<error_code, T>, Executor>` that reports
 * failures as values) on `ex` as an asynchronous operation with the handler signature
 * `void(error_code, T)`, for any completion token. The handler runs on its own associated executor
 * (work is tracked there until then); its cancellation slot reaches the coroutine; `diag`, when
 * given, receives the failure's diagnostics and must outlive the operation. Only what no step of
 * the library expects (an allocation failure, say) arrives as an exception; it becomes a code too.
 */
template <class T, class Executor, class MakeOp, class CompletionToken>
auto async_run(Executor ex, diagnostics* diag, MakeOp make_op, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(error_code, T)>(
        [](auto handler, Executor ex, diagnostics* diag, MakeOp make_op) {
            auto const slot = asio::get_associated_cancellation_slot(handler);
            auto work =
                asio::prefer(asio::get_associated_executor(handler, ex), asio::execution::outstanding_work.tracked);
            if (diag)
                *diag = {};
            asio::co_spawn(
                ex, run_owned<T, Executor>(std::move(make_op), diag),
                asio::bind_cancellation_slot(slot, [handler = std::move(handler), work = std::move(work), diag](
                                                       std::exception_ptr e, std::tuple<error_code, T> result) mutable {
                    auto& [ec, value] = result;
                    if (e)
                        ec = to_error(e, diag);
                    auto const target = work;
                    asio::dispatch(target, asio::append(std::move(handler), ec, std::move(value)));
                }));
        },
        token, std::move(ex), diag, std::move(make_op));
}

} // namespace oic::detail
