#pragma once
// Helpers shared by the test files: run a coroutine to completion with a time limit, and
// capture the error a coroutine or function throws.

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace oic_test {

namespace asio = boost::asio;

/// Runs `aw` on `ioc` until it finishes; fails the test if it has not finished within `limit`.
template <class T, class Executor>
T run(asio::io_context& ioc, asio::awaitable<T, Executor> aw, std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, auto... value) {
        done = true;
        error = e;
        if constexpr (sizeof...(value) > 0)
            if (!e)
                result.emplace(std::move(value)...);
    });
    ioc.restart();
    ioc.run_for(limit);
    REQUIRE(done); // a coroutine that did not finish is a hang, not a pass
    if (error)
        std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>)
        return std::move(*result);
}

/// The code and diagnostics of the error_with_diagnostics that `f` throws; fails if it throws none.
template <class F>
oic::error_with_diagnostics error_of(F&& f) {
    try {
        f();
    } catch (oic::error_with_diagnostics const& e) {
        return e;
    }
    FAIL("expected an oic::error_with_diagnostics");
    throw std::logic_error("unreachable");
}

/// The error_with_diagnostics that running `aw` throws; fails if it throws none.
template <class T, class Executor>
oic::error_with_diagnostics error_of(asio::io_context& ioc, asio::awaitable<T, Executor> aw) {
    return error_of([&] { run(ioc, std::move(aw)); });
}

/// Credentials the mock server accepts.
inline oic::client_credentials credentials_for(oic::testing::mock_server const& m,
                                               oic::client_auth auth = oic::client_auth::basic) {
    oic::client_credentials c;
    c.token_url = m.token_url();
    c.client_id = m.options().client_id;
    c.client_secret = oic::secret(m.options().client_secret);
    c.scope = m.options().scope;
    c.auth = auth;
    return c;
}

/// A client configuration for the mock server, trusting its test CA.
inline oic::client_config config_for(oic::testing::mock_server const& m, std::string base_url) {
    oic::client_config c;
    c.credentials = credentials_for(m);
    c.base_url = std::move(base_url);
    c.integration_instance = m.options().integration_instance;
    c.session.ca_file = m.ca_file();
    return c;
}

} // namespace oic_test
