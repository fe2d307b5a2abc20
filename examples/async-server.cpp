// An async HTTP server (Beast) whose handlers call OIC with one shared client: every request of
// every connection shares the client's connection pool and its one token. GET /connections answers
// the number of connections OIC has. The program runs itself as its own test: it starts the
// in-process mock OIC, serves on 127.0.0.1, sends 50 concurrent requests, and checks that the
// identity domain saw exactly one token request.

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>
#include <string>

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
            oic::diagnostics diag;
            auto [ec, all] = co_await oic::async_get_all_connections(client, oic::connections_query{}, diag,
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
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::deferred));
        if (ec)
            co_return; // closed: shutting down
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), client), asio::detached);
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

} // namespace

int main() {
    oic::testing::mock_server oic_mock;

    oic::client_config cfg;
    cfg.credentials.token_url = oic_mock.token_url();
    cfg.credentials.client_id = oic_mock.options().client_id;
    cfg.credentials.client_secret = oic::secret(oic_mock.options().client_secret);
    cfg.credentials.scope = oic_mock.options().scope;
    cfg.base_url = oic_mock.design_url();
    cfg.integration_instance = oic_mock.options().integration_instance;
    cfg.session.ca_file = oic_mock.ca_file();

    asio::io_context ioc;
    oic::client client(ioc.get_executor(), cfg); // one client for the whole server
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(ioc, listen(acceptor, client), asio::detached);

    constexpr int requests = 50;
    int ok = 0, done = 0;
    for (int i = 0; i < requests; ++i)
        asio::co_spawn(ioc, ask(acceptor.local_endpoint()), [&](std::exception_ptr e, bool good) {
            ok += !e && good;
            if (++done == requests)
                acceptor.close(); // the server stops accepting; open connections end with their clients
        });
    ioc.run();

    auto const token_requests = oic_mock.get_counters().token_requests;
    std::cout << ok << " of " << requests << " requests answered, " << token_requests << " token request\n";
    return ok == requests && token_requests == 1 ? 0 : 1;
}
