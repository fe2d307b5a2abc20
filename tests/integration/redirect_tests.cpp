// The redirect engine over TLS: who gets the token, chains, loops, downgrades, bad Locations,
// remembered hops, and the token endpoint going through the same engine; then the same promises
// tried as an attacker would, and hostile byte streams that must end in bounded errors; last,
// uploads (importing archives): what a host answers before the body, and what it read of it.

#include "common.hpp"

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value_from.hpp>
#include <boost/url/parse.hpp>

#include <cstdlib>
#include <limits>
#include <sstream>

using namespace oic;
using oic_test::error_of;
using oic_test::run;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr char connections_path[] = "/ic/api/integration/v1/connections";

/// The client's configuration through the runtime host.
client_config config_for(testing::mock_server const& m) {
    return oic_test::config_for(m, m.runtime_url());
}

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
    SECTION("never_forward") {
        check(http::never_forward{}, 0);
    }
    SECTION("same_origin") {
        check(http::same_origin{}, 0);
    }
    SECTION("trusted_hosts") {
        check(http::trusted_hosts{"127.0.0.1", "*.ocp.oraclecloud.com"}, 0);
    }
    SECTION("a user-written policy") {
        int hops = 0;
        check(
            [&hops](http::redirect_hop const& h) {
                ++hops;
                CHECK(h.status == boost::beast::http::status::temporary_redirect);
                CHECK(h.hop == 1);
                CHECK(h.target.host() == "127.0.0.2");
                return http::redirect_decision{.forward_credentials = h.target.host() == h.original.host()};
            },
            0);
        CHECK(hops == 1);
    }
    SECTION("always_forward: the --location-trusted equivalent leaks") {
        check(http::always_forward{}, 1);
    }
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
        CHECK(e.code() == condition::api);

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
    SECTION("client_secret_basic: the Basic header never goes to another origin either") {
        http::session s(ioc.get_executor(), cfg.session, http::always_forward{});
        CHECK(error_of(ioc, fetch_token(s, cfg.credentials)).code() == error::redirect_body_credentials);
        CHECK(server.get_counters().foreign_requests == 0);
    }
}

// ---- Tried as an attacker would ------------------------------------------------------------------

TEST_CASE("the default policy refuses a credentialed redirect to an untrusted host, naming it",
          "[integration][redirect][security]") {
    testing::mock_server server;
    server.add_redirect(connections_path, 307, server.foreign_url() + "/ic/api/elsewhere?{query}");
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server));
    auto const e = error_of(ioc, get_connections(c, connections_query{}));
    CHECK(e.code() == error::redirect_refused);
    std::string const what = e.what();
    auto const foreign = "127.0.0.2:" + std::to_string(server.options().foreign_port);
    CHECK_THAT(what, Catch::Contains(foreign) && Catch::Contains("client_config::trusted_hosts"));
    CHECK(e.get_diagnostics().redirect_to == foreign);  // for a program to say it in its own terms (the CLI)
    CHECK(server.get_counters().foreign_requests == 0); // its answer is never taken for the API's

    SECTION("following without the token stays available to those who ask") {
        client lenient(ioc.get_executor(), config_for(server), http::never_forward{});
        auto const page = run(ioc, get_connections(lenient, connections_query{}));
        CHECK(page.url == server.foreign_url() + "/ic/api/elsewhere"); // and the page says who answered
        CHECK(server.get_counters().foreign_authorization_headers == 0);
    }
}

TEST_CASE("a percent-encoded host is never judged, remembered or connected to", "[integration][redirect][security]") {
    testing::mock_server server;
    // Decoded, the host reads "127.0.0.2:PORT/.ocp.oraclecloud.com": under *.ocp.oraclecloud.com to a
    // suffix check, and the foreign host to a URL rebuilt from text.
    auto const port = std::to_string(server.options().foreign_port);
    server.add_redirect(connections_path, 307,
                        "https://127.0.0.2%3A" + port + "%2F.ocp.oraclecloud.com" + connections_path + "?{query}");
    asio::io_context ioc;
    auto cfg = config_for(server);
    cfg.trusted_hosts.push_back("*.ocp.oraclecloud.com"); // even a user who widened the trust is not fooled
    client c(ioc.get_executor(), cfg);
    for (int call = 0; call < 2; ++call) {
        auto const e = error_of(ioc, get_connections(c, connections_query{}));
        CHECK(e.code() == error::redirect_bad_location);
    }
    auto const n = server.get_counters();
    CHECK(n.runtime_api_requests == 2); // nothing was remembered
    CHECK(n.foreign_requests == 0);
    CHECK(n.foreign_authorization_headers == 0);
}

TEST_CASE("configured hosts are trusted on their port only", "[integration][redirect][security]") {
    testing::mock_server server;
    testing::mock_server other; // 127.0.0.1 too, on other ports: the same host, another origin
    server.add_redirect(connections_path, 307, other.design_url() + connections_path + "?{query}");
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server));
    auto const e = error_of(ioc, get_connections(c, connections_query{}));
    CHECK(e.code() == error::redirect_refused);
    CHECK(other.get_counters().design_api_requests == 0);
    CHECK(other.get_counters().design_authorization_headers == 0);
}

TEST_CASE("credentials withheld on one hop stay withheld for the chain (A -> B -> A)",
          "[integration][redirect][security]") {
    testing::mock_server server;
    server.add_redirect("/ic/api/start", 307, server.foreign_url() + "/ic/api/bounce?{query}");
    server.add_redirect("/ic/api/bounce", 307, server.design_url() + connections_path + "?{query}");
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server), http::trusted_hosts{"127.0.0.1"}); // not 127.0.0.2
    auto const e = error_of(ioc, c.get_json("/ic/api/start"));
    CHECK(e.code() == error::api_unauthorized); // the design host saw no token: B chose that hop
    auto const n = server.get_counters();
    CHECK(n.foreign_requests == 1); // no retry: the 401 came without the token, which stays valid
    CHECK(n.foreign_authorization_headers == 0);
    CHECK(n.design_api_requests == 1);
    CHECK(n.design_authorization_headers == 0);
    CHECK(n.tokens_issued == 1);
    CHECK_THAT(e.what(), Catch::Contains("redirected from")); // the error names who answered
}

TEST_CASE("a token request's redirect is followed per call, never remembered",
          "[integration][redirect][token][security]") {
    testing::mock_server server;
    testing::mock_server other; // same client id and secret: it issues tokens too
    server.add_redirect("/oauth2/v1/token", 307, other.token_url());
    asio::io_context ioc;
    auto const remember_everything = [](http::redirect_hop const&) {
        return http::redirect_decision{.forward_credentials = true, .remember = true};
    };
    oic_test::ca_bundle const cas({&server, &other});
    auto opts = config_for(server).session;
    opts.ca_file = cas.path();
    http::session s(ioc.get_executor(), opts, remember_everything);
    auto const creds = oic_test::credentials_for(server);
    // The client secret never goes to another origin (it is refused), so nothing can be learned either.
    for (int i = 0; i < 3; ++i)
        CHECK(error_of(ioc, fetch_token(s, creds)).code() == error::redirect_body_credentials);
    CHECK(server.get_counters().token_requests == 3); // every call asked the configured endpoint first
    CHECK(other.get_counters().token_requests == 0);
}

TEST_CASE("a remembered hop whose target dies is forgotten", "[integration][redirect]") {
    testing::mock_server server;
    auto target = std::make_unique<testing::mock_server>(); // issues the token and serves the API
    server.add_redirect(connections_path, 307, target->design_url() + connections_path + "?{query}");
    asio::io_context ioc;
    oic_test::ca_bundle const cas({&server, target.get()});
    auto cfg = config_for(server);
    cfg.session.ca_file = cas.path();
    cfg.credentials.token_url = target->token_url();
    cfg.trusted_hosts.push_back("127.0.0.1:" + std::to_string(target->options().design_port));
    client c(ioc.get_executor(), cfg);
    run(ioc, get_connections(c, connections_query{}));
    run(ioc, get_connections(c, connections_query{}));
    CHECK(server.get_counters().runtime_api_requests == 1); // the second call went straight there

    target.reset(); // its port now refuses connections
    auto const e = error_of(ioc, get_connections(c, connections_query{}));
    CHECK(e.code() == condition::network);
    CHECK(server.get_counters().runtime_api_requests == 2); // forgotten: the call went through the original URL
    error_of(ioc, get_connections(c, connections_query{}));
    CHECK(server.get_counters().runtime_api_requests == 3); // and nothing points at the dead host any more
}

TEST_CASE("get_all_connections stops after max_pages", "[integration][api][security]") {
    testing::mock_server server;
    asio::io_context ioc;
    auto cfg = oic_test::config_for(server, server.design_url());
    cfg.max_pages = 3;
    client c(ioc.get_executor(), cfg);
    connections_query q;
    q.limit = 10; // 120 connections: 12 pages
    auto const e = error_of(ioc, get_all_connections(c, q));
    CHECK(e.code() == error::api_too_many_pages);
    CHECK_THAT(e.what(), Catch::Contains("3 pages"));
    CHECK(server.get_counters().design_api_requests == 3);
    q.limit = 50;
    CHECK(run(ioc, get_all_connections(c, q)).size() == 120); // 3 pages are enough here
}

// ---- Hostile byte streams: every read is bounded in memory and in time ----------------------------

namespace {

/// `GET url` with a credential header through a session with small limits; the reply or the error.
struct raw_call {
    asio::io_context ioc;
    http::session_options opts;
    raw_call() {
        opts.total_timeout = 2s;
        opts.request_timeout = 2s;
        opts.max_header_size = 4 * 1024;
        opts.read_buffer_size = 16 * 1024;
    }
    asio::awaitable<http::reply> send(http::session s, std::string const& url) {
        http::request req{boost::beast::http::verb::get, "/", 11};
        req.set(boost::beast::http::field::authorization, "Bearer abc");
        co_return co_await s.send(http::urls::url(url), std::move(req));
    }
    http::reply get(http::session s, std::string const& url) { return run(ioc, send(s, url)); }
    error_with_diagnostics fails(http::session s, std::string const& url) { return error_of(ioc, send(s, url)); }
};

/// Writes `head`, then `unit` again and again until the client gives up or 64 MiB went out.
oic_test::raw_server::script endless(std::string head, std::string unit) {
    return [head, unit](asio::ip::tcp::socket& s, std::string const&, std::atomic<bool> const& stopping) {
        if (!oic_test::raw_server::send(s, head))
            return;
        for (std::size_t sent = 0; sent < 64u * 1024 * 1024 && !stopping; sent += unit.size())
            if (!oic_test::raw_server::send(s, unit))
                return;
    };
}

} // namespace

TEST_CASE("hostile answers end in bounded errors", "[integration][limits][security]") {
    raw_call call;
    std::string const big(4096, 'a');
    struct hostile {
        char const* what;
        oic_test::raw_server::script script;
    };
    hostile const cases[] = {
        {"an endless header line", endless("HTTP/1.1 200 OK\r\nX-Long: ", big)},
        {"endless header fields", endless("HTTP/1.1 200 OK\r\n", "X-Field: " + big + "\r\n")},
        {"an endless chunk extension", endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=", big)},
        {"endless trailers",
         endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "X-T: " + big + "\r\n")},
    };
    for (auto const& c : cases) {
        INFO(c.what);
        oic_test::raw_server server(c.script);
        http::session s(call.ioc.get_executor(), call.opts);
        auto const started = std::chrono::steady_clock::now();
        auto const e = call.fails(s, server.url());
        CHECK(e.code() == error::response_too_large);
        CHECK(std::chrono::steady_clock::now() - started < 2s); // stopped by the limit, not by the deadline
    }
}

TEST_CASE("a trickling server is cut off by the deadline", "[integration][limits][security]") {
    oic_test::raw_server server([](asio::ip::tcp::socket& s, std::string const&, std::atomic<bool> const& stopping) {
        if (!oic_test::raw_server::send(s, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"))
            return;
        for (int i = 0; i < 500 && !stopping && oic_test::raw_server::send(s, "x"); ++i)
            std::this_thread::sleep_for(10ms); // a byte at a time, never idle long enough for a read timeout
    });
    raw_call call;
    call.opts.total_timeout = 500ms;
    http::session s(call.ioc.get_executor(), call.opts);
    auto const started = std::chrono::steady_clock::now();
    CHECK(call.fails(s, server.url()).code() == error::timeout);
    auto const took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 400ms);
    CHECK(took < 2s);
}

TEST_CASE("interim 1xx answers are skipped, and bytes nobody asked for end the reuse of a connection",
          "[integration][limits]") {
    raw_call call;
    SECTION("100 Continue and 103 Early Hints, then the answer") {
        oic_test::raw_server server([](asio::ip::tcp::socket& s, std::string const&, std::atomic<bool> const&) {
            oic_test::raw_server::send(s, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        });
        http::session s(call.ioc.get_executor(), call.opts);
        auto const r = call.get(s, server.url() + "/ic/api/x");
        CHECK(r.message.result_int() == 200);
        CHECK(r.message.body() == "{}");
        CHECK(r.url.buffer() == server.url() + "/ic/api/x");
    }
    SECTION("an answer smuggled after the answer is never read as the next call's") {
        oic_test::raw_server server([](asio::ip::tcp::socket& s, std::string const&, std::atomic<bool> const&) {
            oic_test::raw_server::send(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
                                          "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged");
            std::this_thread::sleep_for(100ms); // keep the socket open while the client returns it to its pool
        });
        http::session s(call.ioc.get_executor(), call.opts);
        CHECK(call.get(s, server.url()).message.body() == "{}");
        CHECK(call.get(s, server.url()).message.body() == "{}");
        CHECK(server.connections() == 2);
    }
}

// ---- Where each credential may go: the matrix ------------------------------------------------------
// Credential kind x path x policy, over TLS against the mock; each cell says where the credential
// arrived by the counters of the mock's hosts. The Redis password's cells are in fleet_tests.cpp.

namespace {

enum class policy_kind { config_default, trusted_hosts, never_forward, always_forward };

char const* name_of(policy_kind p) {
    switch (p) {
    case policy_kind::config_default: return "default";
    case policy_kind::trusted_hosts: return "trusted_hosts";
    case policy_kind::never_forward: return "never_forward";
    case policy_kind::always_forward: return "always_forward";
    }
    return "?";
}

/// The policy `p` as a session or client takes it; `trusted_hosts` trusts the design host, and the
/// foreign host too with `trust_foreign`.
http::any_redirect_policy policy_of(policy_kind p, testing::mock_server const& m, bool trust_foreign = false) {
    auto const design = "127.0.0.1:" + std::to_string(m.options().design_port);
    switch (p) {
    case policy_kind::config_default: {
        auto const cfg = config_for(m);
        std::vector<http::origin> configured;
        for (auto const* s : {&cfg.base_url, &cfg.credentials.token_url})
            configured.push_back(*http::origin_of(http::urls::url_view(*s)));
        return http::oic_default::for_instance(configured, cfg.trusted_hosts);
    }
    case policy_kind::trusted_hosts:
        return trust_foreign ? http::trusted_hosts{design, "127.0.0.2"} : http::trusted_hosts{design};
    case policy_kind::never_forward: return http::never_forward{};
    case policy_kind::always_forward: return http::always_forward{};
    }
    return http::never_forward{};
}

/// A client of `cfg` under `p`: the configuration's own policy for `config_default`.
client client_of(asio::io_context& ioc, client_config const& cfg, policy_kind p, testing::mock_server const& m) {
    if (p == policy_kind::config_default)
        return client(ioc.get_executor(), cfg);
    return client(ioc.get_executor(), cfg, policy_of(p, m));
}

/// The code a call ends with (none: it succeeded).
template <class Awaitable>
error_code outcome(asio::io_context& ioc, Awaitable aw) {
    try {
        run(ioc, std::move(aw));
        return {};
    } catch (error_with_diagnostics const& e) {
        return e.code();
    }
}

} // namespace

TEST_CASE("matrix: the bearer token goes where the policy says, on every path", "[integration][redirect][matrix]") {
    auto const p = GENERATE(policy_kind::config_default, policy_kind::trusted_hosts, policy_kind::never_forward,
                            policy_kind::always_forward);
    CAPTURE(name_of(p));
    bool const forwards = p != policy_kind::never_forward; // to the trusted design host
    asio::io_context ioc;

    SECTION("direct") {
        testing::mock_server server;
        client c = client_of(ioc, oic_test::config_for(server, server.design_url()), p, server);
        CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
        CHECK(server.get_counters().design_authorization_headers == 1);
    }
    SECTION("307, 308 and 303 to a trusted origin (runtime -> design)") {
        for (unsigned const status : {307u, 308u, 303u}) {
            CAPTURE(status);
            testing::mock_options o;
            o.redirect_status = status;
            testing::mock_server server(o);
            client c = client_of(ioc, config_for(server), p, server);
            auto const ec = outcome(ioc, get_connections(c, connections_query{}));
            auto const n = server.get_counters();
            CHECK(n.runtime_authorization_headers == 1);
            CHECK(n.design_authorization_headers == (forwards ? 1u : 0u));
            CHECK(ec == (forwards ? error_code{} : error_code(error::api_unauthorized)));
            CHECK(n.tokens_issued == 1); // never_forward: the 401 came without the token, which stays
        }
    }
    SECTION("307 to an untrusted origin") {
        testing::mock_server server;
        server.add_redirect(connections_path, 307, server.foreign_url() + "/ic/api/elsewhere?{query}");
        auto cfg = config_for(server);
        client c = client_of(ioc, cfg, p, server);
        auto const ec = outcome(ioc, get_connections(c, connections_query{}));
        auto const n = server.get_counters();
        if (p == policy_kind::config_default) { // refused: the foreign page is never the API's answer
            CHECK(ec == error::redirect_refused);
            CHECK(n.foreign_requests == 0);
        } else {
            CHECK_FALSE(ec);
            CHECK(n.foreign_requests == 1);
        }
        CHECK(n.foreign_authorization_headers == (p == policy_kind::always_forward ? 1u : 0u));
    }
    SECTION("a remembered hop (runtime -> design), two calls") {
        testing::mock_server server;
        client c = client_of(ioc, config_for(server), p, server);
        for (int i = 0; i < 2; ++i)
            outcome(ioc, get_connections(c, connections_query{}));
        auto const n = server.get_counters();
        bool const remembers = p == policy_kind::config_default; // the only one that asks to
        CHECK(n.runtime_api_requests == (remembers ? 1u : 2u));
        CHECK(n.design_authorization_headers == (forwards ? 2u : 0u));
    }
    SECTION("a client built from a session under this policy and a token: the configuration's trust applies") {
        testing::mock_server server;
        auto const cfg = config_for(server);
        http::session session(ioc.get_executor(), cfg.session, policy_of(p, server));
        shared_token token(session, cfg.credentials, cfg.token);
        client c(cfg, session, token);
        CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100); // runtime -> design
        CHECK(server.get_counters().design_authorization_headers == 1);
        server.add_redirect(connections_path, 307, server.foreign_url() + "/ic/api/elsewhere?{query}");
        CHECK(outcome(ioc, get_connections(c, connections_query{})) == error::redirect_refused);
        CHECK(server.get_counters().foreign_requests == 0);
    }
}

TEST_CASE("matrix: the client secret goes to the token URL's origin only, in either form, whatever the policy",
          "[integration][redirect][token][matrix]") {
    auto const p = GENERATE(policy_kind::config_default, policy_kind::trusted_hosts, policy_kind::never_forward,
                            policy_kind::always_forward);
    auto const auth = GENERATE(client_auth::basic, client_auth::post);
    CAPTURE(name_of(p), auth == client_auth::basic ? "basic" : "post");
    testing::mock_server server;
    asio::io_context ioc;
    auto cfg = config_for(server);
    cfg.credentials.auth = auth;
    cfg.trusted_hosts.push_back("127.0.0.2"); // the default policy trusts the foreign host for bearer tokens
    auto const policy =
        p == policy_kind::config_default
            ? http::any_redirect_policy(http::oic_default::for_instance(
                  {*http::origin_of(http::urls::url_view(cfg.credentials.token_url))}, cfg.trusted_hosts))
            : policy_of(p, server, true);
    http::session session(ioc.get_executor(), cfg.session, policy);

    SECTION("direct") {
        CHECK_FALSE(run(ioc, fetch_token(session, cfg.credentials)).value.empty());
        CHECK(server.get_counters().tokens_issued == 1);
    }
    SECTION("307 or 308 to another origin the policy trusts: refused, nothing sent there") {
        for (unsigned const status : {307u, 308u}) {
            CAPTURE(status);
            server.add_redirect("/oauth2/v1/token", status, server.foreign_url() + "/oauth2/v1/token");
            auto const e = error_of(ioc, fetch_token(session, cfg.credentials));
            CHECK(e.code() == error::redirect_body_credentials);
            CHECK_THAT(e.what(), Catch::Contains("127.0.0.2"));
            CHECK(std::string(e.what()).find(server.options().client_secret) == std::string::npos);
            CHECK(server.get_counters().foreign_requests == 0);
        }
    }
    SECTION("303 to another origin: followed as a GET without the secret in any form") {
        server.add_redirect("/oauth2/v1/token", 303, server.foreign_url() + "/ic/api/token-elsewhere");
        outcome(ioc, fetch_token(session, cfg.credentials));
        auto const n = server.get_counters();
        CHECK(n.foreign_requests == 1);
        CHECK(n.foreign_authorization_headers == 0); // no Basic header; a 303 drops the body
    }
    SECTION("through a client built from the session and a token") {
        server.add_redirect("/oauth2/v1/token", 307, server.foreign_url() + "/oauth2/v1/token");
        shared_token token(session, cfg.credentials, cfg.token);
        client c(cfg, session, token);
        CHECK(outcome(ioc, get_connections(c, connections_query{})) == error::redirect_body_credentials);
        CHECK(server.get_counters().foreign_requests == 0);
    }
}

TEST_CASE("a hop remembered under one policy is never used by a call under another",
          "[integration][redirect][security]") {
    testing::mock_server server;
    testing::mock_server other; // another origin, untrusted by the client's configuration
    server.add_redirect(connections_path, 307, other.design_url() + connections_path + "?{query}");
    asio::io_context ioc;
    oic_test::ca_bundle const cas({&server, &other});
    auto cfg = config_for(server);
    cfg.session.ca_file = cas.path();
    auto const remember_everything = [](http::redirect_hop const&) {
        return http::redirect_decision{.forward_credentials = true, .remember = true};
    };
    http::session session(ioc.get_executor(), cfg.session, remember_everything);
    // Sent through the session itself: its policy follows, forwards and remembers runtime -> other.
    http::request req{boost::beast::http::verb::get, "/", 11};
    req.set(boost::beast::http::field::authorization, "Bearer session-user");
    run(ioc, session.send(http::urls::url(server.runtime_url() + connections_path), req));
    server.clear_redirects();
    run(ioc, session.send(http::urls::url(server.runtime_url() + connections_path), req));
    CHECK(other.get_counters().design_authorization_headers == 2); // the second went straight there
    CHECK(server.get_counters().runtime_api_requests == 1);
    // A client over that session: its own trust, and none of the session's remembered hops.
    shared_token token(session, cfg.credentials, cfg.token);
    client c(cfg, session, token);
    CHECK(run(ioc, get_connections(c, connections_query{})).items.size() == 100);
    CHECK(other.get_counters().design_authorization_headers == 2);
    CHECK(server.get_counters().design_authorization_headers == 1);
}

TEST_CASE("a 401 that came without the token leaves the token alone and names the setting",
          "[integration][redirect][security]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server), http::never_forward{});
    auto const e = error_of(ioc, get_connections(c, connections_query{}));
    CHECK(e.code() == error::api_unauthorized);
    CHECK_THAT(e.what(), Catch::Contains("the token was not sent to https://127.0.0.1:" +
                                         std::to_string(server.options().design_port)) &&
                             Catch::Contains("trusted_hosts"));
    auto const n = server.get_counters();
    CHECK(n.design_api_requests == 1); // no retry: a fresh token would not have been sent either
    CHECK(n.tokens_issued == 1);       // the token was not invalidated...
    CHECK(outcome(ioc, get_connections(c, connections_query{})) == error::api_unauthorized);
    CHECK(server.get_counters().tokens_issued == 1); // ...nor on the next call
}

namespace {

/// The id of the first integration of the mock whose status is `status`.
std::string integration_with_status(asio::io_context& ioc, client const& c, std::string const& status) {
    connections_query q;
    q.q = "{status: '" + status + "'}";
    q.limit = 1;
    auto const page = run(ioc, get_integrations(c, q));
    REQUIRE(page.items.size() == 1);
    return page.items.front().id;
}

} // namespace

TEST_CASE("activate and deactivate through the runtime host: the 307 replays the POST and its body, the hop is "
          "remembered",
          "[integration][redirect][write]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server)); // through the runtime host
    client on_design(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    auto const id = integration_with_status(ioc, on_design, "CONFIGURED");
    std::uint64_t const body = std::string_view(R"({"status":"ACTIVATED"})").size();
    server.reset_counters();

    auto const activated = run(ioc, activate_integration(c, id));
    CHECK(activated.id == id);
    CHECK(activated.status == "ACTIVATED");
    auto n = server.get_counters();
    CHECK(n.runtime_write_requests == 1); // the POST went to the runtime host, which answered 307
    CHECK(n.runtime_body_bytes == body);
    CHECK(n.design_write_requests == 1); // ...and was replayed, body and all, to the design host
    CHECK(n.design_body_bytes == body);
    CHECK(n.design_authorization_headers == 1); // with the token: the design host is trusted
    CHECK(run(ioc, get_integration(on_design, id)).status == "ACTIVATED");

    // Already active: 412, the server's words kept, nothing sent twice.
    auto const again = error_of(ioc, activate_integration(c, id));
    CHECK(again.code() == error::api_http_status);
    CHECK(again.get_diagnostics().http_status == 412);
    CHECK(std::string(again.what()).find("POST ") != std::string::npos);

    // The hop learned by the first POST serves the next ones: straight to the design host. (The
    // async_ form, errors as values.)
    diagnostics d;
    auto [ec, deactivated] = run(ioc, [&]() -> asio::awaitable<std::tuple<error_code, integration>> {
        co_return co_await async_deactivate_integration(c, id, {}, d, asio::as_tuple(asio::use_awaitable));
    }());
    CHECK_FALSE(ec);
    CHECK(deactivated.status == "CONFIGURED");
    n = server.get_counters();
    CHECK(n.runtime_write_requests == 1);
    CHECK(n.design_write_requests == 3);
    CHECK(n.design_body_bytes == 2 * body + std::string_view(R"({"status":"CONFIGURED"})").size());
    CHECK(run(ioc, get_integration(on_design, id)).status == "CONFIGURED");
}

TEST_CASE("a write call redirected to an untrusted host sends it neither the body nor the token",
          "[integration][redirect][write][security]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    auto const id = integration_with_status(ioc, c, "CONFIGURED");
    std::string const path = "/ic/api/integration/v1/integrations/" + http::path_segment(id);
    server.add_redirect(path, GENERATE(307u, 308u), server.foreign_url() + path);
    server.reset_counters();
    auto const e = error_of(ioc, activate_integration(c, id));
    CHECK(e.code() == error::redirect_refused);
    auto const n = server.get_counters();
    CHECK(n.foreign_requests == 0);
    CHECK(n.foreign_body_bytes == 0);
    CHECK(n.foreign_authorization_headers == 0);
    CHECK(n.design_write_requests == 1);
}

TEST_CASE("a 303 after a write turns it into a GET without its body", "[integration][redirect][write]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    auto const id = integration_with_status(ioc, c, "CONFIGURED");
    std::string const item = "/ic/api/integration/v1/integrations/" + http::path_segment(id);
    // A write whose answer is "see the integration": the client GETs it, without the body.
    server.add_redirect(item + "/request", 303, server.design_url() + item + "?{query}");
    server.reset_counters();
    http::request post{boost::beast::http::verb::post, "/", 11};
    post.set(boost::beast::http::field::content_type, "application/json");
    post.body() = R"({"status":"ACTIVATED"})";
    diagnostics d;
    auto [ec, url, answer] = run(ioc, c.call(item + "/request", {}, std::move(post), d));
    REQUIRE_FALSE(ec);
    CHECK(answer.message.result_int() == 200);
    CHECK(answer.method == boost::beast::http::verb::get);
    CHECK(answer.message.body().find(id) != std::string::npos); // the integration, as GET answers it
    auto const n = server.get_counters();
    CHECK(n.design_write_requests == 1);                                                // the POST; the GET is no write
    CHECK(n.design_body_bytes == std::string_view(R"({"status":"ACTIVATED"})").size()); // the body went once
}

TEST_CASE("a body from a source: a 307 reads it again from the start; one that cannot rewind is a clear error, a "
          "303 drops it",
          "[integration][redirect][write][upload]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server)); // through the runtime host
    client on_design(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    auto const id = integration_with_status(ioc, on_design, "CONFIGURED");
    std::string const item = "/ic/api/integration/v1/integrations/" + http::path_segment(id);
    std::string const json = R"({"status":"ACTIVATED"})";
    auto activation = [] {
        http::request post{boost::beast::http::verb::post, "/", 11};
        post.set("X-HTTP-Method-Override", "PATCH");
        post.set(boost::beast::http::field::content_type, "application/json");
        return post;
    };
    server.reset_counters();

    // Sent to the runtime host, which answers 307 after reading it: it cannot be replayed.
    oic_test::once_source once(json);
    diagnostics d;
    auto [ec, url, answer] = run(ioc, c.call(item, {}, activation(), once, {}, d));
    CHECK(ec == error::body_not_replayable);
    CHECK(d.message.find("cannot be read again") != std::string::npos);
    auto n = server.get_counters();
    CHECK(n.runtime_body_bytes == json.size());
    CHECK(n.design_write_requests == 0); // never a partial or empty body in its place

    // One that rewinds: replayed whole to the design host.
    http::string_source text(json);
    std::tie(ec, url, answer) = run(ioc, c.call(item, {}, activation(), text, {}, d));
    REQUIRE_FALSE(ec);
    CHECK(answer.message.result_int() == 200);
    n = server.get_counters();
    CHECK(n.runtime_body_bytes == 2 * json.size());
    CHECK(n.design_write_requests == 1);
    CHECK(n.design_body_bytes == json.size());
    CHECK(run(ioc, get_integration(on_design, id)).status == "ACTIVATED");

    // A 303 turns it into a GET without the body, its length or its type.
    server.add_redirect(item + "/request", 303, server.design_url() + item + "?{query}");
    text.rewind();
    std::tie(ec, url, answer) = run(ioc, on_design.call(item + "/request", {}, activation(), text, {}, d));
    REQUIRE_FALSE(ec);
    CHECK(answer.message.result_int() == 200);
    CHECK(answer.method == boost::beast::http::verb::get);
    CHECK(server.get_counters().design_body_bytes == 2 * json.size());
}

TEST_CASE("export through the runtime host: the archive lands byte-exact under its name, the hop with the token",
          "[integration][redirect][archive]") {
    testing::mock_server server;
    server.set_archive_size(3 * 1024 * 1024 + 17); // many read buffers' worth, and not a round number
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server)); // through the runtime host
    client on_design(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    auto const id = integration_with_status(ioc, on_design, "ACTIVATED");
    oic_test::scratch_folder folder;
    auto const target = folder.path() / "hello.iar";
    server.reset_counters();

    std::vector<http::transfer_progress> reports;
    transfer_options options;
    options.progress = [&](http::transfer_progress p) { reports.push_back(p); };
    auto const archive = run(ioc, export_integration(c, id, target, options));
    CHECK(archive.path == target);
    CHECK(archive.size == 3 * 1024 * 1024 + 17);
    CHECK(folder.names() == std::vector<std::string>{"hello.iar"}); // no temporary file left
    CHECK(testing::sha256_hex(oic_test::read_file(target)) == server.archive_sha256(id));
    REQUIRE_FALSE(reports.empty());
    CHECK(reports.back().done == archive.size); // the last report: whole
    CHECK(reports.back().total == archive.size);
    CHECK(std::is_sorted(reports.begin(), reports.end(), [](auto const& a, auto const& b) { return a.done < b.done; }));
    auto const n = server.get_counters();
    CHECK(n.runtime_api_requests == 1); // answered 307 to the design host...
    CHECK(n.design_api_requests == 1);  // ...which served the archive, once
    CHECK(n.design_authorization_headers == 1);

    // Into a caller's sink, the remembered hop straight to the design host: the same bytes.
    struct collect final : http::body_sink {
        std::string bytes;
        int starts = 0;
        error_code start(std::optional<std::uint64_t>) override {
            ++starts;
            bytes.clear();
            return {};
        }
        error_code write(asio::const_buffer b) override {
            bytes.append(static_cast<char const*>(b.data()), b.size());
            return {};
        }
    } sink;
    auto const to_sink = run(ioc, export_integration(c, id, sink));
    CHECK(to_sink.path.empty());
    CHECK(to_sink.size == sink.bytes.size());
    CHECK(sink.starts == 1);
    CHECK(testing::sha256_hex(sink.bytes) == server.archive_sha256(id));
    CHECK(server.get_counters().runtime_api_requests == 1); // the hop was remembered
}

namespace {
/// A mock archive of `size` bytes for integration `id`, written to `folder/name`.
std::filesystem::path archive_file(oic_test::scratch_folder const& folder, std::string const& name,
                                   std::string const& id, std::size_t size) {
    auto const path = folder.path() / name;
    std::ofstream(path, std::ios::binary) << testing::make_mock_archive(id, size);
    return path;
}
} // namespace

TEST_CASE("import through the runtime host: Expect keeps the body off it, the archive reaches the design host once "
          "and byte-exact, the hop serves the next imports",
          "[integration][redirect][import]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server)); // through the runtime host
    client on_design(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    oic_test::scratch_folder folder;
    std::string const id = "NEW_ONE|01.00.0000";
    std::size_t const size = 20 * 1024 * 1024 + 3;
    auto const file = archive_file(folder, "new one.iar", id, size);
    server.reset_counters();

    std::vector<http::transfer_progress> reports;
    transfer_options options;
    options.progress = [&](http::transfer_progress p) { reports.push_back(p); };
    auto const in = run(ioc, import_integration(c, file, import_mode::add, options));
    CHECK(in.id == id);
    CHECK(in.size == size);
    auto n = server.get_counters();
    CHECK(n.runtime_write_requests == 1); // the POST's header: answered 307 before its body
    CHECK(n.runtime_body_bytes == 0);
    CHECK(n.runtime_authorization_headers == 1);
    CHECK(n.design_write_requests == 1);
    CHECK(n.design_body_bytes > size); // the archive and its multipart envelope, once
    CHECK(n.design_body_bytes < size + 1024);
    CHECK(n.design_authorization_headers == 1);
    auto const landed = server.last_import(id);
    REQUIRE(landed);
    CHECK(landed->size == size);
    CHECK(landed->sha256 == testing::sha256_hex(oic_test::read_file(file)));
    CHECK(landed->filename == "new one.iar");
    CHECK(landed->imports == 1);
    CHECK(run(ioc, get_integration(on_design, id)).id == id);
    REQUIRE_FALSE(reports.empty());
    CHECK(reports.back().done == n.design_body_bytes); // the last report: all of it went
    CHECK(reports.back().total == n.design_body_bytes);

    // Again: it exists (409, a typed error that says what to do); the hop learned above takes the
    // POST straight to the design host.
    auto const again = error_of(ioc, import_integration(c, file));
    CHECK(again.code() == error::api_conflict);
    CHECK(again.get_diagnostics().http_status == 409);
    CHECK(std::string(again.what()).find("import_mode::replace") != std::string::npos);
    // Replaced, through the hop too.
    auto const replaced = run(ioc, import_integration(c, file, import_mode::replace));
    CHECK(replaced.size == size);
    n = server.get_counters();
    CHECK(n.runtime_write_requests == 1);
    CHECK(n.runtime_body_bytes == 0);
    CHECK(server.last_import(id)->imports == 2);

    // A replace of one that was never imported: 404, typed.
    auto const other = archive_file(folder, "other.iar", "NEVER_SEEN|01.00.0000", 4096);
    auto const missing = error_of(ioc, import_integration(c, other, import_mode::replace));
    CHECK(missing.code() == error::api_not_found);
    CHECK(std::string(missing.what()).find("import_mode::add") != std::string::npos);
    CHECK_FALSE(server.last_import("NEVER_SEEN|01.00.0000"));
}

TEST_CASE("import: a server that answers mid-upload stops it at once, and one that ignores Expect gets the body "
          "after the wait",
          "[integration][redirect][import]") {
    testing::mock_server server;
    asio::io_context ioc;
    oic_test::scratch_folder folder;
    std::string const id = "MID_UPLOAD|01.00.0000";
    std::size_t const size = 24 * 1024 * 1024;
    auto const file = archive_file(folder, "a.iar", id, size);

    SECTION("no Expect: the runtime host's 307 arrives while the body goes; the body is replayed to the design "
            "host") {
        auto cfg = config_for(server);
        cfg.session.expect_continue_above = std::numeric_limits<std::uint64_t>::max();
        client c(ioc.get_executor(), cfg);
        server.reset_counters();
        auto const in = run(ioc, import_integration(c, file));
        CHECK(in.id == id);
        auto const n = server.get_counters();
        CHECK(n.runtime_body_bytes < size); // stopped before the end
        CHECK(n.design_write_requests == 1);
        CHECK(server.last_import(id)->imports == 1);
        CHECK(server.last_import(id)->sha256 == testing::sha256_hex(oic_test::read_file(file)));
        CHECK(c.session().stats().open == c.session().stats().idle); // nothing left in use
    }
    SECTION("a server that never answers 100 Continue: the body goes after expect_continue_wait") {
        server.set_honour_expect(false);
        auto cfg = oic_test::config_for(server, server.design_url());
        cfg.session.expect_continue_wait = std::chrono::milliseconds(300);
        client c(ioc.get_executor(), cfg);
        auto const started = std::chrono::steady_clock::now();
        auto const in = run(ioc, import_integration(c, file));
        CHECK(in.id == id);
        CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
        CHECK(server.last_import(id)->imports == 1);
    }
}

TEST_CASE("import refuses bad input before any request, and never sends a body or a token where it must not",
          "[integration][redirect][import][security]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    oic_test::scratch_folder folder;
    server.reset_counters();

    // A missing file, a folder: named, before the token is even fetched.
    auto const missing = error_of(ioc, import_integration(c, folder.path() / "nope.iar"));
    CHECK(missing.code() == boost::system::errc::no_such_file_or_directory);
    CHECK(std::string(missing.what()).find("nope.iar cannot be read") != std::string::npos);
    auto const a_folder = error_of(ioc, import_integration(c, folder.path()));
    CHECK(a_folder.code() == boost::system::errc::is_a_directory);
    CHECK(server.get_counters().token_requests == 0);

    // A 307 of the POST to an untrusted host: refused; neither body nor token goes there, and the
    // design host, answering before the body (Expect), got none of it either.
    auto const file = archive_file(folder, "b.iar", "SENT_NOWHERE|01.00.0000", 2 * 1024 * 1024);
    std::string const path = "/ic/api/integration/v1/integrations/archive";
    server.add_redirect(path, 307, server.foreign_url() + path);
    server.reset_counters();
    auto const refused = error_of(ioc, import_integration(c, file));
    CHECK(refused.code() == error::redirect_refused);
    auto const n = server.get_counters();
    CHECK(n.foreign_requests == 0);
    CHECK(n.foreign_body_bytes == 0);
    CHECK(n.design_body_bytes == 0);
    server.clear_redirects();

    // A content that holds the multipart boundary: the upload stops, nothing is imported. (After
    // the byte counts above: the server may still be reading what was sent when the call ends.)
    std::string const id = "HOLDS_IT|01.00.0000";
    std::string content = testing::make_mock_archive(id, 3 * 1024 * 1024);
    content.replace(2 * 1024 * 1024, 8, "\r\n--B123");
    http::string_source inner(content);
    http::multipart_source body(inner, "file", "x.iar", "application/octet-stream", "B123");
    http::request put{boost::beast::http::verb::put, "/", 11};
    put.set(boost::beast::http::field::content_type, body.content_type());
    diagnostics d;
    auto [ec, url, answer] =
        run(ioc, c.call("/ic/api/integration/v1/integrations/archive", {}, std::move(put), body, {}, d));
    CHECK(ec == boost::system::errc::illegal_byte_sequence);
    CHECK(d.message.find("holds the multipart boundary --B123") != std::string::npos);
    CHECK_FALSE(server.last_import(id));

    // A POST answered 503 with Retry-After is not sent again; a PUT is.
    server.add_fault(path, {.kind = testing::fault_kind::status, .status = 503, .retry_after = "0", .count = 1});
    server.reset_counters();
    auto const post = error_of(ioc, import_integration(c, file));
    CHECK(post.code() == error::api_http_status);
    CHECK(post.get_diagnostics().http_status == 503);
    CHECK(server.get_counters().design_write_requests == 1);
    server.add_fault(path, {.kind = testing::fault_kind::status, .status = 503, .retry_after = "0", .count = 1});
    server.reset_counters();
    auto const put_again = run(ioc, import_integration(c, file, import_mode::replace));
    CHECK(put_again.id == "SENT_NOWHERE|01.00.0000");
    CHECK(server.get_counters().design_write_requests == 2);
}

TEST_CASE("resubmit through the runtime host: the 307 replays the POST and its body to the design host, with the "
          "token only where trusted; the hop is remembered",
          "[integration][redirect][write][monitoring]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), config_for(server)); // through the runtime host
    client on_design(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    list_query all;
    all.limit = 1000;
    auto const errors = run(ioc, get_all_errored_instances(on_design, all));
    std::vector<std::string> recoverable, stuck;
    for (auto const& e : errors)
        (e.recoverable ? recoverable : stuck).push_back(e.id);
    REQUIRE(recoverable.size() >= 4);
    REQUIRE_FALSE(stuck.empty());
    server.reset_counters();

    // Many at once, first: the body goes to the runtime host, and again, whole, to the design host.
    std::vector<std::string> const ids{recoverable[0], recoverable[1], stuck[0], "NO_SUCH_INSTANCE"};
    std::uint64_t const body =
        boost::json::serialize(boost::json::object{{"ids", boost::json::value_from(ids)}}).size();
    auto const many = run(ioc, resubmit_errored_instances(c, ids));
    CHECK(many.http_status == 202);
    CHECK(many.accepted_ids == std::vector<std::string>{recoverable[0], recoverable[1]});
    CHECK(many.non_recoverable_ids == std::vector<std::string>{stuck[0]});
    CHECK(many.invalid_ids == std::vector<std::string>{"NO_SUCH_INSTANCE"});
    CHECK(many.accepted == true);
    CHECK_FALSE(many.recovery_job_id.empty());
    auto n = server.get_counters();
    CHECK(n.runtime_write_requests == 1); // answered 307
    CHECK(n.runtime_body_bytes == body);
    CHECK(n.runtime_authorization_headers == 1); // the configured base URL's host is trusted
    CHECK(n.design_write_requests == 1);         // replayed once, body and all
    CHECK(n.design_body_bytes == body);
    CHECK(n.design_authorization_headers == 1);
    CHECK(n.foreign_requests == 0);

    // One, through the remembered hop: straight to the design host.
    auto const one = run(ioc, resubmit_errored_instance(c, recoverable[2]));
    CHECK(one.http_status == 200);
    CHECK(one.accepted == true);
    CHECK_FALSE(one.recovery_job_id.empty());
    n = server.get_counters();
    CHECK(n.runtime_write_requests == 1);
    CHECK(n.design_write_requests == 2);
    CHECK(n.design_body_bytes == body); // no body for one without options
    CHECK(n.design_authorization_headers == 2);

    // Resubmitted errors left the list; their runs say so.
    auto const left = run(ioc, get_all_errored_instances(on_design, all));
    CHECK(left.size() == errors.size() - 3);
    for (auto const& e : left)
        CHECK(std::find(recoverable.begin(), recoverable.begin() + 3, e.id) == recoverable.begin() + 3);
    list_query run_of;
    run_of.q = "{id: '" + recoverable[2] + "'}";
    auto const runs = run(ioc, get_integration_instances(on_design, run_of));
    REQUIRE(runs.items.size() == 1);
    CHECK(runs.items[0].status == "RESUBMITTED");

    // Again: no longer errored (412), and the non-recoverable one cannot be resubmitted either.
    auto const again = error_of(ioc, resubmit_errored_instance(c, recoverable[0]));
    CHECK(again.code() == error::api_http_status);
    CHECK(again.get_diagnostics().http_status == 412);
    CHECK(error_of(ioc, resubmit_errored_instance(c, stuck[0])).get_diagnostics().http_status == 412);

    // With a trace level: the documented body, replayed too.
    resubmit_options audit;
    audit.recovery_trace_level = "Audit";
    client fresh(ioc.get_executor(), config_for(server)); // no hop remembered yet
    server.reset_counters();
    diagnostics d;
    auto const [ec, traced] =
        run(ioc, async_resubmit_errored_instance(fresh, recoverable[3], audit, d, asio::as_tuple(asio::use_awaitable)));
    n = server.get_counters();
    std::uint64_t const audit_body = std::string_view(R"({"recoveryTraceLevel":"Audit"})").size();
    CHECK(n.runtime_body_bytes == audit_body);
    CHECK(n.design_body_bytes == audit_body);
    CHECK(n.runtime_write_requests == 1);
    CHECK(n.design_write_requests == 1);
    CHECK_FALSE(ec);
    CHECK(traced.accepted == true);
}

TEST_CASE("a resubmit redirected to an untrusted host sends it neither the body nor the token",
          "[integration][redirect][write][monitoring][security]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    std::string const path = "/ic/api/integration/v1/monitoring/errors/resubmit";
    server.add_redirect(path, GENERATE(307u, 308u), server.foreign_url() + path);
    server.reset_counters();
    auto const e = error_of(ioc, resubmit_errored_instances(c, {"A", "B"}));
    CHECK(e.code() == error::redirect_refused);
    auto const n = server.get_counters();
    CHECK(n.foreign_requests == 0);
    CHECK(n.foreign_body_bytes == 0);
    CHECK(n.foreign_authorization_headers == 0);
    CHECK(n.design_write_requests == 1);
}

// ---- Importing archives: uploads the mock reads as they arrive, answers before their body -------

namespace {

namespace bhttp = boost::beast::http;
using raw_response = bhttp::response<bhttp::string_body>;

constexpr char archive_path[] = "/ic/api/integration/v1/integrations/archive";
/// Quoted in Content-Type: it holds characters a token may not.
constexpr char form_boundary[] = "oic-test Boundary'()+_,./:=?5Qx";

std::string form_type() {
    return std::string("multipart/form-data; boundary=\"") + form_boundary + "\"";
}

/// A form with a text part, then the part `file` holding `content`.
std::string archive_form(std::string_view content, std::string_view filename = "flow.iar") {
    std::string const dash = std::string("--") + form_boundary;
    return dash + "\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nimported by a test\r\n" + dash +
           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + std::string(filename) +
           "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + std::string(content) + "\r\n" + dash + "--\r\n";
}

/// `method` of `body` to the import route through `c` (with its token and integrationInstance).
http::reply send_import(asio::io_context& ioc, client const& c, bhttp::verb method, std::string body,
                        std::string const& content_type = form_type()) {
    http::request req{method, "/", 11};
    req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    diagnostics d;
    auto [ec, url, answer] = run(ioc, c.call(archive_path, {}, std::move(req), d));
    REQUIRE_FALSE(ec);
    return answer;
}

/// The `message` of an Oracle-style error body.
std::string error_message(std::string const& body) {
    boost::system::error_code ec;
    auto const v = boost::json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("message"))
        return "(not an error body: " + body + ")";
    return std::string(v.at("message").as_string());
}

/// `Bearer <token>` from the mock's token endpoint.
std::string bearer_for(asio::io_context& ioc, testing::mock_server const& m) {
    http::session session(ioc.get_executor(), {.ca_file = m.ca_file()});
    auto const token = run(ioc, fetch_token(session, oic_test::credentials_for(m)));
    return "Bearer " + std::string(token.value.reveal());
}

/// The request head of an upload to the import route: with `Content-Length: length`, or chunked
/// when there is none.
std::string upload_head(bhttp::verb method, testing::mock_server const& m, std::string const& bearer,
                        std::optional<std::size_t> length, bool expect_continue) {
    std::string head = std::string(bhttp::to_string(method)) + " " + archive_path +
                       "?integrationInstance=" + m.options().integration_instance + " HTTP/1.1\r\nHost: oic\r\n";
    if (!bearer.empty())
        head += "Authorization: " + bearer + "\r\n";
    head += "Content-Type: " + form_type() + "\r\n";
    head += length ? "Content-Length: " + std::to_string(*length) + "\r\n" : "Transfer-Encoding: chunked\r\n";
    if (expect_continue)
        head += "Expect: 100-continue\r\n";
    return head + "\r\n";
}

/**
 * One TLS connection to a mock host, HTTP/1.1 written by hand: for what the library never sends
 * (`Expect: 100-continue`, a body in pieces of chosen sizes, each its own TLS record) and for
 * reading answers between pieces. Every operation gives up after 10 s.
 */
class raw_tls {
public:
    raw_tls(asio::io_context& ioc, std::string const& ca_file)
        : tls_(context_for(ca_file)), stream_(ioc.get_executor(), tls_) {}

    asio::awaitable<void> connect(std::string const& base_url) {
        auto const url = boost::urls::parse_uri(base_url).value();
        asio::ip::tcp::endpoint const peer(asio::ip::make_address(url.host()),
                                           static_cast<unsigned short>(std::stoi(url.port())));
        stream_.next_layer().expires_after(10s);
        co_await stream_.next_layer().async_connect(peer, asio::use_awaitable);
        co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    }

    /// Writes `bytes` in pieces of at most `piece` bytes, one write (one TLS record) each.
    asio::awaitable<void> send(std::string_view bytes, std::size_t piece = 16 * 1024) {
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            stream_.next_layer().expires_after(10s);
            co_await asio::async_write(stream_, asio::buffer(bytes.substr(at, piece)), asio::use_awaitable);
        }
    }

    /// Reads one answer, interim (`100 Continue`) or final.
    asio::awaitable<raw_response> read() {
        bhttp::response_parser<bhttp::string_body> parser;
        stream_.next_layer().expires_after(10s);
        co_await bhttp::async_read(stream_, buffer_, parser, asio::use_awaitable);
        co_return parser.release();
    }

    /// Reads until the server closes the connection: true if it did within 10 s.
    asio::awaitable<bool> closed_by_server() {
        stream_.next_layer().expires_after(10s);
        char sink[4096];
        for (;;) {
            auto [ec, n] = co_await stream_.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return ec != boost::beast::error::timeout;
        }
    }

    /// Closes the connection without a word, as a client that gives up does.
    void close() { stream_.next_layer().socket().close(); }

private:
    static asio::ssl::context context_for(std::string const& ca_file) {
        asio::ssl::context tls(asio::ssl::context::tls_client);
        tls.load_verify_file(ca_file);
        tls.set_verify_mode(asio::ssl::verify_peer);
        return tls;
    }

    asio::ssl::context tls_;
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
    boost::beast::flat_buffer buffer_;
};

} // namespace

TEST_CASE("import an archive: 204 with Location, 409 for an existing one; replace: 200, 404, 423; byte-exact",
          "[integration][upload]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    std::string const id = "IMPORTED_FLOW|01.00.0000";
    auto const archive = testing::make_mock_archive(id, 300 * 1024 + 7);
    auto const form = archive_form(archive);
    server.reset_counters();

    auto const added = send_import(ioc, c, bhttp::verb::post, form);
    CHECK(added.message.result_int() == 204);
    CHECK(added.message[bhttp::field::location] ==
          server.design_url() + "/ic/api/integration/v1/integrations/IMPORTED_FLOW%7C01.00.0000");
    auto const first = server.last_import(id);
    REQUIRE(first);
    CHECK(*first == testing::imported_archive{archive.size(), testing::sha256_hex(archive), "flow.iar", 1});
    auto n = server.get_counters();
    CHECK(n.design_api_requests == 1);
    CHECK(n.design_write_requests == 1);
    CHECK(n.design_body_bytes == form.size());

    // The new integration, as the item and in the lists.
    auto const item = run(ioc, get_integration(c, id));
    CHECK(item.status == "CONFIGURED");
    CHECK(item.code == "IMPORTED_FLOW");
    CHECK(item.version == "01.00.0000");
    CHECK(item.name == "IMPORTED_FLOW");
    integrations_query by_name;
    by_name.q = "{name: 'IMPORTED_FLOW'}";
    CHECK(run(ioc, get_integrations(c, by_name)).items.size() == 1);
    CHECK(run(ioc, get_integrations(c, integrations_query{})).total_results == 41);

    // Added again: 409, nothing recorded.
    auto const again = send_import(ioc, c, bhttp::verb::post, form);
    CHECK(again.message.result_int() == 409);
    CHECK(error_message(again.message.body()) == "Integration 'IMPORTED_FLOW|01.00.0000' already exists.");
    CHECK(server.last_import(id)->imports == 1);

    // Replaced: 200 with the integration as GET gives it, and the new file recorded.
    auto const newer = testing::make_mock_archive(id, 64 * 1024);
    auto const replaced = send_import(ioc, c, bhttp::verb::put, archive_form(newer, "newer.iar"));
    CHECK(replaced.message.result_int() == 200);
    CHECK(boost::json::parse(replaced.message.body()) ==
          run(ioc, c.get_json("/ic/api/integration/v1/integrations/" + http::path_segment(id))));
    CHECK(*server.last_import(id) ==
          testing::imported_archive{newer.size(), testing::sha256_hex(newer), "newer.iar", 2});

    // Replacing one that does not exist: 404, nothing recorded.
    std::string const missing = "NO_SUCH_FLOW|01.00.0000";
    auto const absent = send_import(ioc, c, bhttp::verb::put, archive_form(testing::make_mock_archive(missing, 1000)));
    CHECK(absent.message.result_int() == 404);
    CHECK(error_message(absent.message.body()) == "Integration 'NO_SUCH_FLOW|01.00.0000' was not found.");
    CHECK_FALSE(server.last_import(missing));

    // Locked: 423.
    server.set_integration_locked(id, true);
    auto const locked = send_import(ioc, c, bhttp::verb::put, archive_form(newer));
    CHECK(locked.message.result_int() == 423);
    CHECK(server.last_import(id)->imports == 2);
    server.set_integration_locked(id, false);

    // What the mock exports imports again, as the same integration.
    auto const existing = integration_with_status(ioc, c, "ACTIVATED");
    oic_test::scratch_folder folder;
    auto const exported = run(ioc, export_integration(c, existing, folder.path() / "exported.iar"));
    auto const bytes = oic_test::read_file(exported.path);
    CHECK(send_import(ioc, c, bhttp::verb::put, archive_form(bytes)).message.result_int() == 200);
    REQUIRE(server.last_import(existing));
    CHECK(server.last_import(existing)->sha256 == server.archive_sha256(existing));
    CHECK(server.last_import(existing)->size == bytes.size());
    CHECK(send_import(ioc, c, bhttp::verb::post, archive_form(bytes)).message.result_int() == 409);

    // Other methods: 405, each allowed one named once (POST is also `integrations/{id}`'s).
    diagnostics d;
    auto const [ec, url, other] = run(ioc, c.call(archive_path, {}, http::request{bhttp::verb::delete_, "/", 11}, d));
    REQUIRE_FALSE(ec);
    CHECK(other.message.result_int() == 405);
    CHECK(other.message[bhttp::field::allow] == "POST, PUT, GET");
}

TEST_CASE("import through the runtime host: the 307 replays the upload to the design host; the runtime host reads "
          "a small body first, drops a large one after answering",
          "[integration][upload][redirect]") {
    testing::mock_server server;
    asio::io_context ioc;
    auto const size = GENERATE(std::size_t{200 * 1024}, std::size_t{2 * 1024 * 1024 + 3});
    CAPTURE(size);
    std::string const id = "VIA_RUNTIME|01.00.0000";
    auto const archive = testing::make_mock_archive(id, size);
    auto const form = archive_form(archive);
    client c(ioc.get_executor(), config_for(server)); // through the runtime host
    server.reset_counters();
    auto const answer = send_import(ioc, c, bhttp::verb::post, form);
    CHECK(answer.message.result_int() == 204);
    REQUIRE(server.last_import(id));
    CHECK(server.last_import(id)->sha256 == testing::sha256_hex(archive));
    auto const n = server.get_counters();
    CHECK(n.runtime_write_requests == 1);
    CHECK(n.redirects == 1);
    CHECK(n.runtime_body_bytes == form.size()); // the client sent it whole (no Expect), the host read it all
    CHECK(n.design_write_requests == 1);
    CHECK(n.design_body_bytes == form.size());
    CHECK(n.design_authorization_headers == 1);
}

TEST_CASE("a malformed upload gets 400 naming what is wrong, and imports nothing", "[integration][upload]") {
    testing::mock_server server;
    asio::io_context ioc;
    client c(ioc.get_executor(), oic_test::config_for(server, server.design_url()));
    std::string const id = "MALFORMED|01.00.0000";
    auto const archive = testing::make_mock_archive(id, 5000);
    std::string const dash = std::string("--") + form_boundary;
    std::string const whole = archive_form(archive);
    std::string const file_part = "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.iar\"\r\n\r\n";
    struct refused {
        std::string what, body, content_type;
        unsigned status;
        std::string message;
    };
    std::vector<refused> const cases{
        {"no close delimiter", whole.substr(0, whole.size() - dash.size() - 4), form_type(), 400,
         "The multipart body ended before its close delimiter --" + std::string(form_boundary) + "--."},
        {"no file part",
         dash + "\r\nContent-Disposition: form-data; name=\"upload\"\r\n\r\n" + archive + "\r\n" + dash + "--",
         form_type(), 400, "No file is uploaded: the form has no part named \"file\"."},
        {"two file parts", dash + file_part + archive + "\r\n" + dash + file_part + archive + "\r\n" + dash + "--",
         form_type(), 400, "The form has more than one part named \"file\"."},
        {"a part without Content-Disposition",
         dash + "\r\nContent-Type: application/octet-stream\r\n\r\n" + archive + "\r\n" + dash + "--", form_type(), 400,
         "A part has no Content-Disposition header (RFC 7578 requires form-data with a name)."},
        {"no boundary", whole, "multipart/form-data", 400,
         "The multipart/form-data Content-Type has no boundary parameter."},
        {"a boundary over 70 characters", whole, "multipart/form-data; boundary=" + std::string(71, 'b'), 400,
         "The multipart boundary '" + std::string(71, 'b') + "' is invalid"},
        {"a boundary with a character RFC 2046 does not allow", whole, "multipart/form-data; boundary=\"a[b]\"", 400,
         "The multipart boundary 'a[b]' is invalid"},
        {"another boundary than the body's", whole, "multipart/form-data; boundary=other", 400,
         "ended before its close delimiter --other-- (and before any delimiter line)."},
        {"not a form", archive, "application/octet-stream", 415,
         "The body must be multipart/form-data, not 'application/octet-stream'."},
        {"no body", "", form_type(), 400, "ended before its close delimiter"},
        {"a file that is no mock archive", archive_form("PK\x03\x04 a zip file\n"), form_type(), 400,
         "The file is not an integration archive: its first line is not 'OIC-MOCK-IAR CODE|VERSION'."},
        {"an archive id without a version", archive_form("OIC-MOCK-IAR JUST_A_CODE\nbytes"), form_type(), 400,
         "The file is not an integration archive"},
    };
    server.reset_counters();
    for (auto const& r : cases) {
        CAPTURE(r.what);
        auto const answer = send_import(ioc, c, bhttp::verb::post, r.body, r.content_type);
        CHECK(answer.message.result_int() == r.status);
        CHECK_THAT(error_message(answer.message.body()), Catch::Contains(r.message));
    }
    auto const n = server.get_counters();
    CHECK(n.design_api_requests == cases.size()); // each passed the token check on its header
    CHECK_FALSE(server.last_import(id));
    CHECK_FALSE(server.last_import("JUST_A_CODE"));
    CHECK(run(ioc, get_integrations(c, integrations_query{})).total_results == 40);
    // Still well: the same upload, well formed.
    CHECK(send_import(ioc, c, bhttp::verb::post, whole).message.result_int() == 204);
}

TEST_CASE("an upload in pieces of 1 to 7 bytes, each its own TLS record, with the boundary in the file where it is no "
          "delimiter, imports byte-exact; chunked too",
          "[integration][upload]") {
    testing::mock_server server;
    asio::io_context ioc;
    auto const bearer = bearer_for(ioc, server);
    std::string const id = "PIECES_FLOW|01.00.0000";
    std::string const b = form_boundary;
    // After LF, CR or text, or after CRLF but cut short: legal content, whatever the read sizes.
    std::string const content = testing::make_mock_archive(id, 600) + "--" + b + "\n--" + b + "\r--" + b +
                                "--\r\n-\r\n--" + b.substr(0, b.size() - 1) + "\r\r\n\r";
    auto const form = archive_form(content);
    server.reset_counters();

    raw_tls post(ioc, server.ca_file());
    auto const added = run(ioc, [&]() -> asio::awaitable<raw_response> {
        co_await post.connect(server.design_url());
        co_await post.send(upload_head(bhttp::verb::post, server, bearer, form.size(), false));
        for (std::size_t at = 0, k = 0; at < form.size(); ++k) {
            std::size_t const n = 1 + k % 7;
            co_await post.send(std::string_view(form).substr(at, n));
            at += n;
        }
        co_return co_await post.read();
    }());
    CHECK(added.result_int() == 204);
    REQUIRE(server.last_import(id));
    CHECK(*server.last_import(id) ==
          testing::imported_archive{content.size(), testing::sha256_hex(content), "flow.iar", 1});
    CHECK(server.get_counters().design_body_bytes == form.size());

    // Chunked, chunks of 1 to 300 bytes (framing is not counted as body).
    raw_tls put(ioc, server.ca_file());
    auto const replaced = run(ioc, [&]() -> asio::awaitable<raw_response> {
        co_await put.connect(server.design_url());
        co_await put.send(upload_head(bhttp::verb::put, server, bearer, std::nullopt, false));
        for (std::size_t at = 0, k = 0; at < form.size(); ++k) {
            std::size_t const n = std::min(form.size() - at, 1 + (k * 37) % 300);
            std::ostringstream size;
            size << std::hex << n;
            co_await put.send(size.str() + "\r\n" + form.substr(at, n) + "\r\n");
            at += n;
        }
        co_await put.send("0\r\n\r\n");
        co_return co_await put.read();
    }());
    CHECK(replaced.result_int() == 200);
    CHECK(server.last_import(id)->imports == 2);
    CHECK(server.last_import(id)->sha256 == testing::sha256_hex(content));
    CHECK(server.get_counters().design_body_bytes == 2 * form.size());
}

TEST_CASE("Expect: 100-continue: the runtime host's 307, a refused token and a missing route come before any body "
          "byte; an accepted upload gets 100 Continue",
          "[integration][upload][redirect]") {
    testing::mock_server server;
    asio::io_context ioc;
    auto const bearer = bearer_for(ioc, server);
    std::string const id = "EXPECT_FLOW|01.00.0000";
    auto const form = archive_form(testing::make_mock_archive(id, 3 * 1024 * 1024));
    auto const head = upload_head(bhttp::verb::post, server, bearer, form.size(), true);
    server.reset_counters();

    // Sends `request_head` and reads the first answer, without a byte of the body.
    auto const first_answer = [&](std::string const& base_url, std::string const& request_head) {
        raw_tls conn(ioc, server.ca_file());
        auto answer = run(ioc, [&]() -> asio::awaitable<raw_response> {
            co_await conn.connect(base_url);
            co_await conn.send(request_head);
            co_return co_await conn.read();
        }());
        conn.close(); // the body is not sent: a client that got a final answer gives up
        return answer;
    };
    for (std::size_t const length : {form.size(), std::size_t{1000}}) { // over 1 MiB, and a small one
        CAPTURE(length);
        auto const redirected =
            first_answer(server.runtime_url(), upload_head(bhttp::verb::post, server, bearer, length, true));
        CHECK(redirected.result_int() == 307);
        CHECK(redirected[bhttp::field::location] ==
              server.design_url() + archive_path + "?integrationInstance=" + server.options().integration_instance);
        CHECK_FALSE(redirected.keep_alive());
    }

    auto const refused =
        first_answer(server.design_url(), upload_head(bhttp::verb::post, server, "Bearer not-a-token", 1000, true));
    CHECK(refused.result_int() == 401);
    CHECK_FALSE(refused.keep_alive());

    std::string no_route = upload_head(bhttp::verb::post, server, bearer, 1000, true); // small: only Expect decides
    no_route.replace(no_route.find("/integrations/archive?"), 21, "/nothing-here");    // no route, any method
    auto const nothing = first_answer(server.design_url(), no_route);
    CHECK(nothing.result_int() == 404);
    CHECK_FALSE(nothing.keep_alive());

    raw_tls conn(ioc, server.ca_file());
    auto const [proceed, done] = run(ioc, [&]() -> asio::awaitable<std::pair<raw_response, raw_response>> {
        co_await conn.connect(server.design_url());
        co_await conn.send(head);
        auto proceed = co_await conn.read();
        co_await conn.send(form);
        co_return std::pair{std::move(proceed), co_await conn.read()};
    }());
    CHECK(proceed.result_int() == 100);
    CHECK(done.result_int() == 204);
    CHECK(done.keep_alive());
    REQUIRE(server.last_import(id));
    CHECK(server.last_import(id)->size == 3 * 1024 * 1024);

    auto const n = server.get_counters();
    CHECK(n.runtime_body_bytes == 0); // Expect kept the body from the runtime host...
    CHECK(n.runtime_write_requests == 2);
    CHECK(n.redirects == 2);
    CHECK(n.unauthorized == 1);
    CHECK(n.design_body_bytes == form.size()); // ...and from the refusals: it went once, where accepted
}

TEST_CASE("a client that sends its body without waiting gets the early answer while uploading; the host reads the "
          "rest, counts it and closes",
          "[integration][upload][redirect]") {
    testing::mock_server server;
    asio::io_context ioc;
    auto const bearer = bearer_for(ioc, server);
    std::string const id = "EAGER_FLOW|01.00.0000";
    auto const form = archive_form(testing::make_mock_archive(id, 4 * 1024 * 1024));
    std::size_t const ahead = 256 * 1024; // sent before reading the answer
    server.reset_counters();

    auto const upload = [&](std::string const& base_url, std::string const& request_head, std::string_view body) {
        raw_tls conn(ioc, server.ca_file());
        return run(ioc, [&]() -> asio::awaitable<std::pair<raw_response, bool>> {
            co_await conn.connect(base_url);
            co_await conn.send(request_head);
            co_await conn.send(body.substr(0, ahead));
            auto answer = co_await conn.read(); // while most of the body is still to go
            co_await conn.send(body.substr(ahead));
            co_return std::pair{std::move(answer), co_await conn.closed_by_server()};
        }());
    };

    SECTION("the runtime host's 307") {
        auto const [answer, closed] =
            upload(server.runtime_url(), upload_head(bhttp::verb::post, server, bearer, form.size(), false), form);
        CHECK(answer.result_int() == 307);
        CHECK_FALSE(answer.keep_alive());
        CHECK(closed);
        auto const n = server.get_counters();
        CHECK(n.runtime_body_bytes == form.size());
        CHECK(n.design_body_bytes == 0);
        CHECK_FALSE(server.last_import(id));
    }
    SECTION("413 for a body over 1 MiB on a route that reads bodies whole") {
        std::string const body(2 * 1024 * 1024, '{');
        std::string const request_head = "POST /ic/api/integration/v1/integrations/X%7C01?integrationInstance=" +
                                         server.options().integration_instance + " HTTP/1.1\r\nHost: oic\r\n" +
                                         "Authorization: " + bearer + "\r\nContent-Type: application/json\r\n" +
                                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        auto const [answer, closed] = upload(server.design_url(), request_head, body);
        CHECK(answer.result_int() == 413);
        CHECK(error_message(answer.body()) == "The request body exceeds 1 MiB.");
        CHECK_FALSE(answer.keep_alive());
        CHECK(closed);
        CHECK(server.get_counters().design_body_bytes == body.size());
    }
    SECTION("a form the reader refuses midway: 400 before the rest") {
        std::string broken = form;
        broken.replace(broken.find("\r\n\r\n") - 1, 1, "\"\r\nX"); // a header line without a colon
        CHECK(broken.size() == form.size() + 3);
        auto const [answer, closed] =
            upload(server.design_url(), upload_head(bhttp::verb::post, server, bearer, broken.size(), false), broken);
        CHECK(answer.result_int() == 400);
        CHECK(error_message(answer.body()) == "A part header line is malformed: 'X'.");
        CHECK_FALSE(answer.keep_alive());
        CHECK(closed);
        CHECK(server.get_counters().design_body_bytes == broken.size());
        CHECK_FALSE(server.last_import(id));
    }
}

TEST_CASE("a server that ignores Expect: no 100 Continue, the body read when it comes; set_honour_expect switches",
          "[integration][upload][redirect]") {
    testing::mock_options options;
    options.honour_expect = false;
    testing::mock_server server(options);
    asio::io_context ioc;
    auto const bearer = bearer_for(ioc, server);
    std::string const id = "IGNORED_EXPECT|01.00.0000";
    auto const archive = testing::make_mock_archive(id, 100 * 1024);
    auto const form = archive_form(archive);

    // Sends the head with Expect, waits as curl does when no 100 Continue comes, sends the body:
    // the statuses of the answers then read, up to the final one.
    auto const upload = [&](std::string const& base_url, bhttp::verb method) {
        raw_tls conn(ioc, server.ca_file());
        return run(ioc, [&]() -> asio::awaitable<std::vector<unsigned>> {
            co_await conn.connect(base_url);
            co_await conn.send(upload_head(method, server, bearer, form.size(), true));
            asio::steady_timer pause(co_await asio::this_coro::executor, 300ms);
            co_await pause.async_wait(asio::use_awaitable);
            co_await conn.send(form);
            std::vector<unsigned> statuses;
            do
                statuses.push_back((co_await conn.read()).result_int());
            while (statuses.back() == 100);
            co_return statuses;
        }());
    };
    server.reset_counters();
    CHECK(upload(server.design_url(), bhttp::verb::post) == std::vector<unsigned>{204});
    REQUIRE(server.last_import(id));
    CHECK(server.last_import(id)->sha256 == testing::sha256_hex(archive));
    // The runtime host reads a small body before it answers, as a server that ignores Expect does.
    CHECK(upload(server.runtime_url(), bhttp::verb::post) == std::vector<unsigned>{307});
    CHECK(server.get_counters().runtime_body_bytes == form.size());

    server.set_honour_expect(true);
    CHECK(upload(server.design_url(), bhttp::verb::put) == std::vector<unsigned>{100, 200});
    CHECK(server.last_import(id)->imports == 2);
    server.set_honour_expect(false);
    CHECK(upload(server.design_url(), bhttp::verb::put) == std::vector<unsigned>{200});
    CHECK(server.get_counters().design_body_bytes == 3 * form.size());
}

TEST_CASE("curl -F uploads an archive through the runtime host: Expect keeps the body from it, the design host "
          "imports it byte-exact",
          "[integration][upload][redirect][curl]") {
    REQUIRE(std::system("command -v curl >/dev/null 2>&1") == 0); // scripts/install-deps.sh installs it
    testing::mock_server server;
    asio::io_context ioc;
    auto const bearer = bearer_for(ioc, server);
    std::string const id = "CURL_FLOW|01.00.0000";
    auto const archive = testing::make_mock_archive(id, 1024 * 1024 + 5);
    oic_test::scratch_folder folder;
    auto const file = folder.path() / "curl flow.iar";
    {
        std::ofstream out(file, std::ios::binary);
        out << archive;
    }
    server.reset_counters();
    std::string const url =
        server.runtime_url() + archive_path + "?integrationInstance=" + server.options().integration_instance;
    auto const status_file = folder.path() / "status";
    std::string const command = "curl -sS --cacert '" + server.ca_file() + "' -H 'Authorization: " + bearer +
                                "' -H 'Expect: 100-continue' --location-trusted -F 'file=@\"" + file.string() +
                                "\";filename=curl.iar' -o /dev/null -w '%{http_code}' '" + url + "' > '" +
                                status_file.string() + "'";
    CHECK(std::system(command.c_str()) == 0);
    CHECK(oic_test::read_file(status_file) == "204");
    REQUIRE(server.last_import(id));
    CHECK(*server.last_import(id) ==
          testing::imported_archive{archive.size(), testing::sha256_hex(archive), "curl.iar", 1});
    auto const n = server.get_counters();
    CHECK(n.runtime_write_requests == 1);
    CHECK(n.runtime_body_bytes == 0);
    CHECK(n.design_body_bytes > archive.size());
    CHECK(n.design_body_bytes < archive.size() + 1024); // the form around it: a few hundred bytes
}
