// fetch_token, get_connections and the client against the mock server, over real sockets and TLS;
// cancellation, the pool, and storms of concurrent calls on one shared token.

#include "common.hpp"

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace oic;
using oic_test::config_for;
using oic_test::credentials_for;
using oic_test::error_of;
using oic_test::manual_clock;
using oic_test::options_with;
using oic_test::run;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace std::string_literals;

TEST_CASE("fetch_token over TLS with client_secret_basic and client_secret_post", "[integration][token]") {
    testing::mock_server server;
    asio::io_context ioc;
    http::session session(ioc.get_executor(), {.ca_file = server.ca_file()});
    for (auto auth : {client_auth::basic, client_auth::post}) {
        auto const token = run(ioc, fetch_token(session, credentials_for(server, auth)));
        CHECK(token.value.reveal().size() == 64);
        CHECK(token.token_type == "Bearer");
        CHECK(token.expires_in == 3600s);
    }
    CHECK(server.get_counters().tokens_issued == 2);
}

TEST_CASE("fetch_token works over any executor type", "[integration][token][executor]") {
    testing::mock_server server;
    auto const creds = credentials_for(server);
    http::session_options const opts{.ca_file = server.ca_file()};
    asio::io_context ioc;

    SECTION("any_io_executor") {
        http::basic_session<asio::any_io_executor> s(ioc.get_executor(), opts);
        CHECK_FALSE(run(ioc, fetch_token(s, creds)).value.empty());
    }
    SECTION("io_context executor") {
        http::basic_session<asio::io_context::executor_type> s(ioc.get_executor(), opts);
        CHECK_FALSE(run(ioc, fetch_token(s, creds)).value.empty());
    }
    SECTION("strand") {
        using strand = asio::strand<asio::io_context::executor_type>;
        http::basic_session<strand> s(asio::make_strand(ioc.get_executor()), opts);
        asio::awaitable<access_token, strand> aw = fetch_token(s, creds);
        auto fut = asio::co_spawn(s.get_executor(), std::move(aw), asio::use_future);
        ioc.run_for(30s);
        REQUIRE(fut.wait_for(0s) == std::future_status::ready);
        CHECK_FALSE(fut.get().value.empty());
    }
    SECTION("thread_pool executor") {
        asio::thread_pool pool(2);
        http::basic_session<asio::thread_pool::executor_type> s(pool.get_executor(), opts);
        auto fut = asio::co_spawn(pool, fetch_token(s, creds), asio::use_future);
        REQUIRE(fut.wait_for(30s) == std::future_status::ready);
        CHECK_FALSE(fut.get().value.empty());
        pool.join();
    }
    CHECK(server.get_counters().tokens_issued == 1);
}

TEST_CASE("fetch_token errors are clear and never hold the secret", "[integration][token][errors]") {
    testing::mock_server server;
    asio::io_context ioc;
    http::session session(ioc.get_executor(), {.ca_file = server.ca_file(), .request_timeout = 2s});
    auto creds = credentials_for(server);

    SECTION("wrong secret: RFC 6749 invalid_client") {
        creds.client_secret = secret("wrong-secret-value");
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.code() == error::token_rejected);
        CHECK(e.get_diagnostics().http_status == 401);
        CHECK(e.get_diagnostics().server_code == "invalid_client");
        CHECK_THAT(e.what(), !Catch::Contains("wrong-secret-value") && !Catch::Contains("mock-secret"));
    }
    SECTION("wrong scope: invalid_scope") {
        creds.scope = "https://other:443urn:opc:resource:consumer::all";
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.code() == error::token_rejected);
        CHECK(e.get_diagnostics().server_code == "invalid_scope");
    }
    SECTION("a wrong token path: 404, naming the URL that answered") {
        creds.token_url = server.token_url() + "x";
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.code() == error::token_http_status);
        CHECK(e.get_diagnostics().http_status == 404);
        CHECK_THAT(e.what(),
                   Catch::StartsWith(creds.token_url + ": token endpoint") && !Catch::Contains("mock-secret"));
    }
    SECTION("endpoint failing with 503") {
        server.set_token_failure(503);
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.get_diagnostics().http_status == 503);
        CHECK(e.code() == condition::token_endpoint);
    }
    SECTION("answer larger than the configured limit") {
        creds.max_response_size = 16;
        CHECK(error_of(ioc, fetch_token(session, creds)).code() == error::body_too_large);
    }
    SECTION("slow endpoint: timeout") {
        server.set_token_latency(5s);
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.code() == error::timeout);
        CHECK(e.code() == condition::network);
    }
    SECTION("unparsable token URL") {
        creds.token_url = "not a url";
        CHECK(error_of(ioc, fetch_token(session, creds)).code() == error::bad_url);
    }
    SECTION("credentials never go over plaintext to a non-loopback host") {
        creds.token_url = "http://idcs.example.com/oauth2/v1/token";
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.code() == error::insecure_transport);
        CHECK(server.get_counters().token_requests == 0);
    }
}

TEST_CASE("TLS verification is on by default", "[integration][tls]") {
    asio::io_context ioc;
    SECTION("a server whose CA is not trusted") {
        testing::mock_server server;
        http::session session(ioc.get_executor()); // no ca_file: the system store does not know the test CA
        auto const e = error_of(ioc, fetch_token(session, credentials_for(server)));
        CHECK(e.code() == condition::network);
        CHECK_THAT(e.what(), Catch::Contains("TLS handshake"));
        CHECK(server.get_counters().token_requests == 0);
    }
    SECTION("a certificate that does not name the host") {
        testing::mock_options opts;
        opts.address = "127.0.0.4"; // not among the test certificate's names
        testing::mock_server server(opts);
        http::session session(ioc.get_executor(), {.ca_file = server.ca_file()});
        auto const e = error_of(ioc, fetch_token(session, credentials_for(server)));
        CHECK_THAT(e.what(), Catch::Contains("TLS handshake"));
        CHECK(server.get_counters().token_requests == 0);
    }
    SECTION("a DNS name the certificate does not have, on the same socket the right name passes") {
        // On the connection itself: names other than localhost do not resolve here.
        testing::mock_server server;
        auto const tls = oic::detail::tls_client_context(server.ca_file());
        http::urls::url const u(server.design_url());
        auto handshake_as = [&](std::string host) {
            asio::ip::tcp::socket socket(ioc);
            socket.connect({asio::ip::make_address(u.host()), u.port_number()});
            using transport = http::detail::socket_transport<asio::any_io_executor>;
            http::detail::connection<asio::any_io_executor> c(http::origin{"https", std::move(host), u.port_number()},
                                                              transport(std::move(socket), tls.get()), 4096);
            return run(ioc, c.handshake(http::clock::now() + 5s));
        };
        auto const wrong = handshake_as("wrong.example");
        CHECK(wrong);
        CHECK_THAT(wrong.message(), Catch::Contains("certificate verify failed"));
        CHECK_FALSE(handshake_as("localhost"));
    }
    SECTION("a CA file that cannot be read is a config error") {
        CHECK(error_of([&] { http::session(ioc.get_executor(), {.ca_file = "/nonexistent/ca.pem"}); }).code() ==
              error::bad_config);
    }
}

TEST_CASE("GCC 12: a closure that holds strings is made first, then awaited (docs/platform.md)",
          "[integration][api][platform]") {
    // The pattern a user tripped over: `co_await asio::co_spawn(ex, [c, q]() -> awaitable<...> {...},
    // use_awaitable)` in one expression. GCC 12 destroys that closure, and the strings of `q`, twice
    // (glibc: "free(): invalid pointer"; ASan: a double free). Written as the docs say, it must hold
    // under every preset, the strings long enough to live on the heap.
    testing::mock_server server;
    asio::io_context ioc;
    client const c(ioc.get_executor(), config_for(server, server.design_url()));
    list_query q;
    q.q = "{name:'Z\xC3\xBCrich ERP'}"; // 20 bytes: past the small-string buffer, on the heap
    auto outer = [&]() -> asio::awaitable<std::size_t> {
        auto const ex = co_await asio::this_coro::executor;
        auto op = asio::co_spawn(
            ex,
            [c, q]() -> asio::awaitable<std::size_t> {
                auto first = get_connections(c, q);
                auto page = co_await std::move(first);
                co_return page.items.size();
            },
            asio::use_awaitable);
        co_return co_await std::move(op);
    };
    CHECK(run(ioc, outer()) == 1);
    CHECK(q.q == "{name:'Z\xC3\xBCrich ERP'}"); // the caller's query is its own
}

TEST_CASE("get_connections pages, filters and orders against the design-time host", "[integration][api]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));

    connections_query q;
    q.limit = 50;
    q.keep_json = true; // the items' own JSON too
    auto const page = run(ioc, get_connections(c, q));
    CHECK(page.items.size() == 50);
    CHECK(page.has_more);
    CHECK(page.total_results == 120);
    for (auto const& item : page.items) {
        CHECK_FALSE(item.id.empty());
        CHECK_FALSE(item.adapter.name.empty());
        CHECK(item.raw().contains("links"));
    }
    q.keep_json = false; // by default a page keeps no body: the same items, without their text
    auto const lean = run(ioc, get_connections(c, q));
    REQUIRE(lean.items.size() == 50);
    for (std::size_t i = 0; i < 50; ++i) {
        CHECK(lean.items[i].id == page.items[i].id);
        CHECK(lean.items[i].properties.size() == page.items[i].properties.size());
        CHECK(lean.items[i].json().empty());
        CHECK(lean.items[i].raw().empty());
    }

    SECTION("get_all_connections walks every page") {
        auto const all = run(ioc, get_all_connections(c, q));
        REQUIRE(all.size() == 120);
        std::set<std::string> ids;
        for (auto const& item : all)
            ids.insert(item.id);
        CHECK(ids.size() == 120);
    }
    SECTION("q: exact name with a non-ASCII character, contains, status") {
        connections_query exact;
        exact.q = "{name:'Zürich ERP'}";
        auto const one = run(ioc, get_connections(c, exact));
        REQUIRE(one.items.size() == 1);
        CHECK(one.items[0].name == "Zürich ERP");

        connections_query status;
        status.q = "{status : 'INPROGRESS'}";
        status.limit = 1000;
        auto const inprogress = run(ioc, get_connections(c, status));
        REQUIRE_FALSE(inprogress.items.empty());
        for (auto const& item : inprogress.items)
            CHECK(item.status == "INPROGRESS");

        connections_query contains;
        contains.q = "{name: /REST/}";
        contains.limit = 1000;
        for (auto const& item : run(ioc, get_connections(c, contains)).items)
            CHECK_THAT(item.name, Catch::Contains("REST"));
    }
    SECTION("orderBy name") {
        connections_query ordered;
        ordered.order_by = "name";
        ordered.limit = 1000;
        auto const items = run(ioc, get_connections(c, ordered)).items;
        REQUIRE(items.size() == 120);
        CHECK(std::is_sorted(items.begin(), items.end(), [](auto& a, auto& b) { return a.name < b.name; }));
    }
    SECTION("the API's own error reaches the caller") {
        connections_query bad;
        bad.q = "{name: 'unterminated";
        auto const e = error_of(ioc, get_connections(c, bad));
        CHECK(e.code() == error::api_http_status);
        CHECK(e.get_diagnostics().http_status == 400);
        CHECK(e.code() == condition::api);
    }
}

TEST_CASE("one token and one kept-alive connection serve many calls", "[integration][api][keepalive]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));
    for (int i = 0; i < 5; ++i)
        CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
    auto const n = server.get_counters();
    CHECK(n.tokens_issued == 1);
    CHECK(n.design_api_requests == 5);
    CHECK(n.connections_accepted == 2); // one to the token endpoint, one to the design-time host
}

TEST_CASE("the runtime host's redirect carries the token to the design-time host", "[integration][redirect]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.runtime_url()));
    auto const page = run(ioc, get_connections(c, connections_query{}));
    CHECK(page.items.size() == 100);
    auto const n = server.get_counters();
    CHECK(n.redirects == 1);
    CHECK(n.runtime_authorization_headers == 1);
    CHECK(n.design_authorization_headers == 1);
    CHECK(n.unauthorized == 0);

    // The hop was remembered: the next call goes straight to the design-time host.
    run(ioc, get_connections(c, connections_query{}));
    auto const m = server.get_counters();
    CHECK(m.redirects == 1);
    CHECK(m.runtime_api_requests == 1);
    CHECK(m.design_api_requests == 2);
}

TEST_CASE("a revoked token is refreshed once and the call retried", "[integration][api][401]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));
    run(ioc, get_connections(c, connections_query{}));
    server.revoke_tokens();
    CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
    auto const n = server.get_counters();
    CHECK(n.tokens_issued == 2);
    CHECK(n.unauthorized == 1);
}

TEST_CASE("client configuration errors", "[integration][config]") {
    testing::mock_server server;
    asio::io_context ioc;
    SECTION("missing integrationInstance: the design-time host says 400") {
        auto cfg = config_for(server, server.design_url());
        cfg.integration_instance.clear();
        client c(ioc.get_executor(), cfg);
        auto const e = error_of(ioc, get_connections(c, connections_query{}));
        CHECK(e.get_diagnostics().http_status == 400);
        CHECK(e.get_diagnostics().server_code == "BadRequest");
    }
    SECTION("bad base URL") {
        auto cfg = config_for(server, "design.example.com/no-scheme");
        CHECK(error_of([&] { client(ioc.get_executor(), cfg); }).code() == error::bad_url);
    }
    SECTION("plaintext base URL to a non-loopback host") {
        auto cfg = config_for(server, "http://design.example.com");
        client c(ioc.get_executor(), cfg);
        CHECK(error_of(ioc, get_connections(c, connections_query{})).code() == error::insecure_transport);
    }
}

TEST_CASE("plain http works on loopback", "[integration][plain]") {
    testing::mock_options opts;
    opts.tls = false;
    testing::mock_server server(opts);
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.runtime_url()));
    CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
}

namespace {

/// Starts `n` get_connections calls on `c`, each bound to its own cancellation signal; counts how
/// they end.
struct call_batch {
    explicit call_batch(asio::io_context& ioc, client const& c, std::size_t n) : signals(n) {
        for (auto& sig : signals)
            asio::co_spawn(ioc, get_connections(c, connections_query{}),
                           asio::bind_cancellation_slot(sig.slot(), [this](std::exception_ptr e, connections_page) {
                               ++ended;
                               if (!e)
                                   ++succeeded;
                               else
                                   try {
                                       std::rethrow_exception(e);
                                   } catch (boost::system::system_error const& se) {
                                       aborted += se.code() == asio::error::operation_aborted;
                                       if (first_error.empty())
                                           first_error = se.what();
                                   }
                           }));
    }
    void cancel_all() {
        for (auto& sig : signals)
            sig.emit(asio::cancellation_type::terminal);
    }
    bool done() const { return ended == signals.size(); }

    std::vector<asio::cancellation_signal> signals;
    std::size_t ended = 0, succeeded = 0, aborted = 0;
    std::string first_error; ///< what the first failed call said, for the report
};

void run_until(asio::io_context& ioc, std::function<bool()> const& done, std::chrono::seconds limit = 10s) {
    auto const until = std::chrono::steady_clock::now() + limit;
    ioc.restart();
    while (!done() && std::chrono::steady_clock::now() < until)
        ioc.run_for(10ms);
    REQUIRE(done());
}

} // namespace

TEST_CASE("cancelled calls leave the pool whole", "[integration][pool][cancel]") {
    testing::mock_server server;
    server.set_design_latency(500ms);
    asio::io_context ioc;
    auto cfg = config_for(server, server.design_url());
    cfg.session.max_connections = 4;
    cfg.session.total_timeout = 3s; // a permit that never came back would end a later call with a timeout
    client c(ioc.get_executor(), cfg);
    run(ioc, c.token().get());

    for (int round = 0; round < 3; ++round) {
        INFO("round " << round);
        call_batch cancelled(ioc, c, 8); // 4 mid-exchange at the slow server, 4 waiting for a connection
        ioc.restart();
        ioc.run_for(100ms);
        cancelled.cancel_all();
        auto const t0 = std::chrono::steady_clock::now();
        run_until(ioc, [&] { return cancelled.done(); });
        CHECK(std::chrono::steady_clock::now() - t0 < 200ms); // at once, not when the server answers
        CHECK(cancelled.aborted == 8);

        call_batch later(ioc, c, 8); // every permit is back: all of them succeed, 4 at a time
        run_until(ioc, [&] { return later.done(); });
        INFO(later.first_error);
        CHECK(later.succeeded == 8);
    }
    CHECK(server.get_counters().tokens_issued == 1);
}

TEST_CASE("tearing down with calls queued for a connection is clean", "[integration][pool][cancel]") {
    testing::mock_server server;
    server.set_design_latency(200ms);
    auto cfg = config_for(server, server.design_url());
    cfg.session.max_connections = 1;
    {
        asio::io_context ioc;
        client c(ioc.get_executor(), cfg);
        run(ioc, c.token().get());
        call_batch queued(ioc, c, 5); // one in flight, four queued for the only connection
        ioc.restart();
        ioc.run_for(50ms);
        CHECK(queued.ended == 0);
    } // the io_context goes with the calls still waiting: nothing may crash, leak or race (ASan, TSan)
    CHECK(server.get_counters().design_api_requests >= 1);
}

TEST_CASE("every completion token form works from any executor", "[integration][async]") {
    testing::mock_server server;
    asio::io_context ioc;
    // A client on io_context's own executor type: its operations are still awaitable from an
    // ordinary awaitable<void> coroutine, and usable with callbacks and futures.
    basic_client<asio::io_context::executor_type> c(ioc.get_executor(), config_for(server, server.design_url()));
    connections_query q;
    q.limit = 5;
    connections_query bad;
    bad.order_by = "nonsense"; // the API answers 400

    SECTION("use_awaitable, and the default token (deferred), from an any_io_executor coroutine") {
        auto coro = [&]() -> asio::awaitable<std::size_t> {
            auto const a = co_await async_get_connections(c, q, asio::use_awaitable);
            auto const b = co_await async_get_connections(c, q);
            auto const all = co_await async_get_all_connections(c, q);
            co_return a.items.size() + b.items.size() + all.size();
        };
        CHECK(run(ioc, coro()) == 130);
    }
    SECTION("as_tuple with diagnostics: the error as a value, with the server's words") {
        auto coro = [&]() -> asio::awaitable<void> {
            diagnostics d;
            auto [ec, page] = co_await async_get_connections(c, bad, d, asio::as_tuple(asio::use_awaitable));
            CHECK(ec == error::api_http_status);
            CHECK(ec == condition::api);
            CHECK(d.http_status == 400);
            CHECK_FALSE(d.server_message.empty());
            CHECK(page.items.empty());
        };
        run(ioc, coro());
    }
    SECTION("a callback runs on its own executor") {
        auto strand = asio::make_strand(ioc);
        bool on_strand = false;
        std::optional<std::size_t> items;
        async_get_connections(c, q, asio::bind_executor(strand, [&](error_code ec, connections_page page) {
                                  on_strand = strand.running_in_this_thread();
                                  CHECK_FALSE(ec);
                                  items = page.items.size();
                              }));
        ioc.run_for(10s);
        CHECK(items == 5u);
        CHECK(on_strand);
    }
    SECTION("deferred, launched later with a callback") {
        auto op = async_get_connections(c, q, asio::deferred);
        error_code got = error::bad_config;
        std::move(op)([&](error_code ec, connections_page) { got = ec; });
        ioc.run_for(10s);
        CHECK_FALSE(got);
    }
    SECTION("use_future from plain threads") {
        auto work = asio::make_work_guard(ioc);
        std::thread runner([&] { ioc.run(); });
        auto ok = async_get_connections(c, q, asio::use_future);
        auto failed = async_get_connections(c, bad, asio::use_future);
        CHECK(ok.get().items.size() == 5);
        try {
            failed.get();
            FAIL("expected an error");
        } catch (boost::system::system_error const& e) {
            CHECK(e.code() == error::api_http_status);
        }
        work.reset();
        runner.join();
    }
    SECTION("fetch_token, the shared token and the session, the same way") {
        auto coro = [&]() -> asio::awaitable<void> {
            auto const t = co_await async_fetch_token(c.session(), credentials_for(server), asio::use_awaitable);
            CHECK_FALSE(t.value.empty());
            auto const shared = co_await c.token().async_get();
            CHECK(shared != nullptr);
            auto wrong = credentials_for(server);
            wrong.client_secret = secret("wrong-secret");
            diagnostics d;
            auto [ec, none] = co_await async_fetch_token(c.session(), wrong, d, asio::as_tuple(asio::deferred));
            CHECK(ec == condition::token_endpoint);
            CHECK(d.server_code == "invalid_client");
            http::request req{boost::beast::http::verb::get, "/", 11};
            auto const r = co_await c.session().async_send(http::urls::url(server.design_url() + "/mock/counters"),
                                                           std::move(req), {}, asio::use_awaitable);
            CHECK(r.message.result_int() == 200);
        };
        run(ioc, coro());
    }
}

TEST_CASE("terminal cancellation ends a call at once at every step of a fresh call", "[integration][async][cancel]") {
    testing::mock_server server;
    // A new client each time: the cancellation lands in resolve, connect, TLS handshake, write or
    // read of a connection that was never used before, or while waiting for the token.
    bool const token_first = GENERATE(false, true); // the API connection's steps, or the token's
    server.set_token_latency(token_first ? 0ms : 400ms);
    server.set_design_latency(400ms);
    for (auto delay : {0us, 200us, 500us, 1000us, 2000us, 4000us, 8000us, 16000us, 50000us}) {
        INFO("cancelled after " << delay.count() << " us" << (token_first ? " with a token" : ""));
        asio::io_context ioc;
        client c(ioc.get_executor(), config_for(server, server.design_url()));
        if (token_first)
            run(ioc, c.token().get());
        asio::cancellation_signal sig;
        std::optional<error_code> got;
        async_get_connections(
            c, connections_query{},
            asio::bind_cancellation_slot(sig.slot(), [&](error_code ec, connections_page) { got = ec; }));
        ioc.run_for(delay);
        REQUIRE_FALSE(got);
        sig.emit(asio::cancellation_type::terminal);
        ioc.restart();
        ioc.run_for(100ms);
        CHECK(got); // at once, not when the server answers
        ioc.run_for(2s);
        REQUIRE(got);
        CHECK(*got == condition::cancelled);
    }
}

// The documented per-operation cancellation of every async_ operation, row by row: terminal ends
// the call with operation_aborted at once and leaves the remembered hop, the pool and a shared
// fetch whole; partial and total are ignored (the call runs to its end).
TEST_CASE("per-operation cancellation row by row", "[integration][async][cancel]") {
    auto const type =
        GENERATE(asio::cancellation_type::terminal, asio::cancellation_type::partial, asio::cancellation_type::total);
    bool const terminal = type == asio::cancellation_type::terminal;
    INFO("cancellation type " << static_cast<int>(type));
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.runtime_url()));
    run(ioc, get_connections(c, connections_query{})); // a token, and the hop to the design host remembered
    server.set_token_latency(400ms);                   // every answer below takes 400 ms: the operations are in flight
    server.set_design_latency(400ms);
    auto const before = server.get_counters();

    // Starts `launch(token)`, emits the signal after `after`, and returns how it ended.
    auto outcome = [&](auto launch, std::chrono::milliseconds after = 100ms) {
        asio::cancellation_signal sig;
        std::optional<error_code> got;
        launch(asio::bind_cancellation_slot(sig.slot(), [&](error_code ec, auto&&...) { got = ec; }));
        ioc.restart();
        ioc.run_for(after);
        REQUIRE_FALSE(got);
        sig.emit(type);
        ioc.restart();
        if (terminal) {
            ioc.run_for(100ms);
            CHECK(got); // at once, not when the server answers
        }
        ioc.run_for(5s);
        REQUIRE(got);
        return *got;
    };
    auto const expected = [&](error_code ec) { return terminal ? ec == condition::cancelled : !ec; };
    auto const creds = credentials_for(server);

    SECTION("async_fetch_token") {
        CHECK(expected(outcome([&](auto token) { async_fetch_token(c.session(), creds, std::move(token)); })));
        CHECK(server.get_counters().token_requests == before.token_requests + 1); // nothing retried
    }
    SECTION("shared_token::async_get: the waiter leaves, the shared fetch goes on") {
        client fresh(ioc.get_executor(), config_for(server, server.design_url()));
        CHECK(expected(outcome([&](auto token) { fresh.token().async_get(std::move(token)); })));
        CHECK(run(ioc, fresh.token().get()) != nullptr);
        CHECK(server.get_counters().token_requests == before.token_requests + 1); // the first fetch served both
    }
    SECTION("session::async_send") {
        auto const url = http::urls::url(server.token_url());
        CHECK(expected(outcome([&](auto token) {
            c.session().async_send(url, detail::make_token_request(creds), {}, std::move(token));
        })));
    }
    SECTION("async_get_connections, through the remembered hop") {
        CHECK(expected(outcome([&](auto token) { async_get_connections(c, connections_query{}, std::move(token)); })));
        CHECK(server.get_counters().design_api_requests == before.design_api_requests + 1); // nothing retried
    }
    SECTION("get_connections, the coroutine form: error_with_diagnostics, never a bare system_error") {
        auto coro = [&]() -> asio::awaitable<error_code> {
            try {
                co_await get_connections(c, connections_query{});
                co_return error_code{};
            } catch (error_with_diagnostics const& e) {
                CHECK_FALSE(e.get_diagnostics().message.empty());
                co_return e.code();
            }
        };
        CHECK(expected(outcome([&](auto token) {
            auto const slot = asio::get_associated_cancellation_slot(token);
            asio::co_spawn(ioc, coro(),
                           asio::bind_cancellation_slot(slot, [token](std::exception_ptr e, error_code ec) mutable {
                               CHECK_FALSE(e); // Asio's throw-on-cancel would end the coroutine here
                               std::move(token)(ec);
                           }));
        })));
    }
    SECTION("async_get_all_connections: a cancelled walk returns none of the pages it read") {
        connections_query q;
        q.limit = 60; // two pages; the signal comes while the second is read
        std::size_t items = 0;
        CHECK(expected(outcome(
            [&](auto token) {
                auto const slot = asio::get_associated_cancellation_slot(token);
                async_get_all_connections(
                    c, q,
                    asio::bind_cancellation_slot(slot, [&, token](error_code ec, std::vector<connection> all) mutable {
                        items = all.size();
                        std::move(token)(ec, std::move(all));
                    }));
            },
            600ms)));
        CHECK(items == (terminal ? 0 : server.options().connections));
    }
    // Whatever happened, the client works afterwards, still through the remembered hop.
    server.set_token_latency(0ms);
    server.set_design_latency(0ms);
    auto const runtime_before = server.get_counters().runtime_api_requests;
    CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
    CHECK(server.get_counters().runtime_api_requests == runtime_before);
}

TEST_CASE("async_with_timeout gives one call a deadline", "[integration][async][timeout]") {
    testing::mock_server server;
    server.set_design_latency(1000ms);
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));
    run(ioc, c.token().get());
    auto coro = [&](std::chrono::milliseconds limit) -> asio::awaitable<std::tuple<error_code, std::size_t>> {
        auto [ec, page] = co_await async_with_timeout(ioc.get_executor(), limit,
                                                      async_get_connections(c, connections_query{}, asio::deferred),
                                                      asio::as_tuple(asio::use_awaitable));
        co_return std::tuple{ec, page.items.size()};
    };
    auto const started = std::chrono::steady_clock::now();
    auto const [late, none] = run(ioc, coro(100ms));
    CHECK(late == error::timeout);
    CHECK(late == condition::timeout);
    CHECK(none == 0);
    CHECK(std::chrono::steady_clock::now() - started < 900ms); // it did not wait for the answer
    auto const [ok, items] = run(ioc, coro(5000ms));
    CHECK_FALSE(ok);
    CHECK(items == 100);

    // Cancelling the whole reaches the call: operation_aborted at once, not a timeout.
    asio::cancellation_signal sig;
    std::optional<error_code> got;
    async_with_timeout(ioc.get_executor(), 5000ms, async_get_connections(c, connections_query{}, asio::deferred),
                       asio::bind_cancellation_slot(sig.slot(), [&](error_code ec, connections_page) { got = ec; }));
    ioc.restart();
    ioc.run_for(100ms);
    REQUIRE_FALSE(got);
    sig.emit(asio::cancellation_type::terminal);
    ioc.run_for(100ms);
    REQUIRE(got);
    CHECK(*got == condition::cancelled);
}

TEST_CASE("get_connection fetches one connection by id", "[integration][api]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));
    connections_query q;
    q.keep_json = true;
    auto const page = run(ioc, get_connections(c, q));
    REQUIRE_FALSE(page.items.empty());
    auto const& first = page.items.front();
    auto const one = run(ioc, get_connection(c, first.id));
    CHECK(one.id == first.id);
    CHECK(one.name == first.name);
    CHECK(one.json() == first.json());

    auto const missing = error_of(ioc, get_connection(c, std::string("NO_SUCH_CONNECTION")));
    CHECK(missing.code() == error::api_not_found);
    CHECK(missing.get_diagnostics().http_status == 404);
    // An id is one path segment: it cannot climb to another path.
    for (char const* id : {"../connections", "..", "."}) {
        INFO(id);
        CHECK(error_of(ioc, get_connection(c, std::string(id))).get_diagnostics().http_status == 404);
    }
    CHECK(error_of(ioc, get_connection(c, std::string())).code() == error::bad_config);

    diagnostics d;
    auto const [ec, none] =
        run(ioc, async_get_connection(c, std::string("NO_SUCH_CONNECTION"), d, asio::as_tuple(asio::use_awaitable)));
    CHECK(ec == condition::api);
    CHECK(d.http_status == 404);
    // The async forms take `expand` as the coroutine form does.
    auto const [ec2, expanded] =
        run(ioc, async_get_connection(c, first.id, "adapter", d, asio::as_tuple(asio::use_awaitable)));
    CHECK_FALSE(ec2);
    CHECK(expanded.id == first.id);
    CHECK(run(ioc, async_get_connection(c, first.id, asio::use_awaitable)).id == first.id);
}

TEST_CASE("use_future, use_awaitable and with_diagnostics(token) get the whole explanation, not a bare code",
          "[integration][api][errors]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));
    std::string const missing = "NO_SUCH_CONNECTION";
    auto explained = [&](std::string const& what) {
        INFO(what);
        CHECK(what.find("GET " + server.design_url() + "/ic/api/integration/v1/connections/NO_SUCH_CONNECTION") !=
              std::string::npos);
        CHECK(what.find("HTTP 404") != std::string::npos);
    };

    auto future = async_get_connection(c, missing, asio::use_future);
    ioc.run();
    try {
        future.get();
        FAIL("no error");
    } catch (error_with_diagnostics const& e) {
        CHECK(e.code() == error::api_not_found);
        explained(e.what());
    }

    std::string thrown;
    run(ioc, [&]() -> asio::awaitable<void> {
        try {
            co_await async_get_connection(c, missing, asio::use_awaitable);
        } catch (error_with_diagnostics const& e) {
            thrown = e.what();
        }
    }());
    explained(thrown);

    std::exception_ptr handed;
    int calls = 0;
    async_get_connection(c, missing, with_diagnostics([&](std::exception_ptr e, connection) {
                             ++calls;
                             handed = e;
                         }));
    ioc.restart();
    ioc.run();
    CHECK(calls == 1);
    REQUIRE(handed);
    try {
        std::rethrow_exception(handed);
    } catch (error_with_diagnostics const& e) {
        CHECK(e.code() == error::api_not_found);
        explained(e.what());
    }

    // A plain token: the code, as before; no exception_ptr when all went well.
    auto [ec, none] = run(ioc, async_get_connection(c, missing, asio::as_tuple(asio::use_awaitable)));
    CHECK(ec == error::api_not_found);
    auto const first = run(ioc, get_connections(c, connections_query{})).items.at(0);
    async_get_connection(c, first.id, with_diagnostics([&](std::exception_ptr e, connection one) {
                             handed = e;
                             CHECK(one.id == first.id);
                         }));
    ioc.restart();
    ioc.run();
    CHECK_FALSE(handed);
}

TEST_CASE("integrations: a page with q and paging, every page, one by id", "[integration][api]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.runtime_url())); // through the runtime host's redirect

    integrations_query q;
    q.q = "{status: 'ACTIVATED'}";
    q.limit = 4;
    q.order_by = "name";
    auto const page = run(ioc, get_integrations(c, q));
    REQUIRE(page.items.size() == 4);
    CHECK(page.has_more);
    CHECK(page.limit == 4);
    CHECK(page.url.starts_with(server.design_url()));
    for (std::size_t i = 0; i < page.items.size(); ++i) {
        CHECK(page.items[i].status == "ACTIVATED");
        CHECK(page.items[i].id == page.items[i].code + "|" + page.items[i].version);
        if (i > 0)
            CHECK(page.items[i - 1].name <= page.items[i].name);
    }

    auto const all = run(ioc, get_all_integrations(c, q));
    REQUIRE(page.total_results);
    CHECK(all.size() == static_cast<std::size_t>(*page.total_results));
    CHECK(all.size() < server.options().integrations); // the filter filtered
    auto const everything = run(ioc, get_all_integrations(c, integrations_query{}));
    CHECK(everything.size() == server.options().integrations);

    // An integration id holds '|': it travels as %7C within one path segment.
    auto const one = run(ioc, get_integration(c, all.back().id));
    CHECK(one.id == all.back().id);
    CHECK(one.raw().at("dependencies").at("connections").as_array().size() == 2);

    diagnostics d;
    auto const [ec, none] =
        run(ioc, async_get_integration(c, std::string("NOPE|01.00.0000"), d, asio::as_tuple(asio::use_awaitable)));
    CHECK(ec == error::api_not_found);
    CHECK(d.http_status == 404);
    CHECK(d.server_code == "NotFound");

    integrations_query wrong;
    wrong.order_by = "type"; // connections only
    auto const refused = error_of(ioc, get_integrations(c, wrong));
    CHECK(refused.get_diagnostics().http_status == 400);
    CHECK_THAT(refused.get_diagnostics().server_message, Catch::Contains("orderBy must be name or time"));
}

TEST_CASE("the pool bounds open connections (idle ones included), closes old idle ones and resumes TLS",
          "[integration][pool]") {
    testing::mock_server server;
    asio::io_context ioc;
    std::string const token_host = server.token_url().substr(0, server.token_url().find("/oauth2"));
    auto get_counters = [&](http::session const& s, std::string const& host) {
        http::request req{boost::beast::http::verb::get, "/", 11};
        auto const r = run(ioc, s.send(http::urls::url(host + "/mock/counters"), std::move(req)));
        CHECK(r.message.result_int() == 200);
    };
    auto six_calls_at_once = [&](client const& c) {
        int done = 0;
        for (int i = 0; i < 6; ++i)
            async_get_connections(c, connections_query{}, [&](error_code ec, connections_page const&) {
                CHECK_FALSE(ec);
                ++done;
            });
        ioc.restart();
        ioc.run_for(10s);
        CHECK(done == 6);
    };

    SECTION("a full pool closes the connection idle the longest to open one to another origin") {
        http::session s(ioc.get_executor(), {.ca_file = server.ca_file(), .max_connections = 2});
        get_counters(s, server.design_url());
        get_counters(s, server.runtime_url());
        CHECK(s.stats().open == 2);
        CHECK(s.stats().idle == 2);
        get_counters(s, token_host); // a third origin: the design host's connection makes room
        auto st = s.stats();
        CHECK(st.open == 2);
        CHECK(st.closed_idle == 1);
        get_counters(s, server.runtime_url()); // still there
        get_counters(s, server.design_url());  // gone: opened again
        st = s.stats();
        CHECK(st.reused == 1);
        CHECK(st.opened == 4);
        CHECK(st.open == 2);
        CHECK(server.get_counters().connections_accepted == 4);
    }
    SECTION("per origin: calls beyond the limit wait for a connection rather than open more") {
        server.set_design_latency(150ms);
        auto cfg = config_for(server, server.design_url());
        cfg.session.max_connections = 8;
        cfg.session.max_connections_per_origin = 2;
        client c(ioc.get_executor(), cfg);
        run(ioc, c.token().get());
        six_calls_at_once(c);
        CHECK(c.session().stats().opened == 3); // the token host's, and two to the design host
        CHECK(server.get_counters().connections_accepted == 3);
    }
    SECTION("a burst on a cold pool: at most max_connecting_per_origin handshakes at once") {
        server.set_handshake_latency(60ms);
        auto burst = [&](std::size_t max_connecting) {
            auto cfg = config_for(server, server.design_url());
            cfg.session.max_connections = 8;
            cfg.session.max_connecting_per_origin = max_connecting;
            client c(ioc.get_executor(), cfg);
            run(ioc, c.token().get()); // the token host's connection, before the count starts
            server.reset_counters();
            six_calls_at_once(c);
            CHECK(server.get_counters().connections_accepted == 6);
            return server.get_counters().most_handshakes_at_once;
        };
        // Two at a time; the server may count a third that begins as one ends (it sees the next
        // connection arrive a moment before the client's last handshake message is read).
        auto const limited = burst(2);
        CHECK(limited >= 2);
        CHECK(limited <= 3);
        CHECK(burst(0) == 6); // no such limit: all six at once
    }
    SECTION("an idle connection past idle_timeout is closed, and the next handshake resumes TLS") {
        http::session s(ioc.get_executor(), {.ca_file = server.ca_file(), .idle_timeout = 50ms});
        get_counters(s, server.design_url());
        get_counters(s, server.design_url()); // at once: reused
        CHECK(s.stats().reused == 1);
        std::this_thread::sleep_for(120ms);
        get_counters(s, server.design_url());
        auto const st = s.stats();
        CHECK(st.closed_idle == 1);
        CHECK(st.opened == 2);
        CHECK(st.tls_resumed == 1); // an abbreviated handshake with the session of the first connection
        CHECK(st.open == 1);
        CHECK(server.get_counters().connections_accepted == 2);
    }
}

TEST_CASE("a kept-alive connection the server closed is retried once, on a fresh one", "[integration][pool]") {
    testing::mock_options opts;
    opts.idle_timeout = 50ms; // the server closes a connection idle that long, without close_notify
    testing::mock_server server(opts);
    asio::io_context ioc;
    http::session s(ioc.get_executor(), {.ca_file = server.ca_file()});
    auto counters = [&] {
        http::request req{boost::beast::http::verb::get, "/", 11};
        return run(ioc, s.send(http::urls::url(server.design_url() + "/mock/counters"), std::move(req)));
    };
    CHECK(counters().message.result_int() == 200);
    std::this_thread::sleep_for(150ms); // closed by the server, still idle in the client's pool
    CHECK(counters().message.result_int() == 200);
    auto const st = s.stats();
    CHECK(st.reused == 1); // the closed one was taken, failed on its first read...
    CHECK(st.opened == 2); // ...and a fresh one answered
    CHECK(st.open == 1);
    CHECK(server.get_counters().connections_accepted == 2);
}

TEST_CASE("a call queued behind a slow one for the only connection ends at its own deadline", "[integration][pool]") {
    testing::mock_server server;
    server.set_design_latency(1s);
    asio::io_context ioc;
    auto cfg = config_for(server, server.design_url());
    cfg.session.max_connections = 1;
    cfg.session.total_timeout = 300ms;
    client c(ioc.get_executor(), cfg);
    run(ioc, c.token().get());
    error_code e[2];
    int done = 0;
    for (int i = 0; i < 2; ++i)
        async_get_connections(c, connections_query{}, [&, i](error_code ec, connections_page const&) {
            e[i] = ec;
            ++done;
        });
    auto const t0 = std::chrono::steady_clock::now();
    ioc.restart();
    ioc.run_for(5s);
    REQUIRE(done == 2);
    CHECK(std::chrono::steady_clock::now() - t0 < 900ms); // the deadlines, not the server's answer
    CHECK(e[0] == error::timeout);                        // at the slow server
    // Queued until its deadline, or handed the connection just before it (both deadlines are
    // 300 ms after the start): a timeout either way. The wait itself is unit-tested with the permits.
    CHECK(e[1] == error::timeout);
}

// Storms: 1,000 concurrent calls on one shared token, against the mock on 4 threads.

namespace {

/// Runs `n` copies of `make()` concurrently on `threads` threads; returns how many threw.
template <class Make>
int storm(asio::io_context& ioc, int n, int threads, Make make) {
    std::atomic<int> done{0}, failed{0};
    for (int i = 0; i < n; ++i)
        asio::co_spawn(ioc, make(), [&](std::exception_ptr e, auto&&...) {
            failed += e != nullptr;
            ++done;
        });
    ioc.restart();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
        pool.emplace_back([&] { ioc.run_for(120s); });
    for (auto& t : pool)
        t.join();
    REQUIRE(done == n); // every call finished: nothing hung
    return failed;
}

client_config storm_config(testing::mock_server const& m, manual_clock const& clock) {
    auto c = oic_test::config_for(m, m.design_url());
    c.session.total_timeout = 120s;
    c.token = options_with(clock);
    return c;
}
connections_query one_item() {
    connections_query q;
    q.limit = 1;
    return q;
}
} // namespace

TEST_CASE("1,000 concurrent calls on 4 threads share one token", "[integration][token][storm]") {
    testing::mock_server server;
    manual_clock clock;
    asio::io_context ioc(4);
    client c(ioc.get_executor(), storm_config(server, clock));
    server.set_token_latency(50ms); // let the callers pile up behind the one fetch
    auto const q = one_item();
    auto call = [&] { return get_connections(c, q); };

    CHECK(storm(ioc, 1000, 4, call) == 0);
    CHECK(server.get_counters().token_requests == 1);
    CHECK(server.get_counters().design_api_requests == 1000);

    SECTION("after the token expires under the same load: exactly one more") {
        clock.advance(2h);
        CHECK(storm(ioc, 1000, 4, call) == 0);
        CHECK(server.get_counters().token_requests == 2);
    }
    SECTION("a 401 storm after revocation: exactly one refresh") {
        server.revoke_tokens();
        CHECK(storm(ioc, 1000, 4, call) == 0);
        CHECK(server.get_counters().token_requests == 2);
        CHECK(server.get_counters().unauthorized >= 1);
    }
    SECTION("a token endpoint that fails: every caller gets the error, a handful of requests") {
        clock.advance(2h);
        server.set_token_failure(503);
        CHECK(storm(ioc, 1000, 4, call) == 1000);
        CHECK(server.get_counters().token_requests - 1 <= 3);
    }
}

TEST_CASE("several clients can share one token", "[integration][token][shared]") {
    testing::mock_server server;
    manual_clock clock;
    asio::io_context ioc;
    auto const cfg = storm_config(server, clock);
    http::session session(ioc.get_executor(), cfg.session);
    shared_token tok(session, cfg.credentials, cfg.token);
    client a(cfg, session, tok);
    client b(cfg, http::session(ioc.get_executor(), cfg.session), tok);
    run(ioc, get_connections(a, one_item()));
    run(ioc, get_connections(b, one_item()));
    CHECK(server.get_counters().token_requests == 1);
    CHECK(tok.fetches() == 1);
}

// Monitoring (issue 21): errored instances, instances, and resubmitting errors.

TEST_CASE("monitoring lists: a page with q, every page, through the design and the runtime host; the token only "
          "where trusted",
          "[integration][monitoring]") {
    testing::mock_server server;
    asio::io_context ioc;
    bool const via_runtime = GENERATE(false, true);
    INFO((via_runtime ? "runtime" : "design") << " host");
    client c(ioc.get_executor(), config_for(server, via_runtime ? server.runtime_url() : server.design_url()));
    std::size_t const failed_runs = (server.options().instances + 2) / 4; // the mock's runs 1, 5, 9, ... failed

    list_query q;
    q.limit = 4;
    auto const page = run(ioc, get_errored_instances(c, q));
    REQUIRE(page.items.size() == 4);
    CHECK(page.has_more);
    CHECK(page.total_results == static_cast<std::int64_t>(failed_runs));
    CHECK(page.url.starts_with(server.design_url()));
    for (auto const& e : page.items) {
        CHECK(e.status == "FAILED");
        CHECK_FALSE(e.integration_code.empty());
        CHECK_FALSE(e.error_message.empty());
        CHECK(e.retry_count == 0);
    }

    // Every page, 4 at a time, is every errored instance once: the failed runs of the instances list.
    auto const errors = run(ioc, get_all_errored_instances(c, q));
    std::set<std::string> error_ids;
    for (auto const& e : errors)
        error_ids.insert(e.id);
    CHECK(errors.size() == failed_runs);
    CHECK(error_ids.size() == failed_runs);
    list_query failed;
    failed.q = "{timewindow: '3d', status: 'FAILED'}";
    failed.limit = 7;
    std::set<std::string> failed_ids;
    for (auto const& r : run(ioc, get_all_integration_instances(c, failed))) {
        CHECK(r.status == "FAILED");
        failed_ids.insert(r.id);
    }
    CHECK(failed_ids == error_ids);
    list_query every;
    every.limit = 9;
    auto const runs = run(ioc, get_all_integration_instances(c, every));
    CHECK(runs.size() == server.options().instances);

    // q filters: one integration's errors only.
    list_query one;
    one.q = "{code: '" + errors.front().integration_code + "'}";
    one.limit = 1000;
    auto const filtered = run(ioc, get_errored_instances(c, one));
    REQUIRE_FALSE(filtered.items.empty());
    CHECK(filtered.items.size() < errors.size());
    for (auto const& e : filtered.items)
        CHECK(e.integration_id() == errors.front().integration_code + "|" + e.integration_version);

    // The async forms, errors as values with the server's words.
    list_query bad;
    bad.q = "{timewindow: '5y'}";
    diagnostics d;
    auto const [ec, none] = run(ioc, async_get_integration_instances(c, bad, d, asio::as_tuple(asio::use_awaitable)));
    CHECK(ec == error::api_http_status);
    CHECK(d.http_status == 400);
    CHECK_THAT(d.server_message, Catch::Contains("timewindow must be 1h, 6h, 1d, 2d, 3d or RETENTIONPERIOD"));
    auto const [ec2, all] = run(ioc, async_get_all_errored_instances(c, q, asio::as_tuple(asio::use_awaitable)));
    CHECK_FALSE(ec2);
    CHECK(all.size() == failed_runs);

    auto const n = server.get_counters();
    CHECK(n.design_authorization_headers == n.design_api_requests); // the token reached every design call
    CHECK(n.foreign_requests == 0);
    CHECK(n.unauthorized == 0);
    if (via_runtime) {
        CHECK(n.runtime_api_requests == 1); // the first call's hop, remembered for the rest
        CHECK(n.runtime_authorization_headers == 1);
    } else {
        CHECK(n.runtime_api_requests == 0);
    }
}

TEST_CASE("an id reaches the mock as exactly one path segment, whatever it holds", "[integration][monitoring]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));
    for (std::string const& id :
         std::vector<std::string>{"a/b", "a?b=c", "a#b", "a%2Fb", "%2E%2E", "..", ".", "../resubmit", "../../instances",
                                  "x y+z", "tab\there", "nul\0byte"s, "CODE|01.00.0000"}) {
        INFO(printable(id));
        server.reset_counters();
        auto const e = error_of(ioc, resubmit_errored_instance(c, id));
        CHECK(e.code() == error::api_not_found);
        auto const& d = e.get_diagnostics();
        CHECK(d.http_status == 404);
        // The resubmit route answered, and named the id as it arrived: one segment, decoded to the id.
        CHECK(d.server_code == "NotFound");
        CHECK(d.server_message == printable("Errored instance '" + id + "' was not found."));
        auto const n = server.get_counters();
        CHECK(n.design_write_requests == 1);
        CHECK(n.design_api_requests == 1);
    }
    CHECK(error_of(ioc, resubmit_errored_instance(c, std::string())).code() == error::bad_config);
    CHECK(error_of(ioc, resubmit_errored_instances(c, {})).code() == error::bad_config);
    CHECK(error_of(ioc, resubmit_errored_instances(c, {"a", ""})).code() == error::bad_config);

    // The async form with diagnostics: the unknown id as a value.
    diagnostics d;
    auto const [ec, result] = run(ioc, async_resubmit_errored_instance(c, std::string("NO_SUCH_INSTANCE"), {}, d,
                                                                       asio::as_tuple(asio::use_awaitable)));
    CHECK(ec == error::api_not_found);
    CHECK(ec == condition::api);
    CHECK(d.http_status == 404);
    CHECK(d.server_code == "NotFound");
    CHECK_THAT(d.message, Catch::Contains("POST ") && Catch::Contains("/resubmit"));
}

TEST_CASE("the mock refuses a malformed resubmit body with 400", "[integration][monitoring]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));
    std::string const path = "/ic/api/integration/v1/monitoring/errors/resubmit";
    auto post = [&](std::string body) {
        http::request req{boost::beast::http::verb::post, "/", 11};
        req.set(boost::beast::http::field::content_type, "application/json");
        req.body() = std::move(body);
        diagnostics d;
        auto [ec, url, answer] = run(ioc, c.call(path, {}, std::move(req), d));
        REQUIRE_FALSE(ec);
        return answer.message;
    };
    for (char const* body : {"", "not json", "[]", "{}", R"({"ids":"a"})", R"({"ids":[]})", R"({"ids":[{}]})"}) {
        INFO(body);
        auto const answer = post(body);
        CHECK(answer.result_int() == 400);
        CHECK_THAT(answer.body(), Catch::Contains("BadRequest"));
    }
    CHECK(post(R"({"ids":["NO_SUCH"]})").result_int() == 202); // well-formed: the id is invalid, the call is not
    // One id with a body that is not the documented one.
    resubmit_options verbose;
    verbose.recovery_trace_level = "Verbose";
    auto const e = error_of(ioc, resubmit_errored_instance(c, std::string("NO_SUCH"), verbose));
    CHECK(e.get_diagnostics().http_status == 400);
    CHECK_THAT(e.get_diagnostics().server_message, Catch::Contains("recoveryTraceLevel must be"));
}
