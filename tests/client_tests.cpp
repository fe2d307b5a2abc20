// fetch_token, get_connections and the client against the mock server, over real sockets and TLS.

#include "common.hpp"

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <set>

using namespace oic;
using oic_test::config_for;
using oic_test::credentials_for;
using oic_test::error_of;
using oic_test::run;
namespace asio = boost::asio;
using namespace std::chrono_literals;


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
    SECTION("endpoint failing with 503") {
        server.set_token_failure(503);
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.get_diagnostics().http_status == 503);
        CHECK(classify(e.code()) == failure_kind::token_endpoint);
    }
    SECTION("answer larger than the configured limit") {
        creds.max_response_size = 16;
        CHECK(error_of(ioc, fetch_token(session, creds)).code() == error::body_too_large);
    }
    SECTION("slow endpoint: timeout") {
        server.set_token_latency(5s);
        auto const e = error_of(ioc, fetch_token(session, creds));
        CHECK(e.code() == error::timeout);
        CHECK(classify(e.code()) == failure_kind::network);
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
        CHECK(classify(e.code()) == failure_kind::network);
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
    SECTION("a CA file that cannot be read is a config error") {
        CHECK(error_of([&] { http::session(ioc.get_executor(), {.ca_file = "/nonexistent/ca.pem"}); })
                  .code() == error::bad_config);
    }
}

TEST_CASE("get_connections pages, filters and orders against the design-time host", "[integration][api]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server, server.design_url()));

    connections_query q;
    q.limit = 50;
    auto const page = run(ioc, get_connections(c, q));
    CHECK(page.items.size() == 50);
    CHECK(page.has_more);
    CHECK(page.total_results == 120);
    for (auto const& item : page.items) {
        CHECK_FALSE(item.id.empty());
        CHECK_FALSE(item.adapter.name.empty());
        CHECK(item.raw.contains("links"));
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
        CHECK(classify(e.code()) == failure_kind::api);
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
