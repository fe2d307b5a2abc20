#pragma once
/// @file The bridge from the library's coroutines to Asio completion tokens.

#include <oic/error.hpp>
#include <oic/with_diagnostics.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <tuple>
#include <type_traits>

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

/// Whether `Executor` serializes what it runs already.
template <class Executor>
inline constexpr bool is_strand_v = false;
template <class Inner>
inline constexpr bool is_strand_v<asio::strand<Inner>> = true;

/// Whether an operation over `Executor` gets a strand of its own (see `spawn_serialized`).
template <class Executor>
inline constexpr bool gets_own_strand_v =
    !is_strand_v<Executor> && std::is_constructible_v<Executor, asio::strand<Executor>>;

/**
 * The executor one operation is serialized on: a strand of its own over `ex`, so that everything of
 * the operation (its coroutine, cancellation slot, timers and socket) is touched from one
 * serialized context even when `ex` is a `thread_pool`'s; `ex` itself when it is a strand already,
 * or when its type cannot hold a strand (a concrete executor type such as
 * `io_context::executor_type`: the caller then runs that context on one thread, or uses
 * `any_io_executor` or a strand type).
 */
template <class Executor>
auto serialized(Executor const& ex) {
    if constexpr (gets_own_strand_v<Executor>)
        return asio::make_strand(ex);
    else
        return ex;
}

/**
 * Calls `spawn(Executor(on))` on `on` (what `serialized` gave). The type-erased copy of a strand
 * is made, used and dropped on that strand only: its reference count is then never released from
 * two threads at once (ThreadSanitizer cannot see the fence Asio's count uses). No extra hop: the
 * coroutine `spawn` starts runs at once there.
 */
template <class Executor, class Serialized, class Spawn>
void spawn_serialized(Serialized const& on, Spawn spawn) {
    if constexpr (std::is_same_v<Serialized, Executor>)
        spawn(on);
    else
        asio::dispatch(on, [on, spawn = std::move(spawn)]() mutable { spawn(Executor(on)); });
}

/**
 * Runs `op` with Asio's throw-on-cancel off, so that a cancellation reaches the library's waits as
 * `operation_aborted` (a value: each step leaves its state whole) rather than as an exception out
 * of whatever `co_await` comes next; the caller's setting is put back afterwards. Every public
 * coroutine of the library goes through this (throw-on-cancel belongs to the whole coroutine stack,
 * the caller's included).
 */
template <class T, class Executor>
asio::awaitable<T, Executor> cancel_as_value(asio::awaitable<T, Executor> op) {
    if (!co_await asio::this_coro::throw_if_cancelled())
        co_return co_await std::move(op);
    co_await asio::this_coro::throw_if_cancelled(false);
    std::exception_ptr e;
    std::optional<T> result;
    try {
        result.emplace(co_await std::move(op));
    } catch (...) {
        e = std::current_exception();
    }
    co_await asio::this_coro::throw_if_cancelled(true);
    if (e)
        std::rethrow_exception(e);
    co_return std::move(*result);
}

/// `op(diag)`'s value, or its error, cancellation included, thrown as `error_with_diagnostics`:
/// the library's throwing coroutine forms.
template <class T, class Executor, class Op>
asio::awaitable<T, Executor> value_or_throw(Op op) {
    diagnostics diag;
    auto [ec, value] = co_await cancel_as_value(op(diag));
    if (ec)
        fail(ec, std::move(diag));
    co_return std::move(value);
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

/// The caller's cancellation on its way to one operation. The operation owns it and drops it on its
/// own executor when it ends; the caller's slot holds a weak reference (it may outlive the
/// operation), and what it emits is posted onto the operation's executor and emitted there.
struct forwarded_cancellation {
    asio::cancellation_signal signal;
};

/// Tokens that turn an error into an exception (a future's, a coroutine's): they get it with its
/// diagnostics (`with_diagnostics`), not as a bare `system_error`.
template <class Token>
inline constexpr bool throws_errors_v = false;
template <class Allocator>
inline constexpr bool throws_errors_v<asio::use_future_t<Allocator>> = true;
template <class Executor>
inline constexpr bool throws_errors_v<asio::use_awaitable_t<Executor>> = true;

/**
 * What `async_run` does once the operation is made, whatever the completion token: the handler
 * behind a type-erased handle, so that this is compiled once per result type (with
 * `OIC_SEPARATE_COMPILATION`, once per program), not once per operation and token.
 */
template <class T, class Executor>
void start_run(Executor ex, diagnostics* diag, asio::awaitable<std::tuple<error_code, T>, Executor> op,
               asio::any_completion_handler<void(error_code, T)> handler) {
    auto const on = serialized(ex);
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto work = asio::prefer(asio::get_associated_executor(handler, ex), asio::execution::outstanding_work.tracked);
    std::shared_ptr<forwarded_cancellation> cancel;
    if (slot.is_connected()) {
        cancel = std::make_shared<forwarded_cancellation>();
        slot.assign([forward = std::weak_ptr(cancel), on](asio::cancellation_type type) {
            asio::post(on, [forward, type] {
                if (auto const c = forward.lock())
                    c->signal.emit(type);
            });
        });
    }
    // Runs on the operation's executor; drops `cancel` there. The caller's slot is cleared where it
    // is emitted from: on the handler's executor, just before the handler runs.
    auto done = [handler = std::move(handler), work = std::move(work), diag, cancel,
                 slot](std::exception_ptr e, std::tuple<error_code, T> result) mutable {
        cancel.reset();
        auto& [ec, value] = result;
        if (e)
            ec = to_error(e, diag);
        auto const target = work;
        asio::dispatch(target, [handler = std::move(handler), slot, ec = ec, value = std::move(value),
                                work = std::move(work)]() mutable {
            if (slot.is_connected())
                slot.clear();
            std::move(handler)(ec, std::move(value));
        });
    };
    // `cancel` moves along: the initiating thread keeps no reference to it.
    spawn_serialized<Executor>(on, [op = std::move(op), done = std::move(done),
                                    cancel = std::move(cancel)](Executor op_ex) mutable {
        if (cancel) // co_spawn's cancellation handler lives, and dies, in our signal
            asio::co_spawn(op_ex, std::move(op), asio::bind_cancellation_slot(cancel->signal.slot(), std::move(done)));
        else
            asio::co_spawn(op_ex, std::move(op), std::move(done));
    });
}

/**
 * Runs `make_op(diagnostics&)` (an `awaitable<std::tuple<error_code, T>, Executor>` that reports
 * failures as values) as an asynchronous operation with the handler signature
 * `void(error_code, T)`, for any completion token, on a strand of its own over `ex` (see
 * `serialized`). The handler runs on its own associated executor (work is tracked there until
 * then). Cancellation emitted on the handler's cancellation slot (from the caller's context, as
 * Asio asks) is posted onto the operation's strand and emitted there, never across threads; one
 * that arrives after the operation ended does nothing. `diag`, when given, receives the failure's
 * diagnostics and must outlive the operation. Only what no step of the library expects (an
 * allocation failure, say) arrives as an exception; it becomes a code too.
 */
template <class T, class Executor, class MakeOp, class CompletionToken>
auto async_run(Executor ex, diagnostics* diag, MakeOp make_op, CompletionToken&& token) {
    if constexpr (throws_errors_v<std::decay_t<CompletionToken>>)
        return async_run<T>(std::move(ex), diag, std::move(make_op), with_diagnostics(token));
    else
        return asio::async_initiate<CompletionToken, void(error_code, T)>(
            [](auto handler, Executor ex, diagnostics* diag, MakeOp make_op) {
                if (diag)
                    *diag = {};
                // A `with_diagnostics` handler gets the explanation too, asked for or not.
                if constexpr (takes_diagnostics<decltype(handler)>)
                    diag = handler.diagnostics_for(diag);
                auto op = run_owned<T, Executor>(std::move(make_op), diag);
                start_run<T, Executor>(std::move(ex), diag, std::move(op),
                                       asio::any_completion_handler<void(error_code, T)>(std::move(handler)));
            },
            token, std::move(ex), diag, std::move(make_op));
}

} // namespace oic::detail
