// The redirect engine over TLS: who gets the token, chains, loops, downgrades, bad Locations,
// remembered hops, and the token endpoint going through the same engine.

#include "common.hpp"

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

using namespace oic;
using oic_test::error_of;
using oic_test::run;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr char connections_path[] = "/ic/api/integration/v1/connections";

/// The client's configuration through the runtime host.
client_config config_for(testing::mock_server const& m) { return oic_test::config_for(m, m.runtime_url()); }

} // namespace

TEST_CASE("the foreign host never sees the token, except under always_forward", "[integration][redirect]") {
    testing::mock_server server;
    server.add_redirect(connections_path, 307, server.foreign_url() + "/ic/api/elsewhere?{query}");
    asio::io_context ioc;

    auto check = [&](auto policy, std::uint64_t expected_headers) {
        server.reset_counters();
        client c(ioc.get_executor(), config_for(server), policy);
        auto const page = run(ioc, get_connections(c, connections_query{}));
        CHECK(page.items.empty()); // the foreign host's answer
        auto const n = server.get_counters();
        CHECK(n.foreign_requests == 1);
        CHECK(n.runtime_authorization_headers == 1);
        CHECK(n.foreign_authorization_headers == expected_headers);
    };
    SECTION("never_forward") { check(http::never_forward{}, 0); }
    SECTION("same_origin") { check(http::same_origin{}, 0); }
    SECTION("trusted_hosts") { check(http::trusted_hosts{"127.0.0.1", "*.ocp.oraclecloud.com"}, 0); }
    SECTION("oic_default") { check(http::oic_default({"127.0.0.1"}), 0); }
    SECTION("a user-written policy") {
        int hops = 0;
        check([&hops](http::redirect_hop const& h) {
            ++hops;
            CHECK(h.status == boost::beast::http::status::temporary_redirect);
            CHECK(h.hop == 1);
            CHECK(h.target.host() == "127.0.0.2");
            return http::redirect_decision{.forward_credentials = h.target.host() == h.original.host()};
        }, 0);
        CHECK(hops == 1);
    }
    SECTION("always_forward: the --location-trusted equivalent leaks") { check(http::always_forward{}, 1); }
}

TEST_CASE("every redirect status from the runtime host reaches the design-time host with the token",
          "[integration][redirect]") {
    auto status = GENERATE(301u, 302u, 303u, 307u, 308u);
    testing::mock_options opts;
    opts.redirect_status = status;
    testing::mock_server server(opts);
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server));
    CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
    auto const n = server.get_counters();
    CHECK(n.redirects == 1);
    CHECK(n.design_authorization_headers == 1);
    CHECK(n.unauthorized == 0);
}

TEST_CASE("redirect chains: relative Location, hop limit, loops", "[integration][redirect]") {
    testing::mock_server server;
    asio::io_context ioc;

    SECTION("a relative Location is resolved against the current URL") {
        server.add_redirect("/ic/api/start", 302, std::string("../api/integration/v1/connections?{query}"));
        client c(ioc.get_executor(), config_for(server));
        auto const v = run(ioc, c.get_json("/ic/api/start"));
        CHECK(v.at("items").as_array().size() == 100);
        CHECK(server.get_counters().redirects == 2); // runtime /start -> runtime connections -> design
    }
    SECTION("a chain longer than the limit ends in an error, a longer limit follows it") {
        for (int i = 1; i <= 6; ++i)
            server.add_redirect("/ic/api/c" + std::to_string(i), 302, "/ic/api/c" + std::to_string(i + 1) + "?{query}");
        server.add_redirect("/ic/api/c7", 302, std::string(connections_path) + "?{query}");
        client c(ioc.get_executor(), config_for(server));
        auto const e = error_of(ioc, c.get_json("/ic/api/c1"));
        CHECK(e.code() == error::too_many_redirects);
        CHECK(classify(e.code()) == failure_kind::api);

        auto cfg = config_for(server);
        cfg.session.max_redirects = 10;
        client patient(ioc.get_executor(), cfg);
        CHECK(run(ioc, patient.get_json("/ic/api/c1")).at("items").as_array().size() == 100);
    }
    SECTION("a loop is detected") {
        server.add_redirect("/ic/api/a", 302, "/ic/api/b");
        server.add_redirect("/ic/api/b", 301, "/ic/api/a");
        client c(ioc.get_executor(), config_for(server));
        CHECK(error_of(ioc, c.get_json("/ic/api/a")).code() == error::redirect_loop);
    }
}

TEST_CASE("refused redirects end in clear errors", "[integration][redirect]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server));
    auto const port = std::to_string(server.options().design_port);

    SECTION("https to http") {
        server.add_redirect("/ic/api/down", 307, "http://127.0.0.1:" + port + "/ic/api/x");
        auto const e = error_of(ioc, c.get_json("/ic/api/down"));
        CHECK(e.code() == error::redirect_downgrade);
        CHECK(e.get_diagnostics().http_status == 307);
    }
    SECTION("missing Location") {
        server.add_redirect("/ic/api/none", 302, "");
        CHECK(error_of(ioc, c.get_json("/ic/api/none")).code() == error::redirect_bad_location);
    }
    SECTION("Location with userinfo, never echoed") {
        server.add_redirect("/ic/api/userinfo", 302, "https://user:hunter2@127.0.0.1:" + port + "/ic/api/x");
        auto const e = error_of(ioc, c.get_json("/ic/api/userinfo"));
        CHECK(e.code() == error::redirect_bad_location);
        CHECK_THAT(e.what(), !Catch::Contains("hunter2"));
    }
    SECTION("Location with another scheme") {
        server.add_redirect("/ic/api/ftp", 302, "ftp://127.0.0.1/file");
        CHECK(error_of(ioc, c.get_json("/ic/api/ftp")).code() == error::redirect_bad_location);
    }
    SECTION("a policy that stops: the 3xx comes back as an error") {
        client stop(ioc.get_executor(), config_for(server),
                    [](http::redirect_hop const&) { return http::redirect_decision{.follow = false}; });
        auto const e = error_of(ioc, get_connections(stop, connections_query{}));
        CHECK(e.code() == error::redirect_refused);
        CHECK(e.get_diagnostics().http_status == 307);
    }
}

TEST_CASE("a remembered hop saves the round trip and is forgotten when it fails", "[integration][redirect]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server));
    for (int i = 0; i < 3; ++i)
        run(ioc, get_connections(c, connections_query{}));
    CHECK(server.get_counters().runtime_api_requests == 1); // calls 2 and 3 went straight to the design host
    CHECK(server.get_counters().design_api_requests == 3);

    server.set_design_failure(421, 1); // the remembered origin misdirects once
    CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
    auto const n = server.get_counters();
    CHECK(n.runtime_api_requests == 2); // forgotten: back through the runtime host
    CHECK(n.design_api_requests == 5);

    SECTION("a policy that does not remember sends every call through the runtime host") {
        client plain(ioc.get_executor(), config_for(server), http::trusted_hosts{"127.0.0.1"});
        server.reset_counters();
        run(ioc, get_connections(plain, connections_query{}));
        run(ioc, get_connections(plain, connections_query{}));
        CHECK(server.get_counters().runtime_api_requests == 2);
    }
}

TEST_CASE("the token endpoint goes through the same redirect engine", "[integration][redirect][token]") {
    testing::mock_server server;
    // (another path on the foreign host: the redirect table answers on every listener)
    server.add_redirect("/oauth2/v1/token", 307, server.foreign_url() + "/oauth2/v2/token");
    asio::io_context ioc;
    auto cfg = config_for(server);

    SECTION("client_secret_post: the body never goes to another origin") {
        cfg.credentials.auth = client_auth::post;
        http::session s(ioc.get_executor(), cfg.session, http::always_forward{});
        CHECK(error_of(ioc, fetch_token(s, cfg.credentials)).code() == error::redirect_body_credentials);
        CHECK(server.get_counters().foreign_requests == 0);
    }
    SECTION("client_secret_basic: the Basic header is not forwarded to an untrusted host") {
        http::session s(ioc.get_executor(), cfg.session, http::never_forward{});
        auto const e = error_of(ioc, fetch_token(s, cfg.credentials));
        CHECK(classify(e.code()) == failure_kind::token_endpoint);
        CHECK(server.get_counters().foreign_requests == 1);
        CHECK(server.get_counters().foreign_authorization_headers == 0);
    }
}
