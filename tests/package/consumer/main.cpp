// A user's program, as one would write it: one shared client on a thread pool, calls by coroutine,
// callback and future, with a deadline and with diagnostics. With no arguments it only builds a
// client from a bad configuration and checks the error (what tests/package/consumers.sh runs);
// scripts/compile-time.sh measures what this file costs to compile, header-only and compiled once.
// Usage: consumer BASE_URL TOKEN_URL CLIENT_ID SCOPE CA_FILE (the secret in OIC_CLIENT_SECRET).
#include <oic/oic.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string_view>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

int refuse_bad_config() {
#ifdef OIC_PACKAGE_VERSION
    if (std::string_view(OIC_PACKAGE_VERSION) != OIC_VERSION_STRING) {
        std::cout << "package version " << OIC_PACKAGE_VERSION << ", headers " << OIC_VERSION_STRING << '\n';
        return 1;
    }
#endif
    asio::thread_pool pool(1);
    oic::client_config cfg;
    cfg.base_url = "ftp://not-http.example";
    try {
        oic::client c(pool.get_executor(), cfg);
    } catch (oic::error_with_diagnostics const& e) {
        std::cout << "refused: " << e.what() << '\n';
        return e.code() == oic::error::bad_url ? 0 : 1;
    }
    return 1;
}

/// Every page, then one item by id, then the errored instances of the past day.
asio::awaitable<void> survey(oic::client client) {
    auto const all = co_await oic::async_get_all_connections(client, oic::list_query{});
    std::cout << all.size() << " connections\n";
    if (!all.empty()) {
        oic::diagnostics diag;
        auto [ec, one] = co_await oic::async_get_connection(client, std::string(all.front().id.view()), diag,
                                                            asio::as_tuple(asio::deferred));
        std::cout << "first: " << (ec ? diag.message : std::string(one.name.view())) << '\n';
    }
    oic::list_query errors;
    errors.q = "{timewindow: '1d'}";
    auto const errored = co_await oic::async_get_errored_instances(client, errors);
    std::cout << errored.items.size() << " errored instances\n";
}

/// One page within a deadline: oic::error::timeout past it.
asio::awaitable<void> page_with_deadline(oic::client client) {
    auto ex = co_await asio::this_coro::executor;
    oic::list_query q;
    q.limit = 5;
    auto [ec, page] = co_await oic::async_with_timeout(ex, 10s, oic::async_get_integrations(client, q, asio::deferred),
                                                       asio::as_tuple(asio::deferred));
    std::cout << (ec ? "integrations: " + ec.message() : std::to_string(page.items.size()) + " integrations") << '\n';
}

int run(char** argv) {
    oic::client_config cfg;
    cfg.base_url = argv[1];
    cfg.credentials.token_url = argv[2];
    cfg.credentials.client_id = argv[3];
    cfg.credentials.scope = argv[4];
    cfg.session.ca_file = argv[5];
    char const* secret = std::getenv("OIC_CLIENT_SECRET");
    cfg.credentials.client_secret = oic::secret(secret ? secret : "");

    asio::thread_pool pool(4);
    oic::client client(pool.get_executor(), cfg);
    auto survey_done = asio::co_spawn(pool, survey(client), asio::use_future);
    auto deadline_done = asio::co_spawn(pool, page_with_deadline(client), asio::use_future);

    std::promise<std::size_t> counted; // a callback, as code without coroutines writes it
    oic::async_get_connections(client, oic::list_query{}, [&](oic::error_code ec, oic::connections_page page) {
        counted.set_value(ec ? 0 : page.items.size());
    });
    std::cout << counted.get_future().get() << " connections on the first page\n";
    auto const integrations = oic::async_get_integrations(client, oic::list_query{}, asio::use_future).get();
    std::cout << integrations.total_results.value_or(0) << " integrations in all\n";
    survey_done.get();
    deadline_done.get();
    pool.join();
    return 0;
}

} // namespace

int main(int argc, char** argv) try {
    if (argc == 1)
        return refuse_bad_config();
    if (argc != 6) {
        std::cerr << "usage: consumer BASE_URL TOKEN_URL CLIENT_ID SCOPE CA_FILE\n";
        return 2;
    }
    return run(argv);
} catch (std::exception const& e) {
    std::cerr << "consumer: " << e.what() << '\n';
    return 1;
}
