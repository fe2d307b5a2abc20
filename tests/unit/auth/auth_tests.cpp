// oic/auth, sans-io: the token request (client_secret_basic and _post), the token answer, and the
// shared token's machine step by step.

#include "common.hpp"

#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace oic;
using oic_test::error_of;
namespace bhttp = boost::beast::http;

// The library's sans-io steps report errors as values; these tests read them as exceptions
// (error_of), so each step gets a throwing wrapper here.
namespace {
access_token parse_token(unsigned status, std::string_view body, std::chrono::seconds default_expires_in) {
    access_token t;
    diagnostics d;
    if (auto ec = detail::parse_token_response(status, body, default_expires_in, t, d))
        fail(ec, std::move(d));
    return t;
}

void check_credentials(client_credentials const& c) {
    diagnostics d;
    if (auto ec = detail::check_credentials(c, d))
        fail(ec, std::move(d));
}
} // namespace

namespace {
client_credentials sample_credentials(client_auth auth) {
    client_credentials c;
    c.token_url = "https://idcs.example.com/oauth2/v1/token";
    c.client_id = "my id:1";
    c.client_secret = secret("s3cr3t+/ &x");
    c.scope = "https://abc.integration.ocp.oraclecloud.com:443urn:opc:resource:consumer::all";
    c.auth = auth;
    return c;
}
} // namespace

TEST_CASE("token request, client_secret_basic encodes id and secret before base64 (RFC 6749 2.3.1)", "[unit][token]") {
    auto const req = detail::make_token_request(sample_credentials(client_auth::basic));
    CHECK(req.method() == bhttp::verb::post);
    CHECK(req[bhttp::field::content_type] == "application/x-www-form-urlencoded;charset=UTF-8");
    // base64("my+id%3A1:s3cr3t%2B%2F+%26x")
    CHECK(req[bhttp::field::authorization] == "Basic " + detail::base64("my+id%3A1:s3cr3t%2B%2F+%26x"));
    CHECK(detail::base64("my+id%3A1:s3cr3t%2B%2F+%26x") == "bXkraWQlM0ExOnMzY3IzdCUyQiUyRislMjZ4");
    CHECK(req.body() == "grant_type=client_credentials&scope=https%3A%2F%2Fabc.integration.ocp.oraclecloud.com"
                        "%3A443urn%3Aopc%3Aresource%3Aconsumer%3A%3Aall");
}

TEST_CASE("token request, client_secret_post puts credentials in the body only", "[unit][token]") {
    auto const req = detail::make_token_request(sample_credentials(client_auth::post));
    CHECK(req.find(bhttp::field::authorization) == req.end());
    CHECK(req.body().ends_with("&client_id=my+id%3A1&client_secret=s3cr3t%2B%2F+%26x"));
}

TEST_CASE("token request refuses empty credentials", "[unit][token]") {
    auto c = sample_credentials(client_auth::basic);
    c.client_secret = secret();
    CHECK(error_of([&] { check_credentials(c); }).code() == error::bad_config);
    c = sample_credentials(client_auth::basic);
    c.client_id.clear();
    CHECK(error_of([&] { check_credentials(c); }).code() == error::bad_config);
}

TEST_CASE("token answer parsing", "[unit][token]") {
    using std::chrono::seconds;
    auto const ok = parse_token(200, R"({"access_token":"eyJabc","token_type":"bearer","expires_in":1800,"scope":"x"})",
                                seconds(3600));
    CHECK(ok.value.reveal() == "eyJabc");
    CHECK(ok.token_type == "bearer");
    CHECK(ok.expires_in == seconds(1800));
    CHECK(ok.scope == "x");

    SECTION("every b64token character is accepted") {
        auto const t = parse_token(200, R"({"access_token":"aZ09-._~+/xyz==","token_type":"Bearer"})", seconds(1));
        CHECK(t.value.reveal() == "aZ09-._~+/xyz==");
    }
    SECTION("server text in diagnostics is escaped") {
        auto const e = error_of([] {
            parse_token(400, "{\"error\":\"invalid_scope\\u001b[2J\",\"error_description\":\"bad\\r\\nforged\"}",
                        seconds(1));
        });
        CHECK(e.get_diagnostics().server_code == "invalid_scope\\x1b[2J");
        CHECK(e.get_diagnostics().server_message == "bad\\x0d\\x0aforged");
        CHECK(std::string(e.what()).find_first_of("\x1b\r\n") == std::string::npos);
    }
    SECTION("missing expires_in takes the configured default") {
        auto const t = parse_token(200, R"({"access_token":"a","token_type":"Bearer"})", seconds(42));
        CHECK(t.expires_in == seconds(42));
    }
    SECTION("each malformed answer has its own error, and no error text holds the token") {
        struct bad_case {
            unsigned status;
            char const* body;
            error expected;
        };
        bad_case const cases[] = {
            {200, "not json at all SECRET_TOKEN", error::token_not_json},
            {200, "", error::token_not_json},
            {200, R"(["SECRET_TOKEN"])", error::token_not_json},
            {200, R"({"token_type":"Bearer"})", error::token_missing_field},
            {200, R"({"access_token":"SECRET_TOKEN"})", error::token_missing_field},
            {200, R"({"access_token":42,"token_type":"Bearer"})", error::token_bad_field_type},
            {200, R"({"access_token":"","token_type":"Bearer"})", error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN","token_type":7})", error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN","token_type":"Bearer","expires_in":"3600"})",
             error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN","token_type":"Bearer","expires_in":-5})",
             error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN","token_type":"Bearer","expires_in":0.5})",
             error::token_bad_field_type}, // found by fuzz-token: would truncate to a 0 s lifetime
            {200, R"({"access_token":"SECRET_TOKEN","token_type":"Bearer","scope":[]})", error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN","token_type":"MAC"})", error::token_unsupported_type},
            // fields swapped by the server: the token is in token_type, and the message must not show it
            {200, R"({"access_token":"Bearer","token_type":"SECRET_TOKEN.eyJhbGciOiJSUzI1NiJ9"})",
             error::token_unsupported_type},
            // RFC 6750 b64token only: nothing else ever reaches an Authorization header
            {200, R"({"access_token":"SECRET_TOKEN\r\nX-Injected: 1","token_type":"Bearer"})",
             error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN with space","token_type":"Bearer"})", error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN=inside","token_type":"Bearer"})", error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN\u00e9","token_type":"Bearer"})", error::token_bad_field_type},
            {200, R"({"access_token":"SECRET_TOKEN\u0000","token_type":"Bearer"})", error::token_bad_field_type},
            {200, R"({"access_token":"==","token_type":"Bearer"})", error::token_bad_field_type},
            {503, "", error::token_http_status},
            {502, "<html>bad gateway SECRET_TOKEN</html>", error::token_http_status},
        };
        for (auto const& c : cases) {
            INFO(c.status << " " << c.body);
            auto const e = error_of([&] { parse_token(c.status, c.body, seconds(1)); });
            CHECK(e.code() == c.expected);
            CHECK(e.get_diagnostics().http_status == c.status);
            CHECK(std::string(e.what()).find("SECRET_TOKEN") == std::string::npos);
        }
    }
    SECTION("RFC 6749 5.2 error bodies keep the server's words apart") {
        auto const e = error_of([] {
            parse_token(401, R"({"error":"invalid_client","error_description":"Client authentication failed."})",
                        seconds(1));
        });
        CHECK(e.code() == error::token_rejected);
        CHECK(e.get_diagnostics().server_code == "invalid_client");
        CHECK(e.get_diagnostics().server_message == "Client authentication failed.");
        CHECK(std::string(e.what()).find("invalid_client") != std::string::npos);
        CHECK(e.code() == condition::token_endpoint);
    }
}

namespace {
token_ptr token_for(std::chrono::seconds life) {
    access_token t;
    t.expires_in = life;
    return std::make_shared<access_token const>(std::move(t));
}
} // namespace

TEST_CASE("the shared token's machine, step by step", "[unit][token]") {
    using detail::token_machine;
    using answer = token_machine::answer;
    using namespace std::chrono_literals;
    token_machine m({.refresh_ahead = 5min, .expiry_margin = 30s, .failure_backoff = 1s});
    auto const t0 = token_machine::time_point{} + 1h;

    // Empty: the first caller starts the fetch, the others wait for it; nobody is served.
    CHECK(m.on_request(t0) == answer::fetch_and_wait);
    CHECK(m.on_request(t0) == answer::wait);
    CHECK(m.fetching());
    CHECK(m.backoff_left(t0) == 0s); // no failure yet: at once

    // A failure: waiters get it, the next caller starts one fetch, which waits out the backoff.
    m.on_fetched(t0, t0 + 100ms, nullptr);
    CHECK_FALSE(m.fetching());
    CHECK(m.current() == nullptr);
    CHECK(m.on_request(t0 + 200ms) == answer::fetch_and_wait);
    CHECK(m.backoff_left(t0 + 100ms) == 1s);
    CHECK(m.backoff_left(t0 + 600ms) == 500ms);
    CHECK(m.backoff_left(t0 + 5s) == 0s); // past it: at once, never negative

    // A 3600 s token fetched from t1: expiry 30 s early, refresh 5 min before that.
    auto const t1 = t0 + 2s;
    auto const token = token_for(3600s);
    m.on_fetched(t1, t1 + 50ms, token);
    CHECK(m.current() == token);
    CHECK(m.expires_at() == t1 + 3600s - 30s);
    CHECK(m.refresh_at() == m.expires_at() - 5min);
    CHECK(m.serve_until() == m.refresh_at());
    CHECK(m.backoff_left(t1) == 0s); // a success clears the backoff
    CHECK(m.on_request(t1 + 1min) == answer::current);

    // Inside the refresh window: served at once, one refresh starts, later callers are just served.
    CHECK(m.on_request(m.refresh_at()) == answer::current_refresh);
    CHECK(m.serve_until() == m.expires_at()); // the hot path keeps serving until expiry meanwhile
    CHECK(m.on_request(m.refresh_at() + 1s) == answer::current);
    // The refresh fails: the current token still serves until it expires; then callers wait.
    m.on_fetched(m.refresh_at(), m.refresh_at() + 2s, nullptr);
    CHECK(m.current() == token);
    CHECK(m.on_request(m.refresh_at() + 3s) == answer::current_refresh); // the next caller retries
    m.on_fetched(m.refresh_at() + 4s, m.refresh_at() + 5s, nullptr);
    CHECK(m.on_request(m.expires_at()) == answer::fetch_and_wait);
    CHECK(m.on_request(m.expires_at()) == answer::wait);

    // A 401: only the token that got it is dropped, once, and the next fetch starts with the drop
    // (it tells the source first), so callers wait for it instead of starting their own.
    using rejection = oic::detail::token_machine::rejection;
    auto const t2 = m.expires_at() + 1s;
    auto const next = token_for(3600s);
    m.on_fetched(t2, t2, next);
    CHECK(m.on_rejected(token) == rejection::stale); // an older token: the current one stays
    CHECK(m.current() == next);
    CHECK(m.on_rejected(next) == rejection::refetch);
    CHECK(m.fetching());
    CHECK(m.on_rejected(next) == rejection::stale);
    CHECK(m.current() == nullptr);
    CHECK(m.on_request(t2 + 1s) == answer::wait);
    auto const again = token_for(3600s);
    m.on_fetched(t2 + 1s, t2 + 2s, again);
    // Refused while a refresh is in flight already: dropped, and that fetch brings the next one.
    CHECK(m.on_request(m.refresh_at()) == answer::current_refresh);
    CHECK(m.on_rejected(again) == rejection::dropped);
    CHECK(m.on_request(m.refresh_at()) == answer::wait);
    m.on_fetched(m.refresh_at(), m.refresh_at(), next);
    CHECK(m.on_request(t2 + 3s) == answer::current);

    // A short-lived token: the margins are clamped to its lifetime.
    auto const t3 = t2 + 2s;
    m.on_fetched(t3, t3, token_for(60s));
    CHECK(m.expires_at() == t3 + 60s - 6s);        // a tenth of the lifetime, not 30 s
    CHECK(m.refresh_at() == m.expires_at() - 30s); // half of it, not 5 min
}
