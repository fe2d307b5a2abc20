// An async HTTP server (Beast) whose handlers call OIC with one shared client: every request of
// every connection shares the client's connection pool and its one token. GET /connections answers
// the number of connections OIC has. The program runs itself as its own test: it starts the
// in-process mock OIC, serves on 127.0.0.1, sends 50 concurrent requests, and checks that the
// identity domain saw exactly one token request.
//
// `async-server` runs everything on one io_context; `async-server --threads 4` on a thread_pool of
// 4, as most servers do. There, each connection's coroutine runs on a strand of its own (its socket
// is used from one thread at a time); the client needs none: it sits on the pool's plain executor,
// and each of its calls runs on a strand of its own, cancelled and timed out safely from the
// caller's strand. Each OIC call gets a deadline of its own (oic::async_with_timeout).

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// Serves one connection: each request becomes one OIC call through the shared client.
asio::awaitable<void> serve(tcp::socket socket, oic::client client) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::empty_body> req;
        stream.expires_after(std::chrono::seconds(30));
        auto [rec, n] = co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::deferred));
        if (rec)
            co_return; // the peer left, or sent garbage
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.keep_alive(req.keep_alive());
        res.set(http::field::content_type, "application/json");
        if (req.target() != "/connections") {
            res.result(http::status::not_found);
            res.body() = R"({"error":"not found"})";
        } else {
            // Errors as values: a failing OIC call becomes a 502 for this request only.
            // The deadline's timer runs on this connection's strand; it cancels the call from there.
            oic::diagnostics diag;
            auto [ec, all] = co_await oic::async_with_timeout(
                co_await asio::this_coro::executor, std::chrono::seconds(10),
                oic::async_get_all_connections(client, oic::connections_query{}, diag, asio::deferred),
                asio::as_tuple(asio::deferred));
            if (ec) {
                res.result(http::status::bad_gateway);
                res.body() = boost::json::serialize(boost::json::object{{"error", ec.message()}});
            } else {
                res.body() = boost::json::serialize(boost::json::object{{"connections", all.size()}});
            }
        }
        res.prepare_payload();
        auto [wec, m] = co_await http::async_write(stream, res, asio::as_tuple(asio::deferred));
        if (wec || !res.keep_alive())
            co_return;
    }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, oic::client client) {
    for (;;) {
        // Each connection on a strand of its own over the plain executor (free on an io_context
        // run by one thread), so that its socket is used from one thread at a time.
        auto const on = asio::make_strand(client.get_executor());
        auto [ec, socket] = co_await acceptor.async_accept(on, asio::as_tuple(asio::deferred));
        if (ec)
            co_return; // closed: shutting down
        asio::co_spawn(on, serve(std::move(socket), client), asio::detached);
    }
}

/// One request to our own server, as a user's browser or service would send it.
asio::awaitable<bool> ask(tcp::endpoint where) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(std::chrono::seconds(30));
    co_await stream.async_connect(where, asio::deferred);
    http::request<http::empty_body> req{http::verb::get, "/connections", 11};
    co_await http::async_write(stream, req, asio::deferred);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, asio::deferred);
    co_return res.result() == http::status::ok&& res.body() == R"({"connections":120})";
}

/// Serves on `ex` (one io_context, or a thread_pool), sends itself `requests` requests, runs the
/// context to the end with `run`, and reports.
template <class Executor, class Run>
int serve_and_check(oic::testing::mock_server& oic_mock, Executor ex, Run run, std::string_view where) {
    oic::client_config cfg;
    cfg.credentials.token_url = oic_mock.token_url();
    cfg.credentials.client_id = oic_mock.options().client_id;
    cfg.credentials.client_secret = oic::secret(oic_mock.options().client_secret);
    cfg.credentials.scope = oic_mock.options().scope;
    cfg.base_url = oic_mock.design_url();
    cfg.integration_instance = oic_mock.options().integration_instance;
    cfg.session.ca_file = oic_mock.ca_file();

    oic::client client(ex, cfg); // one client for the whole server, on the plain executor
    auto const accepting = asio::make_strand(ex);
    tcp::acceptor acceptor(accepting, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(accepting, listen(acceptor, client), asio::detached);

    constexpr int requests = 50;
    std::atomic<int> ok = 0, done = 0;
    for (int i = 0; i < requests; ++i)
        asio::co_spawn(asio::make_strand(ex), ask(acceptor.local_endpoint()), [&](std::exception_ptr e, bool good) {
            ok += !e && good;
            if (++done == requests) // the server stops accepting; open connections end with their clients
                asio::post(accepting, [&] { acceptor.close(); });
        });
    run();

    auto const token_requests = oic_mock.get_counters().token_requests;
    std::cout << ok << " of " << requests << " requests answered " << where << ", " << token_requests
              << " token request\n";
    return ok == requests && token_requests == 1 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    oic::testing::mock_server oic_mock;
    if (argc == 3 && std::string_view(argv[1]) == "--threads") {
        int const threads = std::atoi(argv[2]);
        if (threads < 1 || threads > 256) {
            std::cerr << "async-server: --threads takes 1 to 256, not '" << argv[2] << "'\n";
            return 2;
        }
        asio::thread_pool pool(static_cast<std::size_t>(threads));
        return serve_and_check(
            oic_mock, pool.get_executor(), [&] { pool.join(); }, "on " + std::to_string(threads) + " threads");
    }
    if (argc != 1) {
        std::cerr << "usage: async-server [--threads N]\n";
        return 2;
    }
    asio::io_context ioc;
    return serve_and_check(
        oic_mock, ioc.get_executor(), [&] { ioc.run(); }, "on one thread");
}
