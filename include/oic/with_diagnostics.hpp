#pragma once
/// @file
/// A completion token adapter: an operation's error arrives as an `error_with_diagnostics`
/// (its code and the whole explanation), not as a bare `error_code`, in the spirit of
/// Boost.MySQL's `with_diagnostics`.

#include <oic/error.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>

#include <concepts>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace oic {

namespace asio = boost::asio;

/**
 * @brief Wraps a completion token so that a handler `void(error_code, T)` becomes
 * `void(std::exception_ptr, T)`: on failure, an `error_with_diagnostics` holding the code and the
 * library's explanation (which host, which setting, the server's words); on success, null.
 *
 * The library's `async_*` functions apply it by themselves to `asio::use_future` and
 * `asio::use_awaitable`, the tokens that turn an error into an exception: the future or the
 * coroutine throws the whole message. Any other token gets the bare `error_code` unless wrapped:
 * `async_get_connections(client, q, oic::with_diagnostics(handler))` calls `handler(exception_ptr,
 * page)`. (The default token stays `asio::deferred`: Boost 1.81's Asio cannot `co_await` a
 * deferred operation that completes with an `exception_ptr` and a value, see
 * `awaitable_async_op_handler<R(std::exception_ptr, T)>::resume`.)
 */
template <class Token>
struct with_diagnostics_t {
    Token token; ///< the wrapped token, which completes the operation
};

/// `token`, its failures completed as `error_with_diagnostics`.
template <class Token>
constexpr with_diagnostics_t<std::decay_t<Token>> with_diagnostics(Token&& token) {
    return {std::forward<Token>(token)};
}

namespace detail {

/// The handler behind `with_diagnostics`: the library's operation writes its diagnostics where
/// `diagnostics_for` says, and the handler reads them if the operation fails.
template <class Handler>
struct diagnostics_handler {
    Handler handler;
    diagnostics const* source = nullptr; ///< the operation's diagnostics
    std::shared_ptr<diagnostics> owned;  ///< ...when the caller gave none

    /// Where the operation is to write its diagnostics: the caller's `diag`, else the handler's own.
    diagnostics* diagnostics_for(diagnostics* diag) {
        if (!diag)
            diag = (owned = std::make_shared<diagnostics>()).get();
        source = diag;
        return diag;
    }

    template <class... Values>
    void operator()(error_code ec, Values&&... values) {
        std::exception_ptr e;
        if (ec)
            e = std::make_exception_ptr(error_with_diagnostics(ec, source ? *source : diagnostics{}));
        owned.reset();
        std::move(handler)(std::move(e), std::forward<Values>(values)...);
    }
};

/// Whether `handler` takes the operation's diagnostics (a `with_diagnostics` handler).
template <class Handler>
concept takes_diagnostics = requires(Handler& h, diagnostics* d) {
    { h.diagnostics_for(d) } -> std::same_as<diagnostics*>;
};

} // namespace detail
} // namespace oic

namespace boost::asio {

template <class Token, class... Values>
struct async_result<oic::with_diagnostics_t<Token>, void(oic::error_code, Values...)> {
    template <class Initiation, class RawToken, class... Args>
    static auto initiate(Initiation&& initiation, RawToken&& token, Args&&... args) {
        return async_initiate<Token, void(std::exception_ptr, Values...)>(
            [init = std::forward<Initiation>(initiation)](auto handler, auto&&... call_args) mutable {
                std::move(init)(
                    oic::detail::diagnostics_handler<decltype(handler)>{std::move(handler), nullptr, nullptr},
                    std::forward<decltype(call_args)>(call_args)...);
            },
            token.token, std::forward<Args>(args)...);
    }
};

// The wrapped handler's executor, allocator and cancellation slot are those of the handler within.
template <template <class, class> class Associator, class Handler, class Default>
struct associator<Associator, oic::detail::diagnostics_handler<Handler>, Default> : Associator<Handler, Default> {
    static typename Associator<Handler, Default>::type
    get(oic::detail::diagnostics_handler<Handler> const& h) noexcept {
        return Associator<Handler, Default>::get(h.handler);
    }
    static auto get(oic::detail::diagnostics_handler<Handler> const& h, Default const& d) noexcept
        -> decltype(Associator<Handler, Default>::get(h.handler, d)) {
        return Associator<Handler, Default>::get(h.handler, d);
    }
};

} // namespace boost::asio
