// Coroutine recipes: a deadline for one call, cancelling a call when something else happens
// first, and many calls in parallel with a bound on how many are in flight. Runs against the
// in-process mock server, whose design-time host is made slow for the first two recipes.

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <variant>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// 1. A deadline: the call ends with oic::error::timeout if it takes longer than 200 ms.
asio::awaitable<void> with_deadline(oic::client client) {
    auto ex = co_await asio::this_coro::executor;
    auto [ec, page] = co_await oic::async_with_timeout(
        ex, 200ms, oic::async_get_connections(client, oic::connections_query{}, asio::deferred),
        asio::as_tuple(asio::deferred));
    std::cout << "deadline: " << (ec == oic::condition::timeout ? "timed out" : "answered") << '\n';
}

/// 2. Cancellation: whichever finishes first wins, the other is cancelled (terminal). Here a
/// "user pressed stop" timer beats the slow call, which ends with operation_aborted.
asio::awaitable<void> first_wins(oic::client client) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer stop(co_await asio::this_coro::executor, 100ms);
    auto const winner = co_await (oic::async_get_connections(client, oic::connections_query{}, asio::use_awaitable) ||
                                  stop.async_wait(asio::use_awaitable));
    std::cout << "first wins: " << (winner.index() == 1 ? "stopped, call cancelled" : "call answered") << '\n';
}

/// 3. Many calls, at most `bound` in flight: workers take the next page until none is left.
asio::awaitable<void> bounded(oic::client client, int pages, int bound) {
    auto ex = co_await asio::this_coro::executor;
    int next = 0, fetched = 0, running = bound;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    for (int w = 0; w < bound; ++w)
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                while (next < pages) {
                    oic::connections_query q;
                    q.limit = 10;
                    q.offset = 10 * next++;
                    auto const page = co_await oic::async_get_connections(client, q);
                    fetched += static_cast<int>(page.items.size());
                }
            },
            [&](std::exception_ptr) {
                if (--running == 0)
                    all_done.cancel();
            });
    co_await all_done.async_wait(asio::as_tuple(asio::deferred));
    std::cout << "bounded: " << fetched << " connections in " << pages << " pages, at most " << bound
              << " calls at once\n";
}

} // namespace

int main() {
    oic::testing::mock_server server;
    oic::client_config cfg;
    cfg.credentials.token_url = server.token_url();
    cfg.credentials.client_id = server.options().client_id;
    cfg.credentials.client_secret = oic::secret(server.options().client_secret);
    cfg.credentials.scope = server.options().scope;
    cfg.base_url = server.design_url();
    cfg.integration_instance = server.options().integration_instance;
    cfg.session.ca_file = server.ca_file();

    asio::io_context ioc;
    oic::client client(ioc.get_executor(), cfg);
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            co_await client.token().async_get(); // so that the slow part below is the API call itself
            server.set_design_latency(1000ms);
            co_await with_deadline(client);
            co_await first_wins(client);
            server.set_design_latency(0ms);
            co_await bounded(client, 12, 3);
        },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    ioc.run();
}
