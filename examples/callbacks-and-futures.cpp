// The same Developer API call without coroutines: a callback, a future from a plain thread, a
// deferred operation launched later, and an error as a value with its diagnostics. Every
// async_* function takes any Asio completion token; handlers get (error_code, result).
// Runs against the in-process mock server, so it works anywhere.

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>
#include <thread>

namespace asio = boost::asio;

int main() {
    oic::testing::mock_server server; // token endpoint and design-time host on 127.0.0.1

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
    oic::connections_query query;
    query.limit = 3;

    // 1. A callback: the error code first, then the page.
    oic::async_get_connections(client, query, [](oic::error_code ec, oic::connections_page page) {
        if (ec)
            std::cout << "callback: failed: " << ec.message() << '\n';
        else
            std::cout << "callback: " << page.items.size() << " connections, first " << page.items[0].name << '\n';
    });
    ioc.run();

    // 2. Deferred: describe the operation now, launch it later with any token.
    auto later = oic::async_get_connections(client, query, asio::deferred);
    std::move(later)([](oic::error_code ec, oic::connections_page page) {
        std::cout << "deferred: " << (ec ? ec.message() : std::to_string(page.items.size()) + " connections") << '\n';
    });
    ioc.restart();
    ioc.run();

    // 3. Futures, from a thread that does not run the io_context.
    auto work = asio::make_work_guard(ioc);
    ioc.restart();
    std::thread io_thread([&ioc] { ioc.run(); });
    auto page = oic::async_get_connections(client, query, asio::use_future);
    std::cout << "future: " << page.get().items.size() << " connections\n";

    // 4. A failure with its diagnostics: the server's status and words, kept apart from ours. Given
    //    a function, use_future holds what it returns: here the error code, as a value (plain
    //    use_future would throw it from get()).
    oic::diagnostics diag;
    oic::connections_query bad;
    bad.order_by = "size"; // not a field the API orders by
    auto failed = oic::async_get_connections(
        client, bad, diag, asio::use_future([](oic::error_code ec, oic::connections_page) { return ec; }));
    if (auto const ec = failed.get())
        std::cout << "future: failed (" << (ec == oic::condition::api ? "API" : "other") << " error, HTTP "
                  << diag.http_status << ", server said " << oic::printable(diag.server_code) << ")\n";
    work.reset();
    io_thread.join();
}
