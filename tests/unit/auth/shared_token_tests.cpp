// The shared token over an in-memory fetch function, without sockets: single flight,
// refresh-ahead, failure sharing and backoff, invalidation, cancellation, teardown. The storms
// against the mock server are in integration/client_tests.cpp.

#include "common.hpp"

#include <oic/oic.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <thread>

using namespace oic;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using oic_test::manual_clock;
using oic_test::options_with;
using oic_test::run;

namespace {

/// A token endpoint in memory: counts calls, answers after a short delay, fails on demand.
struct fake_endpoint {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<bool>> failing = std::make_shared<std::atomic<bool>>(false);

    shared_token::fetch_function fetch() const {
        // A plain function that returns the coroutine: a coroutine lambda would read its captures
        // from a lambda object the shared token does not keep alive.
        return [calls = calls, failing = failing](diagnostics& d) { return answer(calls, failing, d); };
    }

    static asio::awaitable<std::tuple<error_code, access_token>>
    answer(std::shared_ptr<std::atomic<int>> calls, std::shared_ptr<std::atomic<bool>> failing, diagnostics& d) {
        int const n = ++*calls;
        asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
        co_await t.async_wait(asio::use_awaitable);
        if (*failing) {
            d = diagnostics{.message = "fake refusal", .http_status = 503};
            co_return std::tuple{error_code(error::token_rejected), access_token{}};
        }
        co_return std::tuple{error_code{}, access_token{.value = secret("token-" + std::to_string(n)),
                                                        .token_type = "Bearer",
                                                        .expires_in = 3600s,
                                                        .scope = {}}};
    }
};

} // namespace

TEST_CASE("shared token: one fetch for many waiters, then no I/O while fresh", "[token][shared]") {
    asio::io_context ioc;
    manual_clock clock;
    fake_endpoint endpoint;
    shared_token tok(ioc.get_executor(), endpoint.fetch(), options_with(clock));

    std::vector<token_ptr> got(100);
    for (auto& slot : got)
        asio::co_spawn(ioc, tok.get(), [&slot](std::exception_ptr e, token_ptr t) {
            REQUIRE_FALSE(e);
            slot = t;
        });
    ioc.run_for(10s);
    CHECK(*endpoint.calls == 1);
    for (auto const& t : got) {
        REQUIRE(t);
        CHECK(t == got[0]); // the very same token object
    }
    clock.advance(30min);
    CHECK(run(ioc, tok.get()) == got[0]);
    CHECK(*endpoint.calls == 1);
}

TEST_CASE("shared token: refresh-ahead serves the current token and refreshes once in the background",
          "[token][shared]") {
    asio::io_context ioc;
    manual_clock clock;
    fake_endpoint endpoint;
    shared_token tok(ioc.get_executor(), endpoint.fetch(), options_with(clock));
    auto const first = run(ioc, tok.get());

    clock.advance(3600s - 30s - 4min); // inside the 5 minute window, not yet expired
    for (int i = 0; i < 10; ++i)
        asio::co_spawn(ioc, tok.get(), [&](std::exception_ptr e, token_ptr t) {
            REQUIRE_FALSE(e);
            CHECK(t == first); // nobody waits for the refresh
        });
    ioc.restart();
    ioc.run_for(10s);
    CHECK(*endpoint.calls == 2);
    auto const second = run(ioc, tok.get());
    CHECK(second != first);
    CHECK(second->value.reveal() == "token-2");
}

TEST_CASE("shared token: an expired token is fetched again", "[token][shared]") {
    asio::io_context ioc;
    manual_clock clock;
    fake_endpoint endpoint;
    shared_token tok(ioc.get_executor(), endpoint.fetch(), options_with(clock));
    auto const first = run(ioc, tok.get());
    clock.advance(3600s);
    auto const second = run(ioc, tok.get());
    CHECK(second->value.reveal() == "token-2");
    CHECK(*endpoint.calls == 2);
}

TEST_CASE("shared token: a failure reaches every waiter, is not cached, and backs off", "[token][shared]") {
    asio::io_context ioc;
    manual_clock clock;
    fake_endpoint endpoint;
    shared_token tok(ioc.get_executor(), endpoint.fetch(), options_with(clock));
    *endpoint.failing = true;

    int errors = 0;
    for (int i = 0; i < 50; ++i)
        asio::co_spawn(ioc, tok.get(), [&](std::exception_ptr e, token_ptr) {
            try {
                std::rethrow_exception(e);
            } catch (error_with_diagnostics const& x) {
                CHECK(x.code() == error::token_rejected);
                CHECK(x.get_diagnostics().http_status == 503);
                ++errors;
            }
        });
    ioc.run_for(10s);
    CHECK(errors == 50);
    CHECK(*endpoint.calls == 1);

    *endpoint.failing = false;
    auto const start = std::chrono::steady_clock::now();
    CHECK(run(ioc, tok.get())->value.reveal() == "token-2");  // not cached: the next get fetches
    CHECK(std::chrono::steady_clock::now() - start >= 100ms); // ...after the backoff
}

TEST_CASE("shared token: invalidate drops only the current token", "[token][shared]") {
    asio::io_context ioc;
    manual_clock clock;
    fake_endpoint endpoint;
    shared_token tok(ioc.get_executor(), endpoint.fetch(), options_with(clock));
    auto const first = run(ioc, tok.get());
    run(ioc, tok.invalidate(first));
    auto const second = run(ioc, tok.get());
    CHECK(second != first);
    run(ioc, tok.invalidate(first)); // a late 401 with the old token: the new one stays
    CHECK(run(ioc, tok.get()) == second);
    CHECK(*endpoint.calls == 2);
}

TEST_CASE("shared token: after a 401 the next fetch starts only once the store was told of the refused token",
          "[token][shared][store]") {
    // A store (Redis) that hands the last stored token back on a fetch must hear of a rejection
    // before that fetch, or the refused token comes straight back. The rejection is slow here, and
    // another caller asks for a token while it is in flight.
    asio::io_context ioc;
    manual_clock clock;
    fake_endpoint endpoint;
    auto const told = std::make_shared<std::atomic<int>>(0);
    auto const told_before_fetch = std::make_shared<std::vector<int>>();
    shared_token::source src{.fetch =
                                 [fetch = endpoint.fetch(), told, told_before_fetch](diagnostics& d) {
                                     told_before_fetch->push_back(*told);
                                     return fetch(d);
                                 },
                             .rejected = [told](token_ptr) -> asio::awaitable<void> {
                                 asio::steady_timer slow(co_await asio::this_coro::executor, 50ms);
                                 co_await slow.async_wait(asio::use_awaitable);
                                 ++*told;
                             }};
    shared_token tok(ioc.get_executor(), std::move(src), options_with(clock));
    auto const first = run(ioc, tok.get());
    token_ptr from_other;
    asio::co_spawn(ioc, tok.invalidate(first), asio::detached);
    asio::co_spawn(ioc, tok.get(), [&](std::exception_ptr e, token_ptr t) {
        REQUIRE_FALSE(e);
        from_other = t;
    });
    ioc.restart();
    ioc.run_for(5s);
    REQUIRE(from_other);
    CHECK(from_other != first);
    CHECK(*told == 1);
    CHECK(*told_before_fetch == std::vector<int>{0, 1}); // the second fetch began after the store heard
    CHECK(tok.fetches() == 2);
}

TEST_CASE("shared token: a cancelled waiter leaves, the fetch goes on for the others", "[token][shared][cancel]") {
    asio::io_context ioc;
    manual_clock clock;
    fake_endpoint endpoint;
    shared_token tok(ioc.get_executor(), endpoint.fetch(), options_with(clock));

    auto type =
        GENERATE(asio::cancellation_type::terminal, asio::cancellation_type::partial, asio::cancellation_type::total);
    asio::cancellation_signal signal;
    std::optional<error_code> cancelled;
    std::vector<token_ptr> others;
    auto waiter = [&]() -> asio::awaitable<token_ptr> {
        // A coroutine lets terminal cancellation through by default; this one takes every type.
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_return co_await tok.get();
    };
    asio::co_spawn(ioc, waiter(), asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, token_ptr) {
                       try {
                           std::rethrow_exception(e);
                       } catch (error_with_diagnostics const& x) { // with diagnostics, never a bare system_error
                           cancelled = x.code();
                           CHECK(x.get_diagnostics().message == "waiting for the shared token was cancelled");
                       }
                   }));
    for (int i = 0; i < 2; ++i)
        asio::co_spawn(ioc, tok.get(), [&](std::exception_ptr e, token_ptr t) {
            REQUIRE_FALSE(e);
            others.push_back(t);
        });
    ioc.poll(); // everyone is waiting for the fetch now
    signal.emit(type);
    ioc.run_for(10s);
    REQUIRE(cancelled);
    CHECK(*cancelled == asio::error::operation_aborted);
    REQUIRE(others.size() == 2);
    CHECK(others[0] == others[1]);
    CHECK(*endpoint.calls == 1);
}

TEST_CASE("shared token: waiters destroyed with their io_context leave nothing behind", "[token][shared]") {
    fake_endpoint endpoint;
    manual_clock clock;
    {
        asio::io_context ioc;
        shared_token tok(ioc.get_executor(), endpoint.fetch(), options_with(clock));
        for (int i = 0; i < 10; ++i)
            asio::co_spawn(ioc, tok.get(), [](std::exception_ptr, token_ptr) {});
        ioc.poll();
    } // AddressSanitizer reports any frame or state leaked here
    CHECK(*endpoint.calls == 1);
}
