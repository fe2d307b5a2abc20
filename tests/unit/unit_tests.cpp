// Sans-io parts: encoders, token request and answer, connection parsers, redirect decisions.

#include "common.hpp"

#include <oic/oic.hpp>
#include <oic/redis/detail/sealed_token.hpp>
#include <oic/testing/detail/integration_catalog.hpp>
#include <oic/testing/detail/monitoring_catalog.hpp>
#include <oic/testing/detail/multipart_reader.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/url/parse_query.hpp>

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
template <class Policy>
http::detail::redirect_step plan_hop(http::detail::redirect_chain& chain, bhttp::status status,
                                     std::string_view location, Policy const& policy, int max_redirects) {
    http::detail::redirect_step step;
    diagnostics d;
    if (auto ec = http::detail::plan_redirect(chain, status, location, http::any_redirect_policy(policy), max_redirects,
                                              step, d))
        fail(ec, std::move(d));
    return step;
}

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

TEST_CASE("form and percent encoding", "[unit][encode]") {
    CHECK(http::form_encode("a b+c&d=e/f:g~h") == "a+b%2Bc%26d%3De%2Ff%3Ag~h");
    CHECK(http::percent_encode("{name: /Zürich/}") == "%7Bname%3A%20%2FZ%C3%BCrich%2F%7D");
    CHECK(http::path_segment("MY_CONN") == "MY_CONN");
    CHECK(http::path_segment("a/../b?c#d") == "a%2F..%2Fb%3Fc%23d");
    CHECK(http::path_segment("..") == "%2E%2E");
    CHECK(http::path_segment(".") == "%2E");
    std::string q;
    http::append_param(q, "q", "{status:'CONFIGURED'}");
    http::append_param(q, "limit", "5");
    CHECK(q == "q=%7Bstatus%3A%27CONFIGURED%27%7D&limit=5");
    http::append_param(q, "a b", "c&d");
    CHECK(q.ends_with("&a%20b=c%26d"));
}

TEST_CASE("a redacted URL keeps no userinfo, query or fragment", "[unit][encode]") {
    auto redact = [](std::string_view s) { return http::redacted(http::urls::parse_uri(s).value()); };
    CHECK(redact("https://user:pw@host.example:8443/ic/api?access_token=SECRET#frag") ==
          "https://host.example:8443/ic/api");
    CHECK(redact("http://[::1]:80") == "http://[::1]:80");
    CHECK(redact("https://h?x=1") == "https://h");
    CHECK(redact("https://@h/p%20q/") == "https://h/p%20q/");
}

TEST_CASE("secret never prints", "[unit][secret]") {
    secret const s("hunter2-very-secret");
    std::ostringstream os;
    os << s;
    CHECK(os.str() == "<redacted>");
    CHECK(s.reveal() == "hunter2-very-secret");
    CHECK(s == secret("hunter2-very-secret"));
    CHECK_FALSE(s == secret("hunter2-very-secreT"));
}

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

TEST_CASE("connection and page parsing", "[unit][api]") {
    std::string const doc = R"({
      "items": [
        {"id":"ACME_REST","name":"Acme REST","status":"CONFIGURED","role":"SOURCE_AND_TARGET",
         "adapterType":{"name":"rest","displayName":"REST","type":"PREINSTALLED"},
         "securityPolicy":"OAUTH_CLIENT_CREDENTIALS","usage":3,"usageActive":1,"lockedFlag":true,
         "percentageComplete":100,"created":"2024-01-02T03:04:05Z","createdBy":"ann",
         "lastUpdated":"2024-02-02T03:04:05Z","lastUpdatedBy":"bob",
         "connectionProperties":[{"propertyName":"connectionUrl","propertyValue":"https://x","displayName":"URL"}],
         "links":[{"href":"https://h/connections/ACME_REST","rel":"self"}], "futureField": {"a":1}},
        {"id":"MINIMAL"}
      ],
      "hasMore": true, "totalResults": 120, "limit": 2, "offset": 4})";
    auto const page = parse_page<connection>(doc);
    REQUIRE(page.items.size() == 2);
    CHECK(page.has_more);
    CHECK(page.total_results == 120);
    CHECK(page.limit == 2);
    CHECK(page.offset == 4);
    auto const& c = page.items[0];
    CHECK(c.id == "ACME_REST");
    CHECK(c.adapter.name == "rest");
    CHECK(c.adapter.display_name == "REST");
    CHECK(c.adapter.type == "PREINSTALLED");
    CHECK(c.role == "SOURCE_AND_TARGET");
    CHECK(c.security_policy == "OAUTH_CLIENT_CREDENTIALS");
    CHECK(c.usage == 3);
    CHECK(c.usage_active == 1);
    CHECK(c.locked);
    CHECK(c.percentage_complete == 100);
    CHECK(c.last_updated_by == "bob");
    REQUIRE(c.properties.size() == 1);
    CHECK(c.properties[0].value == "https://x");
    CHECK(c.raw().contains("futureField")); // fields we don't model are kept
    CHECK(c.raw().at("futureField").at("a") == 1);
    CHECK(page.items[1].json() == R"({"id":"MINIMAL"})");
    CHECK(page.items[1].name.empty());
    CHECK_FALSE(page.items[1].usage);

    SECTION("a wrong type names the field") {
        struct bad_case {
            char const* json;
            char const* field;
        };
        bad_case const cases[] = {
            {R"({"items":[{"id":1}]})", "items[0].id"},
            {R"({"items":[{}, {"adapterType":"rest"}]})", "items[1].adapterType"},
            {R"({"items":[{"adapterType":{"name":[]}}]})", "items[0].adapterType.name"},
            {R"({"items":[{"usage":"3"}]})", "items[0].usage"},
            {R"({"items":[{"lockedFlag":"no"}]})", "items[0].lockedFlag"},
            {R"({"items":[{"connectionProperties":[{"propertyValue":5}]}]})",
             "items[0].connectionProperties[0].propertyValue"},
            {R"({"items":{}})", "items"},
            {R"({"hasMore":"yes"})", "hasMore"},
            {R"([1,2])", "connections answer"},
        };
        for (auto const& bc : cases) {
            INFO(bc.json);
            auto const e = error_of([&] { parse_page<connection>(bc.json); });
            CHECK(e.code() == error::api_bad_field_type);
            CHECK_THAT(e.what(), Catch::Contains(bc.field));
        }
    }
}

TEST_CASE("the typed parser reads what a DOM would, and only that", "[unit][api]") {
    SECTION("escapes in keys and values; nested unknown fields never reach the model") {
        auto const page = parse_page<connection>(
            R"({"items":[{"\u0069d":"A\"B","name":"caf\u00e9 \\ }]","links":[{"id":"WRONG","name":"WRONG"}],)"
            R"("deep":{"a":[{"usage":"x"}],"id":7},"usage":3.0,"big":18446744073709551615,"frac":0.5}],)"
            R"("\u0069tems2":{"items":[]},"hasMore":false})");
        REQUIRE(page.items.size() == 1);
        auto const& c = page.items[0];
        CHECK(c.id == "A\"B");
        CHECK(c.name == "caf\xc3\xa9 \\ }]");
        CHECK(c.usage == 3);
        CHECK(c.raw().at("links").as_array().size() == 1);
        CHECK(boost::json::parse(c.json()) ==
              boost::json::parse(
                  R"({"\u0069d":"A\"B","name":"caf\u00e9 \\ }]",)"
                  R"("links":[{"id":"WRONG","name":"WRONG"}],"deep":{"a":[{"usage":"x"}],"id":7},"usage":3.0,)"
                  R"("big":18446744073709551615,"frac":0.5})"));
    }
    SECTION("each item's text is its own slice of the body, whatever it contains") {
        auto const page = parse_page<connection>(
            " {\"offset\":0, \"items\" : [ {\"id\":\"a}b\"} , {\"id\":\"c]d\",\"x\":[1,{\"y\":\"\\\"\"}]},{}] } ");
        REQUIRE(page.items.size() == 3);
        CHECK(page.items[0].json() == R"({"id":"a}b"})");
        CHECK(page.items[1].json() == R"({"id":"c]d","x":[1,{"y":"\""}]})");
        CHECK(page.items[2].json() == "{}");
        CHECK(page.items[1].raw().at("x").as_array().size() == 2);
        connection const made_here;
        CHECK(made_here.json().empty());
        CHECK(made_here.raw().empty());
    }
    SECTION("a single connection keeps the whole answer") {
        auto const c = parse_item<connection>(R"({"id":"ONE","usage":null,"adapterType":null})");
        CHECK(c.id == "ONE");
        CHECK_FALSE(c.usage);
        CHECK(c.json() == R"({"id":"ONE","usage":null,"adapterType":null})");
    }
    SECTION("what a reader could take two ways, or not as JSON, is refused") {
        struct bad_case {
            char const* json;
            error expected;
            char const* what;
        };
        bad_case const cases[] = {
            {R"({"items":[],"items":[{"id":"X"}]})", error::api_bad_field_type, "\"items\" more than once"},
            {R"({"hasMore":true,"hasMore":false})", error::api_bad_field_type, "\"hasMore\" more than once"},
            {R"({"items":[null]})", error::api_bad_field_type, "items[0] is not an object"},
            {R"({"items":[{},{"usage":2.5}]})", error::api_bad_field_type, "items[1].usage is not an integer"},
            {R"({"items":[{"usage":18446744073709551615}]})", error::api_bad_field_type, "items[0].usage"},
            {R"({"items":[{"connectionProperties":[null]}]})", error::api_bad_field_type,
             "items[0].connectionProperties[0] is not an object"},
            {R"(null)", error::api_bad_field_type, "connections answer is not an object"},
            {R"({"items":[]} x)", error::api_not_json, "not JSON"},
            {R"({"items":[)", error::api_not_json, "not JSON"},
            {"", error::api_not_json, "not JSON"},
        };
        for (auto const& bc : cases) {
            INFO(bc.json);
            auto const e = error_of([&] { parse_page<connection>(bc.json); });
            CHECK(e.code() == bc.expected);
            CHECK_THAT(e.what(), Catch::Contains(bc.what));
        }
    }
}

namespace {
/// Every field of a connection, as one line: two connections read the same when these are equal.
std::string fields_of(connection const& c) {
    std::ostringstream out;
    out << c.id << '|' << c.name << '|' << c.status << '|' << c.role << '|' << c.adapter.name << '|'
        << c.adapter.display_name << '|' << c.adapter.type << '|' << c.security_policy << '|' << c.usage.value_or(-1)
        << '|' << c.usage_active.value_or(-1) << '|' << c.locked << '|' << c.percentage_complete.value_or(-1) << '|'
        << c.created << '|' << c.created_by << '|' << c.last_updated << '|' << c.last_updated_by;
    for (auto const& p : c.properties)
        out << "|{" << p.name << '|' << p.value << '|' << p.display_name << '}';
    return out.str();
}

/// A page of `n` connections whose strings are long enough to need a new block, with escapes.
std::string big_page(int n) {
    std::string body = R"({"hasMore":false,"items":[)";
    for (int i = 0; i < n; ++i) {
        auto const id = "C" + std::to_string(i);
        body += (i ? "," : "") + std::string(R"({"id":")") + id + R"(","name":"Connection \u00e9\"quoted\" )" +
                std::string(static_cast<std::size_t>(i * 37 % 300), 'x') +
                R"(","adapterType":{"name":"rest","displayName":"REST"},"usage":)" + std::to_string(i) +
                R"(,"lockedFlag":)" + (i % 2 ? "true" : "false") + R"(,"connectionProperties":[)";
        for (int k = 0; k < i % 4; ++k)
            body += (k ? "," : "") + std::string(R"({"propertyName":"p)") + std::to_string(k) +
                    R"(","propertyValue":"https://h/)" + id + R"(\/v","displayName":"P"})";
        body += R"(],"links":[{"href":"x","rel":"self"}],"createdBy":"someone@example.com"})";
    }
    return body + R"(],"totalResults":)" + std::to_string(n) + "}";
}

/// Reads `body` in the pieces `sizes` gives (cycled), as the connection's read buffer would hand it over.
page<connection> read_in_pieces(std::string_view body, std::vector<std::size_t> const& sizes, bool keep_json,
                                std::optional<std::uint64_t> length) {
    page<connection> out;
    detail::page_reader<connection> reader(&out, nullptr, keep_json);
    REQUIRE_FALSE(reader.start(length));
    for (std::size_t at = 0, k = 0; at < body.size(); ++k) {
        auto const n = std::min(sizes[k % sizes.size()], body.size() - at);
        REQUIRE_FALSE(reader.write(boost::asio::buffer(body.substr(at, n))));
        at += n;
    }
    std::string what;
    if (auto ec = reader.finish(what))
        fail(ec, std::move(what));
    return out;
}
} // namespace

TEST_CASE("a page read as its bytes arrive: every split gives the items of the whole", "[unit][api][stream]") {
    auto const body = big_page(60);
    auto const whole = parse_page<connection>(body);
    REQUIRE(whole.items.size() == 60);
    CHECK(whole.items[3].properties.size() == 3);
    CHECK(whole.items[8].name.size() > 290); // strings long enough to move to a new block
    std::vector<std::string> expected;
    for (auto const& c : whole.items)
        expected.push_back(fields_of(c));

    auto check = [&](page<connection> const& p, bool kept) {
        REQUIRE(p.items.size() == expected.size());
        CHECK(p.total_results == 60);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(fields_of(p.items[i]) == expected[i]);
            CHECK(p.items[i].json() == (kept ? whole.items[i].json() : std::string_view()));
        }
    };
    SECTION("two pieces, split at every byte") {
        for (std::size_t split = 1; split < body.size(); split += 7)
            check(read_in_pieces(body, {split, body.size()}, false, body.size()), false);
    }
    SECTION("random piece sizes, the length known or not, the text kept or not") {
        std::mt19937 rng(42);
        for (int run = 0; run < 200; ++run) {
            std::vector<std::size_t> sizes;
            for (int k = 0; k < 16; ++k)
                sizes.push_back(std::uniform_int_distribution<std::size_t>(1, run % 2 ? 40 : 4000)(rng));
            bool const keep = run % 3 == 0;
            check(read_in_pieces(body, sizes, keep, run % 4 ? std::optional<std::uint64_t>(body.size()) : std::nullopt),
                  keep);
        }
    }
    SECTION("one byte at a time") {
        check(read_in_pieces(body, {1}, true, std::nullopt), true);
    }
    SECTION("a refusal mid-body names the field, whatever the split, and leaves no items") {
        auto bad = big_page(5);
        bad.replace(bad.rfind(R"("usage":4)"), 9, R"("usage":"4")");
        for (std::size_t split : {1, 3, 100, 1000}) {
            auto const e = error_of([&] { read_in_pieces(bad, {split}, false, std::nullopt); });
            CHECK(e.code() == error::api_bad_field_type);
            CHECK_THAT(e.what(), Catch::Contains("items[4].usage is not an integer"));
        }
        page<connection> out;
        detail::page_reader<connection> reader(&out, nullptr, false);
        CHECK_FALSE(reader.write(boost::asio::buffer(std::string_view(
            R"({"hasMore":true,"totalResults":9,"limit":2,"offset":0,"items":[{"id":"A"},{"usage":"x"})"))));
        CHECK_FALSE(reader.write(boost::asio::buffer(std::string_view("garbage after a refusal is read and dropped"))));
        std::string what;
        CHECK(reader.finish(what) == error::api_bad_field_type);
        // Nothing of the refused page is left: a caller that reads on cannot take it for a real one.
        CHECK(out.items.empty());
        CHECK_FALSE(out.has_more);
        CHECK_FALSE(out.total_results);
        CHECK_FALSE(out.limit);
        CHECK_FALSE(out.offset);
    }
}

TEST_CASE("items share their page's storage and stay valid on their own", "[unit][api][stream]") {
    // Under ASan, any view left pointing into freed storage fails here.
    std::vector<connection> kept;
    connection moved;
    text name;
    shared_span<connection_property> properties;
    {
        auto page = parse_page<connection>(big_page(8));
        REQUIRE(page.items.size() == 8);
        kept.push_back(page.items[3]);         // a copy
        moved = std::move(page.items[7]);      // a move
        name = page.items[5].name;             // one field
        properties = page.items[6].properties; // one nested list
        page.items[5] = page.items[2];         // assigned over: its old fields go
        page.items.erase(page.items.begin());  // items move inside the vector
    }                                          // the page, its vector and every other item are gone
    CHECK(kept[0].id == "C3");
    CHECK(kept[0].properties.size() == 3);
    CHECK(kept[0].properties[2].value == "https://h/C3/v");
    CHECK(moved.id == "C7");
    CHECK(moved.name.view().starts_with("Connection \xc3\xa9\"quoted\" "));
    CHECK(name.view().starts_with("Connection "));
    REQUIRE(properties.size() == 2);
    CHECK(properties[1].name == "p1");
    CHECK(std::string(properties.back().value) == "https://h/C6/v");

    SECTION("a model built by hand owns copies of what it is given") {
        connection c;
        {
            std::string id = "HAND_MADE";
            c.id = id;
            c.name = std::string_view(id).substr(0, 4);
            id.assign(40, '!'); // the model does not see the caller's string change
            c.adapter.name = "rest";
            c.properties = {connection_property{.name = "k", .value = std::string(100, 'v'), .display_name = "K"}};
        }
        CHECK(c.id == "HAND_MADE");
        CHECK(c.name == "HAND");
        CHECK(c.properties[0].value.size() == 100);
        connection copy = c;
        c = connection{};
        CHECK(copy.id == "HAND_MADE");
        CHECK(c.id.empty());
        CHECK(copy.json().empty());            // not read from an answer
        std::string const as_string = copy.id; // an id passes on as a std::string
        CHECK(as_string == "HAND_MADE");
    }
    SECTION("up to 22 bytes live inside the text; longer strings share one block") {
        auto inside = [](text const& t) {
            auto const* p = reinterpret_cast<char const*>(&t);
            return t.data() >= p && t.data() < p + sizeof t;
        };
        text small(std::string(22, 's')), big(std::string(23, 'b'));
        CHECK(inside(small));
        CHECK_FALSE(inside(big));
        text big_copy = big;
        CHECK(big_copy.data() == big.data()); // shared, not copied
        text small_copy = small;
        CHECK(small_copy == small);
        small = big;         // inline takes shared
        big = text{};        // the block still has two owners
        big_copy = big_copy; // NOLINT: self-assignment keeps it
        CHECK(small.view() == std::string(23, 'b'));
        CHECK(big_copy == small);
        CHECK(big.empty());
        text moved = std::move(small_copy);
        CHECK(moved == std::string(22, 's'));
        CHECK(small_copy.empty());                          // NOLINT: a moved-from text is empty
        CHECK(kept[0].created_by == "someone@example.com"); // 19 bytes: inline, from the page
        CHECK(inside(kept[0].created_by));
        CHECK_FALSE(inside(kept[0].name));
    }
    SECTION("copies are shared between threads: only counts change") {
        std::vector<std::thread> threads;
        std::atomic<int> good{0};
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 1000; ++i) {
                    connection c = kept[0];
                    text n = t % 2 ? moved.name : name;
                    good += c.id == "C3" && !n.empty();
                }
            });
        for (auto& t : threads)
            t.join();
        CHECK(good == 4000);
    }
}

TEST_CASE("integrations parse into their model, and errors name the item type", "[unit][api]") {
    auto const page = parse_page<integration>(
        R"({"items":[{"id":"HELLO_WORLD|01.02.0000","code":"HELLO_WORLD","version":"01.02.0000",)"
        R"("name":"Hello World","status":"ACTIVATED","pattern":"Orchestration","lockedFlag":true,)"
        R"("percentageComplete":100,"dependencies":{"connections":[{"id":"ACME_REST"}]}}],"hasMore":false})");
    REQUIRE(page.items.size() == 1);
    auto const& x = page.items[0];
    CHECK(x.id == "HELLO_WORLD|01.02.0000");
    CHECK(x.code == "HELLO_WORLD");
    CHECK(x.version == "01.02.0000");
    CHECK(x.status == "ACTIVATED");
    CHECK(x.pattern == "Orchestration");
    CHECK(x.locked);
    CHECK(x.percentage_complete == 100);
    CHECK(x.raw().at("dependencies").at("connections").as_array().size() == 1);

    auto const e = error_of([] { parse_page<integration>(R"({"items":[{"version":1}]})"); });
    CHECK(e.code() == error::api_bad_field_type);
    CHECK_THAT(e.what(), Catch::Contains("items[0].version is not a string"));
    auto const single = error_of([] { parse_item<integration>(R"({"lockedFlag":"yes"})"); });
    CHECK_THAT(single.what(), Catch::Contains("integration.lockedFlag is not a boolean"));
    auto const not_json = error_of([] { parse_page<integration>("<html>"); });
    CHECK(not_json.code() == error::api_not_json);
    CHECK_THAT(not_json.what(), Catch::Contains("integrations answer is not JSON"));
}

TEST_CASE("errored instances and instances parse into their models; errors name the field", "[unit][api][monitoring]") {
    auto const errors = parse_page<errored_instance>(
        R"({"items":[{"id":"2HVm-j8dEfG8Ab8Y-P4nAQ","integration":{"code":"ASYNC_MAIN","version":"01.00.0000",)"
        R"("name":"Async Main","links":[{"rel":"self"}]},"errorCode":"500","errorMessage":"Invalid product",)"
        R"("errorDetails":"Invalid product 'iCar'","faultId":"f-1","recoverable":true,"retryCount":2,)"
        R"("status":"FAILED","creationDate":"2026-04-23T14:10:50.525+0000","primaryName":"Order",)"
        R"("primaryValue":"O-1","connection":{"code":"X"},"currentTraceLevel":"Debug"},)"
        R"({"id":"B","integration":null,"recoverable":false}],"hasMore":true,"totalResults":7})");
    REQUIRE(errors.items.size() == 2);
    auto const& e = errors.items[0];
    CHECK(e.id == "2HVm-j8dEfG8Ab8Y-P4nAQ");
    CHECK(e.integration_code == "ASYNC_MAIN");
    CHECK(e.integration_version == "01.00.0000");
    CHECK(e.integration_name == "Async Main");
    CHECK(e.integration_id() == "ASYNC_MAIN|01.00.0000");
    CHECK(e.error_code == "500");
    CHECK(e.error_message == "Invalid product");
    CHECK(e.error_details == "Invalid product 'iCar'");
    CHECK(e.fault_id == "f-1");
    CHECK(e.recoverable);
    CHECK(e.retry_count == 2);
    CHECK(e.status == "FAILED");
    CHECK(e.creation_date == "2026-04-23T14:10:50.525+0000");
    CHECK(e.primary_name == "Order");
    CHECK(e.primary_value == "O-1");
    CHECK(e.raw().at("currentTraceLevel") == "Debug"); // unmodelled fields stay reachable
    CHECK(errors.items[1].integration_code.empty());
    CHECK(errors.items[1].integration_id().empty());
    CHECK_FALSE(errors.items[1].recoverable);
    CHECK(errors.has_more);
    CHECK(errors.total_results == 7);

    auto const runs = parse_page<integration_instance>(
        R"({"items":[{"id":"I-1","integrationId":"HELLO","integrationName":"Hello","integrationVersion":"01.00.0000",)"
        R"("status":"COMPLETED","creationDate":"c","lastTrackedTime":"t","runId":"r"}],"hasMore":false})");
    REQUIRE(runs.items.size() == 1);
    CHECK(runs.items[0].id == "I-1");
    CHECK(runs.items[0].integration_id == "HELLO");
    CHECK(runs.items[0].integration_name == "Hello");
    CHECK(runs.items[0].integration_version == "01.00.0000");
    CHECK(runs.items[0].status == "COMPLETED");
    CHECK(runs.items[0].last_tracked_time == "t");
    CHECK(runs.items[0].run_id == "r");

    CHECK_THAT(error_of([] { parse_page<errored_instance>(R"({"items":[{"integration":{"version":1}}]})"); }).what(),
               Catch::Contains("items[0].integration.version is not a string"));
    CHECK_THAT(error_of([] { parse_page<errored_instance>(R"({"items":[{"integration":"X"}]})"); }).what(),
               Catch::Contains("items[0].integration is not an object"));
    CHECK_THAT(error_of([] { parse_page<errored_instance>(R"({"items":[{"recoverable":"yes"}]})"); }).what(),
               Catch::Contains("items[0].recoverable is not a boolean"));
    CHECK_THAT(error_of([] { parse_item<integration_instance>(R"({"status":3})"); }).what(),
               Catch::Contains("instance.status is not a string"));
    CHECK_THAT(error_of([] { parse_page<errored_instance>("<html>"); }).what(),
               Catch::Contains("errored instances answer is not JSON"));
    // A connection's nested object is still its adapter, not an errored instance's integration.
    CHECK(parse_item<connection>(R"({"integration":{"code":1},"adapterType":{"name":"rest"}})").adapter.name == "rest");
}

TEST_CASE("resubmit answers: Oracle's hyphenated names, camelCase, ids as numbers, no body",
          "[unit][api][monitoring]") {
    auto const many = parse_resubmit_result(
        202, R"({"accepted-ids":["a","b"],"invalid-ids":[19],"non-recoverable-ids":["c"],"message":"2 of 4",)"
             R"("recovery-job-id":"77","resubmit-requested":true,"resubmitted-instances-count":2})");
    CHECK(many.http_status == 202);
    CHECK(many.accepted_ids == std::vector<std::string>{"a", "b"});
    CHECK(many.invalid_ids == std::vector<std::string>{"19"});
    CHECK(many.non_recoverable_ids == std::vector<std::string>{"c"});
    CHECK(many.message == "2 of 4");
    CHECK(many.recovery_job_id == "77");
    CHECK(many.accepted == true);
    CHECK_THAT(many.json, Catch::Contains("resubmitted-instances-count"));

    auto const camel =
        parse_resubmit_result(200, R"({"acceptedIds":["x"],"recoveryJobId":12,"resubmitSuccessful":false})");
    CHECK(camel.accepted_ids == std::vector<std::string>{"x"});
    CHECK(camel.recovery_job_id == "12");
    CHECK(camel.accepted == false);

    auto const none = parse_resubmit_result(202, "");
    CHECK(none.http_status == 202);
    CHECK_FALSE(none.accepted);
    CHECK(none.accepted_ids.empty());

    auto const not_json = error_of([] { parse_resubmit_result(200, "<html>"); });
    CHECK(not_json.code() == error::api_not_json);
    CHECK_THAT(error_of([] { parse_resubmit_result(202, R"({"accepted-ids":"a"})"); }).what(),
               Catch::Contains("accepted-ids is not an array"));
    CHECK_THAT(error_of([] { parse_resubmit_result(202, R"({"invalid-ids":["a",{}]})"); }).what(),
               Catch::Contains("invalid-ids[1] is not a string or an integer"));
    CHECK_THAT(error_of([] { parse_resubmit_result(200, R"({"resubmit-successful":"yes"})"); }).what(),
               Catch::Contains("resubmit-successful is not a boolean"));
    CHECK(error_of([] { parse_resubmit_result(200, "[]"); }).code() == error::api_bad_field_type);
}

TEST_CASE("the mock's monitoring data: failed runs are the errored instances; a resubmit takes one off the list",
          "[unit][mock][monitoring]") {
    namespace td = oic::testing::detail;
    auto const conns = td::make_connection_catalog(120, "https://design");
    auto const ints = td::make_integration_catalog(40, "https://design", conns.records());
    auto data = td::make_monitoring_data(60, "https://design", ints.records());
    auto const again = td::make_monitoring_data(60, "https://design", ints.records());
    REQUIRE(data.instances.records().size() == 60);
    REQUIRE(data.errors.records().size() == 15);
    std::set<std::string> codes, ids;
    for (std::size_t i = 0; i < data.instances.records().size(); ++i) {
        auto const& r = data.instances.records()[i];
        CHECK(r.id == again.instances.records()[i].id); // deterministic
        CHECK(r.id.size() == 22);
        codes.insert(r.code);
        ids.insert(r.id);
        CHECK((r.status == "FAILED") == (data.errors.find(r.id) != nullptr));
    }
    CHECK(ids.size() == 60);
    CHECK(codes.size() == 4);
    std::size_t recoverable = 0;
    for (auto const& e : data.errors.records())
        recoverable += e.recoverable;
    CHECK(recoverable == 10);

    auto const list_errors = [&] {
        td::list_request all;
        all.limit = 1000;
        all.filter.conditions.push_back({"status", "FAILED", false});
        return data.errors.list(all).at("items").as_array();
    };
    auto const it = std::find_if(data.errors.records().begin(), data.errors.records().end(),
                                 [](auto const& e) { return e.recoverable; });
    auto const stuck = std::find_if(data.errors.records().begin(), data.errors.records().end(),
                                    [](auto const& e) { return !e.recoverable; });
    REQUIRE(it != data.errors.records().end());
    REQUIRE(stuck != data.errors.records().end());
    std::string const id = it->id;
    CHECK(td::resubmit(data, id) == td::resubmit_outcome::accepted);
    CHECK(td::resubmit(data, id) == td::resubmit_outcome::not_errored);
    CHECK(td::resubmit(data, stuck->id) == td::resubmit_outcome::not_recoverable);
    CHECK(td::resubmit(data, "NO_SUCH_ID") == td::resubmit_outcome::not_found);
    auto const listed = list_errors();
    CHECK(listed.size() == 14);
    CHECK(std::none_of(listed.begin(), listed.end(), [&](auto const& x) { return x.at("id").as_string() == id; }));
    CHECK(data.instances.find(id)->status == "RESUBMITTED");
    CHECK(data.errors.find(id)->json.at("retryCount") == 1);

    // q: the documented timewindow values are checked and filter nothing; code filters.
    auto parse = [](std::string_view q, td::list_schema const& schema) {
        std::string encoded;
        oic::http::append_param(encoded, "q", q);
        return td::parse_list_request(boost::urls::parse_query(encoded).value(), schema);
    };
    auto request = parse("{timewindow: '3d', code: '" + it->code + "'}", td::errored_instance_schema());
    auto const filtered =
        data.errors.list(td::without_time_window(std::get<td::list_request>(request))).at("items").as_array();
    REQUIRE_FALSE(filtered.empty());
    CHECK(filtered.size() < 15);
    for (auto const& x : filtered)
        CHECK(x.at("integration").at("code").as_string() == it->code);
    auto const refused = parse("{timewindow: '5y'}", td::errored_instance_schema());
    REQUIRE(std::holds_alternative<td::query_error>(refused));
    CHECK_THAT(std::get<td::query_error>(refused).message, Catch::Contains("timewindow must be 1h, 6h"));
    auto const failed = parse("{status: 'FAILED'}", td::integration_instance_schema());
    CHECK(data.instances.list(std::get<td::list_request>(failed)).at("totalResults") == 14); // one was resubmitted
}

TEST_CASE("the mock's list query language", "[unit][mock]") {
    namespace td = oic::testing::detail;
    // `query` is written readable (`q={name:'x'}&limit=5`); each value is encoded as a client would.
    auto parse = [](std::string_view query, td::list_schema const& schema) {
        std::string encoded;
        for (std::size_t start = 0; start <= query.size();) {
            auto const end = std::min(query.find('&', start), query.size());
            auto const pair = query.substr(start, end - start);
            auto const eq = pair.find('=');
            oic::http::append_param(encoded, pair.substr(0, eq), eq == pair.npos ? "" : pair.substr(eq + 1));
            start = end + 1;
        }
        return td::parse_list_request(boost::urls::parse_query(encoded).value(), schema);
    };
    auto error_text = [&](std::string_view query, td::list_schema const& schema) {
        auto r = parse(query, schema);
        auto const* e = std::get_if<td::query_error>(&r);
        return e ? e->message : std::string("(accepted)");
    };
    auto const& connections = td::connection_schema();
    auto const& integrations = td::integration_schema();

    SECTION("q: exact and contains conditions, combined") {
        auto r = parse("q={name : /RN/, status : 'CONFIGURED'}&limit=5&offset=2&orderBy=name", connections);
        auto const& req = std::get<td::list_request>(r);
        REQUIRE(req.filter.conditions.size() == 2);
        CHECK(req.filter.conditions[0].field == "name");
        CHECK(req.filter.conditions[0].contains);
        CHECK(req.filter.conditions[1].value == "CONFIGURED");
        CHECK_FALSE(req.filter.conditions[1].contains);
        CHECK(req.limit == 5);
        CHECK(req.offset == 2);
        CHECK(req.order == "name");
        CHECK(std::get<td::list_request>(parse("q={name:'It\\'s'}", connections)).filter.conditions[0].value == "It's");
        CHECK(std::get<td::list_request>(parse("limit=0", connections)).limit == 1); // clamped
        CHECK(std::get<td::list_request>(parse("limit=5000", connections)).limit == 1000);
    }
    SECTION("every refusal says what was wrong") {
        CHECK_THAT(error_text("q={role:'SOURCE'}", integrations),
                   Catch::Contains("unsupported field 'role' (supported: name or status)"));
        CHECK_THAT(error_text("q={status:'ACTIVATED'}", connections),
                   Catch::Contains("status must be CONFIGURED or INPROGRESS"));
        CHECK_THAT(error_text("q={status:'DRAFT'}", integrations),
                   Catch::Contains("status must be ACTIVATED, CONFIGURED, INPROGRESS or FAILEDACTIVATION"));
        CHECK_THAT(error_text("q={name:'a', name:'b'}", connections), Catch::Contains("field 'name' appears twice"));
        CHECK_THAT(error_text("q={name:'a}", connections), Catch::Contains("unterminated value"));
        CHECK_THAT(error_text("q={name:'a'} x", connections), Catch::Contains("unexpected text after '}'"));
        CHECK_THAT(error_text("q=name", connections), Catch::Contains("expected '{'"));
        CHECK_THAT(error_text("orderBy=type", integrations), Catch::Contains("orderBy must be name or time"));
        CHECK_THAT(error_text("offset=-1", connections), Catch::Contains("offset must be a non-negative integer"));
        CHECK_THAT(error_text("limit=ten", connections), Catch::Contains("limit must be an integer"));
        CHECK(error_text("q=&expand=adapter", connections) == "(accepted)");
    }
    SECTION("the catalogs filter, sort and page as the real lists do") {
        auto const conns = td::make_connection_catalog(120, "https://design");
        auto const ints = td::make_integration_catalog(40, "https://design", conns.records());
        auto list = [&](auto const& catalog, std::string_view query, td::list_schema const& schema) {
            return catalog.list(std::get<td::list_request>(parse(query, schema)));
        };
        auto const first = list(conns, "limit=50", connections);
        CHECK(first.at("items").as_array().size() == 50);
        CHECK(first.at("hasMore") == true);
        CHECK(first.at("totalResults") == 120);
        auto const last = list(conns, "limit=50&offset=100", connections);
        CHECK(last.at("items").as_array().size() == 20);
        CHECK(last.at("hasMore") == false);
        auto const past = list(conns, "offset=500", connections);
        CHECK(past.at("items").as_array().empty());

        auto const activated = list(ints, "q={status:'ACTIVATED'}&limit=1000", integrations);
        auto const& items = activated.at("items").as_array();
        REQUIRE_FALSE(items.empty());
        CHECK(items.size() < 40);
        for (auto const& x : items) {
            CHECK(x.at("status") == "ACTIVATED");
            auto const id = std::string(x.at("id").as_string());
            CHECK(id == std::string(x.at("code").as_string()) + "|" + std::string(x.at("version").as_string()));
        }
        auto const newest = list(ints, "orderBy=time&limit=1000", integrations).at("items").as_array();
        for (std::size_t i = 1; i < newest.size(); ++i)
            CHECK(newest[i - 1].at("lastUpdated").as_string() >= newest[i].at("lastUpdated").as_string());
        auto const named = list(conns, "q={name:/Acme/}&limit=1000", connections).at("items").as_array();
        REQUIRE_FALSE(named.empty());
        for (auto const& c : named)
            CHECK(std::string_view(c.at("name").as_string()).find("Acme") != std::string_view::npos);
    }
}

TEST_CASE("connections query string", "[unit][api]") {
    connections_query q;
    CHECK(to_query_string(q).empty());
    q.q = "{name : /RN/, status : 'CONFIGURED'}";
    q.limit = 10;
    q.offset = 20;
    q.order_by = "name";
    q.expand = "adapter";
    CHECK(to_query_string(q) == "q=%7Bname%20%3A%20%2FRN%2F%2C%20status%20%3A%20%27CONFIGURED%27%7D&limit=10&offset=20&"
                                "orderBy=name&expand=adapter");
}

TEST_CASE("trusted host patterns", "[unit][redirect]") {
    auto o = [](std::string const& u) { return *http::origin_of(http::urls::url_view(u)); };
    http::trusted_hosts const t{"design.example.com", "*.ocp.oraclecloud.com", "api.example.com:8443", "[::1]:9000"};
    CHECK(t.trusts(o("https://design.example.com/x")));
    CHECK(t.trusts(o("https://DESIGN.example.com:444/x"))); // no port in the pattern: any port
    CHECK(t.trusts(o("https://design.integration.us-phoenix-1.ocp.oraclecloud.com")));
    CHECK_FALSE(t.trusts(o("https://ocp.oraclecloud.com")));             // the suffix alone is not a subdomain
    CHECK_FALSE(t.trusts(o("https://evilocp.oraclecloud.com.evil.io"))); // suffix must end the name
    CHECK(t.trusts(o("https://api.example.com:8443")));
    CHECK_FALSE(t.trusts(o("https://api.example.com")));
    CHECK(t.trusts(o("http://[::1]:9000/")));
    CHECK_FALSE(t.trusts(o("http://[::1]:9001/")));
}

namespace {
struct plan_case {
    char const* from;
    unsigned status;
    char const* location;
    bhttp::verb method;
    error expected; // 0: followed
    bhttp::verb next_method = bhttp::verb::get;
    bool keep_body = false;
    bool credentials = false;
};
} // namespace

TEST_CASE("redirect rules no policy can switch off", "[unit][redirect]") {
    using bhttp::verb;
    auto const e0 = error{};
    plan_case const cases[] = {
        // status -> method and body
        {"https://a.example/p", 301, "https://a.example/q", verb::get, e0, verb::get, true, true},
        {"https://a.example/p", 301, "https://a.example/q", verb::post, e0, verb::get, false, true},
        {"https://a.example/p", 302, "https://a.example/q", verb::post, e0, verb::get, false, true},
        {"https://a.example/p", 302, "https://a.example/q", verb::put, e0, verb::put, true, true},
        {"https://a.example/p", 303, "https://a.example/q", verb::post, e0, verb::get, false, true},
        {"https://a.example/p", 303, "https://a.example/q", verb::head, e0, verb::head, true, true},
        {"https://a.example/p", 307, "https://a.example/q", verb::post, e0, verb::post, true, true},
        {"https://a.example/p", 308, "https://a.example/q", verb::post, e0, verb::post, true, true},
        // relative Location resolves against the current URL
        {"https://a.example/x/p", 307, "../q?x=1", verb::get, e0, verb::get, true, true},
        // other host: same_origin refuses credentials, still follows
        {"https://a.example/p", 307, "https://b.example/p", verb::get, e0, verb::get, true, false},
        // other port or scheme is another origin
        {"https://a.example/p", 307, "https://a.example:8443/p", verb::get, e0, verb::get, true, false},
        // plaintext to loopback is allowed, with credentials when same origin
        {"http://127.0.0.1:8080/p", 307, "/q", verb::get, e0, verb::get, true, true},
        // refusals
        {"https://a.example/p", 307, "http://a.example/p", verb::get, error::redirect_downgrade},
        {"https://a.example/p", 307, "", verb::get, error::redirect_bad_location},
        {"https://a.example/p", 307, "https://user:pw@a.example/q", verb::get, error::redirect_bad_location},
        {"https://a.example/p", 307, "ftp://a.example/q", verb::get, error::redirect_bad_location},
        {"https://a.example/p", 307, "javascript:alert(1)", verb::get, error::redirect_bad_location},
        {"https://a.example/p", 307, "http://[zz/", verb::get, error::redirect_bad_location},
        {"https://a.example/p", 307, "https://a.example/p", verb::get, error::redirect_loop},
    };
    for (auto const& c : cases) {
        INFO(c.from << " " << c.status << " " << c.location << " " << bhttp::to_string(c.method));
        http::detail::redirect_chain chain(http::urls::url(c.from), c.method);
        auto plan = [&] {
            return plan_hop(chain, static_cast<bhttp::status>(c.status), c.location, http::same_origin{}, 5);
        };
        if (c.expected != error{}) {
            auto const e = error_of(plan);
            CHECK(e.code() == c.expected);
            CHECK(e.get_diagnostics().http_status == c.status);
            CHECK(std::string(e.what()).find("pw@") == std::string::npos);
            continue;
        }
        auto const step = plan();
        CHECK(step.method == c.next_method);
        CHECK(step.keep_body == c.keep_body);
        CHECK(step.send_credentials == c.credentials);
        CHECK(chain.hops == 1);
    }
}

TEST_CASE("redirect chain limits, loops, body credentials and plaintext", "[unit][redirect]") {
    using bhttp::status;
    using bhttp::verb;
    SECTION("hop limit") {
        http::detail::redirect_chain chain(http::urls::url("https://a.example/0"));
        for (int i = 1; i <= 3; ++i)
            plan_hop(chain, status::found, "/" + std::to_string(i), http::never_forward{}, 3);
        CHECK(error_of([&] { plan_hop(chain, status::found, "/4", http::never_forward{}, 3); }).code() ==
              error::too_many_redirects);
    }
    SECTION("a loop through several URLs") {
        http::detail::redirect_chain chain(http::urls::url("https://a.example/0"));
        plan_hop(chain, status::found, "/1", http::never_forward{}, 5);
        plan_hop(chain, status::found, "https://b.example/2", http::never_forward{}, 5);
        CHECK(error_of([&] {
                  plan_hop(chain, status::found, "https://a.example/1", http::never_forward{}, 5);
              }).code() == error::redirect_loop);
    }
    SECTION("client_secret_post body never goes to another origin, even with always_forward") {
        http::detail::redirect_chain chain(http::urls::url("https://idp.example/token"), verb::post);
        chain.body_has_credentials = true;
        CHECK(error_of([&] {
                  plan_hop(chain, status::temporary_redirect, "https://other.example/token", http::always_forward{}, 5);
              }).code() == error::redirect_body_credentials);
        // the same origin is fine
        auto const step = plan_hop(chain, status::permanent_redirect, "/v2/token", http::always_forward{}, 5);
        CHECK(step.keep_body);
    }
    SECTION("credentials never go over plaintext to a non-loopback host, whatever the policy") {
        http::detail::redirect_chain chain(http::urls::url("http://127.0.0.1/a"));
        auto const step = plan_hop(chain, status::found, "http://example.com/b", http::always_forward{}, 5);
        CHECK_FALSE(step.send_credentials);
    }
    SECTION("a policy may stop following") {
        http::detail::redirect_chain chain(http::urls::url("https://a.example/0"));
        auto const stop = [](http::redirect_hop const&) { return http::redirect_decision{.follow = false}; };
        auto const e = error_of([&] { plan_hop(chain, status::moved_permanently, "/1", stop, 5); });
        CHECK(e.code() == error::redirect_refused);
        CHECK(e.get_diagnostics().http_status == 301);
    }
}

namespace {
http::redirect_decision decide(http::any_redirect_policy const& policy, char const* from, char const* to,
                               bool credentials = true) {
    http::urls::url const o(from), t(to);
    return policy(http::redirect_hop{o, o, t, *http::origin_of(o), *http::origin_of(t),
                                     bhttp::status::temporary_redirect, bhttp::verb::get, 1, credentials});
}
} // namespace

TEST_CASE("built-in policies decide forwarding and remembering", "[unit][redirect]") {
    char const* runtime =
        "https://inst-abc-fr.integration.eu-frankfurt-1.ocp.oraclecloud.com/ic/api/integration/v1/connections?x=1";
    char const* design =
        "https://design.integration.eu-frankfurt-1.ocp.oraclecloud.com/ic/api/integration/v1/connections?x=1";
    char const* evil = "https://evil.example.com/ic/api/integration/v1/connections?x=1";

    CHECK_FALSE(decide(http::never_forward{}, runtime, design).forward_credentials);
    CHECK_FALSE(decide(http::same_origin{}, runtime, design).forward_credentials);
    CHECK(decide(http::always_forward{}, runtime, evil).forward_credentials);
    CHECK(decide(http::trusted_hosts{"*.ocp.oraclecloud.com"}, runtime, design).forward_credentials);
    CHECK_FALSE(decide(http::trusted_hosts{"*.ocp.oraclecloud.com"}, runtime, evil).forward_credentials);

    auto const oic = http::oic_default::for_instance({*http::origin_of(http::urls::url_view(runtime))});
    auto const d = decide(oic, runtime, design);
    CHECK(d.follow);
    CHECK(d.forward_credentials);
    CHECK(d.remember);
    // Anything else is not followed with credentials: the caller gets redirect_refused, never an
    // untrusted host's answer taken for the API's.
    for (char const* elsewhere :
         {evil, "http://design.integration.eu-frankfurt-1.ocp.oraclecloud.com/ic/api/x",  // https only
          "https://design.integration.us-ashburn-1.ocp.oraclecloud.com/ic/api/x",         // another region
          "https://other-xyz-fr.integration.eu-frankfurt-1.ocp.oraclecloud.com/ic/api/x", // another tenant
          "https://design.integration.eu-frankfurt-1.ocp.oraclecloud.com:8443/ic/api/x",  // another port
          "https://inst-abc-fr.integration.eu-frankfurt-1.ocp.oraclecloud.com:444/ic/api/x"}) {
        INFO(elsewhere);
        auto const refused = decide(oic, runtime, elsewhere);
        CHECK_FALSE(refused.follow);
        CHECK_FALSE(refused.forward_credentials);
        CHECK(decide(oic, runtime, elsewhere, false).follow); // nothing to leak: followed
    }
    CHECK(decide(http::oic_default({"mycorp.example"}), runtime, "https://mycorp.example/x").forward_credentials);
    auto const widened = http::oic_default::for_instance({*http::origin_of(http::urls::url_view(runtime))},
                                                         {"*.integration.eu-frankfurt-1.ocp.oraclecloud.com"});
    CHECK(decide(widened, runtime, "https://other-xyz-fr.integration.eu-frankfurt-1.ocp.oraclecloud.com/x")
              .forward_credentials);
}

TEST_CASE("configured hosts are trusted on their own port, and the design host comes from the region",
          "[unit][redirect]") {
    auto o = [](char const* u) { return *http::origin_of(http::urls::url_view(u)); };
    auto const p = http::oic_default::for_instance(
        {o("https://idcs-1.identity.oraclecloud.com:8443/oauth2/v1/token"), o("https://[::1]:9000/")});
    CHECK(p.trusts(o("https://idcs-1.identity.oraclecloud.com:8443/x")));
    CHECK_FALSE(p.trusts(o("https://idcs-1.identity.oraclecloud.com/x")));
    CHECK_FALSE(p.trusts(o("https://idcs-1.identity.oraclecloud.com:8444/x")));
    CHECK(p.trusts(o("http://[::1]:9000/x"))); // loopback may be plaintext
    CHECK_FALSE(p.trusts(o("http://[::1]:9001/x")));

    auto design = [&](char const* u) {
        auto const d = http::design_host_of(o(u));
        return d ? d->to_string() : std::string("none");
    };
    CHECK(design("https://inst-abc-fr.integration.eu-frankfurt-1.ocp.oraclecloud.com") ==
          "https://design.integration.eu-frankfurt-1.ocp.oraclecloud.com:443");
    CHECK(design("https://design.integration.us-phoenix-1.ocp.oraclecloud.com:443/x") ==
          "https://design.integration.us-phoenix-1.ocp.oraclecloud.com:443");
    CHECK(design("https://oic-test-inst-axhxufzsltne-px.integration.ocp.oraclecloud.com") == "none"); // no region part
    CHECK(design("http://inst.integration.eu-frankfurt-1.ocp.oraclecloud.com") == "none");
    CHECK(design("https://inst.integration.eu-frankfurt-1.ocp.oraclecloud.com.evil.io") == "none");
    CHECK(design("https://integration.eu-frankfurt-1.ocp.oraclecloud.com") == "none");
    CHECK(design("https://inst.notintegration.eu-frankfurt-1.ocp.oraclecloud.com") == "none");
}

TEST_CASE("one host identity: hosts every layer could read differently are refused", "[unit][redirect][host]") {
    // What the policy judges is what the socket, the resolver, SNI and the certificate check use:
    // anything a C API or a resolver could read another way never becomes an origin.
    for (char const* bad : {"https://evil.example%2F.ocp.oraclecloud.com/ic/api/x", // decodes to a path
                            "https://evil.example%00.ocp.oraclecloud.com/",         // NUL for getaddrinfo
                            "https://design%2eintegration.x.ocp.oraclecloud.com/",  // encoded dot
                            "https://ev%69l.example/",                              // any encoding at all
                            "https://127.0.0.2.example/",
                            "https://127.0.0.1%2F.evil.example/x", // IPv4 + more

                            "https://127.1/",
                            "https://0x7f.0.0.1/",
                            "https://2130706433/", // numbers to inet_aton
                            "https://example.0x10/",
                            "https://a..b/",
                            "https://a.b./",
                            "https://.a.b/",
                            "https://a_b.example/",
                            "https://[v1.fe]/",
                            "https://host:0/",
                            "https://host:65536/",
                            "https://:443/",
                            "ftp://a.example/",
                            "https:///path"}) {
        INFO(bad);
        auto const u = http::urls::parse_uri(bad);
        CHECK((!u || !http::origin_of(*u)));
        if (u) // as a redirect target: refused before any policy sees it
        {
            http::detail::redirect_chain chain(
                http::urls::url("https://inst.integration.r1.ocp.oraclecloud.com/ic/api/x"));
            int asked = 0;
            auto const policy = [&asked](http::redirect_hop const&) {
                ++asked;
                return http::redirect_decision{.forward_credentials = true, .remember = true};
            };
            CHECK(error_of([&] { plan_hop(chain, bhttp::status::temporary_redirect, bad, policy, 5); }).code() ==
                  error::redirect_bad_location);
            CHECK(asked == 0);
        }
    }
    auto o = [](char const* u) { return *http::origin_of(http::urls::url_view(u)); };
    CHECK(o("https://DESIGN.Example.COM/x").host == "design.example.com");
    CHECK(o("https://xn--bcher-kva.example/").host == "xn--bcher-kva.example");
    CHECK(o("https://127.0.0.1:8443/").host == "127.0.0.1");
    CHECK(o("https://[0:0:0:0:0:0:0:1]:9/").host == "::1"); // one address, one origin
    CHECK(o("https://[::1]:9/").authority() == "[::1]:9");
    CHECK(o("https://a.example:443/").authority() == "a.example");
    CHECK(o("http://a.example:8080/").authority() == "a.example:8080");
    // The URL rebuilt for a remembered hop is set from the origin value, not parsed from text.
    auto const moved = http::with_origin(http::urls::url_view("https://r.example/ic/api/x?q=1"), o("https://[::1]:9/"));
    CHECK(moved.buffer() == "https://[::1]:9/ic/api/x?q=1");
    CHECK(*http::origin_of(moved) == o("https://[::1]:9/"));
    CHECK(http::is_loopback("localhost"));
    CHECK_FALSE(http::is_loopback("127.1"));
    CHECK_FALSE(http::is_loopback("localhost.evil.example"));
}

TEST_CASE("credentials withheld once stay withheld for the rest of the chain", "[unit][redirect]") {
    http::detail::redirect_chain chain(http::urls::url("https://a.example/p"));
    http::trusted_hosts const trust_a{"a.example"};
    auto const to_b = plan_hop(chain, bhttp::status::found, "https://b.example/q", trust_a, 5);
    CHECK_FALSE(to_b.send_credentials);
    auto const back = plan_hop(chain, bhttp::status::found, "https://a.example/chosen-by-b", trust_a, 5);
    CHECK_FALSE(back.send_credentials); // A -> B -> A: B chose this path, so no token
    CHECK(chain.credentials_withheld);
}

TEST_CASE("what may be remembered", "[unit][redirect]") {
    auto const remember_all = [](http::redirect_hop const&) {
        return http::redirect_decision{.forward_credentials = true, .remember = true};
    };
    auto plan = [&](http::detail::redirect_chain& c, char const* location) {
        return plan_hop(c, bhttp::status::temporary_redirect, location, remember_all, 5);
    };
    char const* start = "https://r.example/ic/api/x?q=1";
    {
        http::detail::redirect_chain c{http::urls::url(start)};
        auto const step = plan(c, "https://d.example/ic/api/x?q=1");
        CHECK(step.remember); // an origin-only hop away from the original origin
        CHECK(step.to == *http::origin_of(http::urls::url_view("https://d.example/")));
        CHECK_FALSE(plan(c, "https://e.example/ic/api/x?q=1").remember); // not from the original origin
    }
    {
        http::detail::redirect_chain c{http::urls::url(start)};
        CHECK_FALSE(plan(c, "https://d.example/ic/api/other?q=1").remember); // the path changed
    }
    {
        http::detail::redirect_chain c{http::urls::url(start)};
        c.may_remember = false; // a token request
        CHECK_FALSE(plan(c, "https://d.example/ic/api/x?q=1").remember);
    }
    {
        http::detail::redirect_chain c(http::urls::url(start), bhttp::verb::post);
        c.body_has_credentials = true; // 303: the body is dropped, so the hop is allowed, but not remembered
        CHECK_FALSE(plan_hop(c, bhttp::status::see_other, "https://d.example/ic/api/x?q=1", remember_all, 5).remember);
    }
}

TEST_CASE("the send loop's machine, step by step", "[unit][redirect]") {
    using http::detail::remembered_hop;
    using http::detail::send_machine;
    using action = send_machine::action;
    using bhttp::status;
    namespace aerror = boost::asio::error;
    using namespace std::chrono_literals;
    http::urls::url const url("https://runtime.example/ic/api/integration/v1/connections?q=1");
    std::string const on_design = "https://design.example/ic/api/integration/v1/connections?q=1";
    auto const runtime = *http::origin_of(url);
    auto const design = *http::origin_of(http::urls::url_view(on_design));
    http::any_redirect_policy const trusting([](http::redirect_hop const&) {
        return http::redirect_decision{.forward_credentials = true, .remember = true};
    });
    send_machine::settings const with_token{.has_credentials = true};
    remembered_hop const hop{runtime, design, true};
    diagnostics d;
    auto answer = [&](send_machine& m, status st, std::string_view location = {}, int max_redirects = 5) {
        return m.on_answer({.status = st, .location = location}, 1h, 0.5, trusting, max_redirects, d);
    };
    auto failure = [&](send_machine& m, error_code ec) { return m.on_answer({.ec = ec}, 1h, 0.5, trusting, 5, d); };

    SECTION("a redirect is followed, and its hop learned once the target has answered") {
        send_machine m(url, runtime, bhttp::verb::get, with_token, std::nullopt);
        CHECK(m.chain().current_origin == runtime);
        auto s = answer(m, status::temporary_redirect, on_design);
        CHECK(s.what == action::send);
        CHECK_FALSE(s.remember); // not before the target has answered
        CHECK(m.chain().current_origin == design);
        CHECK_FALSE(m.chain().credentials_withheld);
        s = answer(m, status::ok);
        CHECK(s.what == action::done);
        REQUIRE(s.remember);
        CHECK(s.remember->from == runtime);
        CHECK(s.remember->to == design);
        CHECK(s.remember->forward_credentials);
    }
    SECTION("a hop whose target fails or redirects again is not learned") {
        for (auto const then : {status::not_found, status::misdirected_request, status::temporary_redirect}) {
            send_machine m(url, runtime, bhttp::verb::get, with_token, std::nullopt);
            answer(m, status::temporary_redirect, on_design);
            auto const s = answer(m, then, "https://third.example/");
            CHECK_FALSE(s.remember);
        }
    }
    SECTION("a remembered hop is used; when it fails it is forgotten and the call starts over, once") {
        for (auto const failure : {status::not_found, status::misdirected_request}) {
            send_machine m(url, runtime, bhttp::verb::get, with_token, hop);
            CHECK(m.chain().current_origin == design);
            CHECK(m.chain().current.encoded_target() == url.encoded_target());
            d.message = "what the failed hop said";
            auto s = answer(m, failure);
            CHECK(s.what == action::send);
            CHECK(s.forget);
            CHECK(d.message.empty());
            CHECK(m.chain().current_origin == runtime);
            s = answer(m, status::not_found); // now the URL's own answer: the call's answer
            CHECK(s.what == action::done);
            CHECK_FALSE(s.forget);
        }
        send_machine m(url, runtime, bhttp::verb::get, with_token, hop);
        auto const s = failure(m, aerror::connection_refused);
        CHECK(s.what == action::send);
        CHECK(s.forget);
    }
    SECTION("a written POST whose remembered hop fails is forgotten, not sent again") {
        send_machine m(url, runtime, bhttp::verb::post, with_token, hop);
        auto s = m.on_answer({.ec = aerror::connection_reset, .request_written = true}, 1h, 0.5, trusting, 5, d);
        CHECK(s.what == action::fail);
        CHECK(s.forget);
        send_machine unsent(url, runtime, bhttp::verb::post, with_token, hop);
        s = unsent.on_answer({.ec = aerror::connection_refused, .request_written = false}, 1h, 0.5, trusting, 5, d);
        CHECK(s.what == action::send); // it never left: starting over sends it once
        CHECK(s.forget);
        send_machine refused(url, runtime, bhttp::verb::post, with_token, hop);
        s = answer(refused, status::misdirected_request); // the server says it did not take it
        CHECK(s.what == action::send);
    }
    SECTION("a remembered hop that answers is the answer, whatever its status") {
        send_machine m(url, runtime, bhttp::verb::get, with_token, hop);
        auto const s = answer(m, status::internal_server_error);
        CHECK(s.what == action::done);
        CHECK_FALSE(s.forget);
        CHECK_FALSE(s.remember);
    }
    SECTION("a cancellation ends the call at once and forgets nothing") {
        send_machine m(url, runtime, bhttp::verb::get, with_token, hop);
        auto const s = failure(m, aerror::operation_aborted);
        CHECK(s.what == action::fail);
        CHECK(s.ec == aerror::operation_aborted);
        CHECK_FALSE(s.forget);
    }
    SECTION("without a remembered hop, an error of a request that is not retry-safe ends the call") {
        send_machine m(url, runtime, bhttp::verb::get, with_token, std::nullopt);
        auto const s = m.on_answer({.ec = aerror::connection_reset, .request_written = true}, 1h, 0.5, trusting, 5, d);
        CHECK(s.what == action::fail);
        CHECK(s.ec == aerror::connection_reset);
    }
    SECTION("a hop remembered without credentials withholds them") {
        send_machine m(url, runtime, bhttp::verb::get, with_token, remembered_hop{runtime, design, false});
        CHECK(m.chain().credentials_withheld);
    }
    SECTION("token requests and credentials in the body neither use nor learn hops") {
        for (auto const settings : {send_machine::settings{.has_credentials = true, .may_remember = false},
                                    send_machine::settings{.body_has_credentials = true}}) {
            send_machine m(url, runtime, bhttp::verb::post, settings, hop);
            CHECK(m.chain().current_origin == runtime);
            auto s = answer(m, status::see_other, on_design); // 303: the body is dropped
            CHECK(s.what == action::send);
            CHECK(s.clear_body);
            CHECK(m.chain().method == bhttp::verb::get);
            s = answer(m, status::ok);
            CHECK(s.what == action::done);
            CHECK_FALSE(s.remember);
        }
    }
    SECTION("a GET that meets 503 is sent again after a backoff, up to max_retries; then the 503 is the answer") {
        send_machine::settings const retrying{.has_credentials = true, .retry_safe = true};
        send_machine m(url, runtime, bhttp::verb::get, retrying, std::nullopt);
        d.message = "what the 503 said";
        for (int retry = 0; retry < 2; ++retry) {
            auto const s = m.on_answer({.status = status::service_unavailable}, 1h, 0.5, trusting, 5, d);
            CHECK(s.what == action::send);
            CHECK(s.delay == 100ms * (1 << retry)); // half (the jitter) of 200 ms doubled per retry
            CHECK(d.message.empty());
        }
        auto const s = m.on_answer({.status = status::service_unavailable}, 1h, 0.5, trusting, 5, d);
        CHECK(s.what == action::done);
        CHECK(m.retries() == 2);
    }
    SECTION("Retry-After is the wait; past the deadline the call ends at once with the answer") {
        send_machine::settings const retrying{.retry_safe = true};
        for (auto const st : {status::too_many_requests, status::bad_gateway, status::gateway_timeout}) {
            send_machine m(url, runtime, bhttp::verb::get, retrying, std::nullopt);
            auto s = m.on_answer({.status = st, .retry_after = 3s}, 10s, 0.5, trusting, 5, d);
            CHECK(s.what == action::send);
            CHECK(s.delay == 3s);
            s = m.on_answer({.status = st, .retry_after = 30s}, 10s, 0.5, trusting, 5, d);
            CHECK(s.what == action::done);
            CHECK(m.retries() == 1);
        }
    }
    SECTION("only transient failures of retry-safe requests are retried") {
        send_machine::settings const retrying{.retry_safe = true};
        auto first_step = [&](send_machine::settings st, bhttp::verb v, send_machine::outcome o) {
            send_machine m(url, runtime, v, st, std::nullopt);
            return m.on_answer(o, 1h, 0.5, trusting, 5, d);
        };
        for (auto const ec : {error_code(aerror::connection_refused), error_code(aerror::connection_reset),
                              error_code(boost::beast::http::error::end_of_stream)})
            CHECK(first_step(retrying, bhttp::verb::get, {.ec = ec}).what == action::send);
        // The answer had begun: the server may have acted on it.
        auto s = first_step(retrying, bhttp::verb::get, {.ec = aerror::connection_reset, .answer_started = true});
        CHECK(s.what == action::fail);
        CHECK(s.ec == aerror::connection_reset);
        for (auto const ec : {error_code(error::timeout), error_code(aerror::operation_aborted),
                              error_code(boost::asio::ssl::error::unexpected_result)})
            CHECK(first_step(retrying, bhttp::verb::get, {.ec = ec}).what == action::fail);
        for (auto const st : {status::internal_server_error, status::not_implemented, status::unauthorized})
            CHECK(first_step(retrying, bhttp::verb::get, {.status = st}).what == action::done);
        // RFC 9110 9.2.2: a POST (not retry-safe) is sent again only when none of it went out.
        CHECK(first_step({}, bhttp::verb::post, {.status = status::service_unavailable, .retry_after = 1s}).what ==
              action::done);
        CHECK(first_step({}, bhttp::verb::post, {.ec = aerror::connection_refused, .request_written = false}).what ==
              action::send);
        CHECK(first_step({}, bhttp::verb::post, {.ec = aerror::connection_reset, .request_written = true}).what ==
              action::fail);
        CHECK(first_step({}, bhttp::verb::post,
                         {.ec = aerror::connection_reset, .answer_started = true, .request_written = false})
                  .what == action::fail);
        CHECK(first_step({.retry_safe = true, .retry = {.max_retries = 0}}, bhttp::verb::get,
                         {.status = status::service_unavailable})
                  .what == action::done);
    }
    SECTION("the retry budget: calls earn a part of a retry, each retry takes one") {
        send_machine::settings const retrying{.retry_safe = true};
        http::detail::retry_budget budget({.budget_ratio = 0.5, .budget_burst = 1});
        auto retried = [&] {
            send_machine m(url, runtime, bhttp::verb::get, retrying, std::nullopt, &budget);
            return m.on_answer({.status = status::service_unavailable}, 1h, 0.5, trusting, 5, d).what == action::send;
        };
        CHECK(retried());       // the burst
        CHECK_FALSE(retried()); // spent
        budget.on_call();
        CHECK_FALSE(retried()); // half a retry
        budget.on_call();
        CHECK(retried());
    }
    SECTION("the redirect limit and the policy's refusals end the call") {
        send_machine m(url, runtime, bhttp::verb::get, with_token, std::nullopt);
        CHECK(answer(m, status::temporary_redirect, on_design, 1).what == action::send);
        auto const s = answer(m, status::temporary_redirect, "https://third.example/", 1);
        CHECK(s.what == action::fail);
        CHECK(s.ec == error::too_many_redirects);
    }
}

TEST_CASE("Retry-After in seconds and in the three HTTP-date forms; the backoff's bounds", "[unit][retry]") {
    using http::detail::parse_retry_after;
    using namespace std::chrono;
    auto const now = sys_days(year(1994) / November / 6) + 8h + 49min + 7s; // 30 s before the RFC's example
    CHECK(parse_retry_after("120", now) == 120s);
    CHECK(parse_retry_after(" 0 ", now) == 0s);
    CHECK(parse_retry_after("99999999999999999999", now) == http::clock::duration::max());
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 30s);  // IMF-fixdate
    CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == 30s); // RFC 850
    CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == 30s);       // asctime
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == 0s);   // past: no wait
    for (auto const bad : {"", "-5", "1.5", "soon", "Sun, 30 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT",
                           "Sun, 06 Nov 1994", "06 Nov 1994 08:49:37 1995 1996"})
        CHECK_FALSE(parse_retry_after(bad, now));
    // Dates past 2262 do not fit in nanoseconds since 1970: the wait saturates (UBSan caught the overflow).
    CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) == http::clock::duration::max());
    CHECK(parse_retry_after("Mon, 01 Jan 2263 00:00:00 GMT", now) == sys_days(year(2263) / January / 1) - now);
    CHECK(parse_retry_after("Thu, 01 Jan 0001 00:00:00 GMT", now) == 0s);
    auto const later = system_clock::time_point(now) + 250ms; // a now with a fraction of a second
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later) == 29750ms);

    http::retry_options const o{.base_delay = 100ms, .max_delay = 1s};
    CHECK(http::detail::backoff(o, 0, 0.0) == 0ms);
    CHECK(http::detail::backoff(o, 0, 0.5) == 50ms);
    CHECK(http::detail::backoff(o, 3, 0.5) == 400ms);
    CHECK(http::detail::backoff(o, 40, 0.5) == 500ms); // capped, and no overflow
}

TEST_CASE("the Redis store's sealed tokens open only with the same secret, key and bytes", "[unit][fleet]") {
    using oic::redis::detail::sealer;
    using oic::redis::detail::stored_token;
    client_credentials creds;
    creds.token_url = "https://idcs.example/oauth2/v1/token";
    creds.client_id = "client-id-123";
    creds.scope = "urn:opc:resource:consumer::all";
    auto const key = oic::redis::detail::token_key("oic:token:", creds);
    CHECK(key.starts_with("oic:token:"));
    CHECK(key.size() == 10 + 64);
    CHECK(key.find("client-id-123") == std::string::npos);
    auto other = creds;
    other.scope = "another";
    CHECK(oic::redis::detail::token_key("oic:token:", other) != key);

    sealer const s(secret("the-client-secret"), key);
    REQUIRE(s.ok());
    stored_token const t{{secret("tok-VALUE-1"), "Bearer", std::chrono::seconds(3600), "scope-x"},
                         std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'000))};
    auto const value = s.seal(t);
    REQUIRE_FALSE(value.empty());
    CHECK(value.find("tok-VALUE-1") == std::string::npos); // sealed, not encoded
    CHECK(s.seal(t) != value);                             // a fresh nonce each time
    auto const opened = s.open(value);
    REQUIRE(opened);
    CHECK(opened->token.value.reveal() == "tok-VALUE-1");
    CHECK(opened->token.token_type == "Bearer");
    CHECK(opened->token.scope == "scope-x");
    CHECK(opened->token.expires_in == std::chrono::seconds(3600));
    CHECK(opened->expires_at == t.expires_at);

    CHECK_FALSE(sealer(secret("another-secret"), key).open(value));          // foreign
    CHECK_FALSE(sealer(secret("the-client-secret"), key + "x").open(value)); // copied from another key
    for (std::size_t i = 0; i < value.size(); ++i) {                         // any byte changed
        auto tampered = value;
        tampered[i] ^= 0x01;
        CHECK_FALSE(s.open(tampered));
    }
    CHECK_FALSE(s.open(value.substr(0, value.size() - 1)));
    CHECK_FALSE(s.open(""));
    CHECK_FALSE(s.open(R"({"access_token":"x"})"));
}

TEST_CASE("printable escapes what a terminal or a log would obey", "[unit][text]") {
    CHECK(printable("plain text, Zürich") == "plain text, Zürich");
    CHECK(printable("a\x1b[2Jb") == "a\\x1b[2Jb");
    CHECK(printable("line\r\nforged: entry") == "line\\x0d\\x0aforged: entry");
    CHECK(printable(std::string_view("nul\0x", 5)) == "nul\\x00x");
    CHECK(printable("del\x7f") == "del\\x7f");
    CHECK(printable("csi\xc2\x9b"
                    "31m") == "csi\\xc2\\x9b31m");
    CHECK(printable("back\\x1b") == "back\\\\x1b");
}

namespace {
/// Everything `source` gives, read `piece` bytes at a time; the error, if one ends it.
std::pair<std::string, error_code> drain(http::body_source& source, std::size_t piece) {
    std::string out, buf(piece, '\0');
    for (;;) {
        error_code ec;
        auto const n = source.read(asio::buffer(buf), ec);
        if (ec || n == 0)
            return {out, ec};
        out.append(buf, 0, n);
    }
}

} // namespace

TEST_CASE("a multipart body: framing, the boundary checked across every split, rewind", "[unit][upload]") {
    std::string const content = "PK\x03\x04 an archive\r\n-- not a boundary --B12 nor this\r\n";
    http::string_source file(content);
    http::multipart_source body(file, "file", "my \"odd\"\nname.iar", "application/octet-stream", "B123");
    std::string const expected =
        "--B123\r\nContent-Disposition: form-data; name=\"file\"; filename=\"my _odd__name.iar\""
        "\r\nContent-Type: application/octet-stream\r\n\r\n" +
        content + "\r\n--B123--\r\n";
    CHECK(body.content_type() == "multipart/form-data; boundary=B123");
    CHECK(body.size() == expected.size());
    for (std::size_t piece = 1; piece <= expected.size() + 1; ++piece) {
        REQUIRE(body.rewind());
        auto const [bytes, ec] = drain(body, piece);
        REQUIRE_FALSE(ec);
        REQUIRE(bytes == expected);
    }

    // The boundary in the content, at any offset and across any split, ends the body with an
    // error that says so (the server would otherwise end the part there).
    for (std::size_t at = 0; at <= 20; at += 5) {
        std::string holding = std::string(at, 'x') + "--B123" + std::string(7, 'y');
        for (std::size_t piece = 1; piece <= holding.size() + 1; ++piece) {
            http::string_source inner(holding);
            http::multipart_source colliding(inner, "file", "a.iar", "application/octet-stream", "B123");
            auto const [bytes, ec] = drain(colliding, piece);
            REQUIRE(ec);
            CHECK(colliding.describe(ec).find("boundary --B123") != std::string::npos);
        }
    }

    // A random boundary: 36 characters, a new one each time.
    http::string_source a(content), b(content);
    http::multipart_source one(a, "file", "x"), two(b, "file", "x");
    CHECK(one.boundary().size() == 36);
    CHECK(one.boundary() != two.boundary());

    // Rewinding needs the content again only once it was read.
    oic_test::once_source once(content);
    http::multipart_source over_once(once, "file", "x", "application/octet-stream", "B123");
    CHECK(over_once.rewind());
    CHECK(drain(over_once, 10).first.size() == over_once.size());
    CHECK_FALSE(over_once.rewind());
}

TEST_CASE("a file source names the file that cannot be sent, before any request", "[unit][upload]") {
    oic_test::scratch_folder folder;
    diagnostics d;
    http::file_source missing;
    CHECK(missing.open(folder.path() / "nope.iar", d) == boost::system::errc::no_such_file_or_directory);
    CHECK(d.message.find("nope.iar cannot be read") != std::string::npos);
    http::file_source a_folder;
    CHECK(a_folder.open(folder.path(), d) == boost::system::errc::is_a_directory);
    CHECK(d.message.find("is a folder") != std::string::npos);

    auto const path = folder.path() / "a.iar";
    std::ofstream(path, std::ios::binary) << std::string(100'000, 'z');
    http::file_source file;
    REQUIRE_FALSE(file.open(path, d));
    CHECK(file.size() == 100'000);
    CHECK(drain(file, 4096).first == std::string(100'000, 'z'));
    REQUIRE(file.rewind());
    std::filesystem::resize_file(path, 10); // shrinks while it is sent
    auto const [bytes, ec] = drain(file, 4096);
    CHECK(ec);
    CHECK(bytes.size() == 10);
    CHECK(file.describe(ec) == path.string() + " changed while it was being sent");

    // Progress: counted, reported, started again by a rewind.
    http::string_source text(std::string(1000, 'q'));
    std::vector<http::transfer_progress> reports;
    http::progress_source counted(
        text, [&](http::transfer_progress p) { reports.push_back(p); }, std::chrono::seconds(0));
    (void)drain(counted, 100);
    REQUIRE(reports.size() == 10);
    CHECK(reports.back().done == 1000);
    CHECK(reports.back().total == 1000);
    REQUIRE(counted.rewind());
    (void)drain(counted, 1000);
    CHECK(reports.back().done == 1000);
}

TEST_CASE("error conditions group codes from every category", "[unit][error]") {
    namespace aerr = boost::asio::error;
    struct row {
        error_code code;
        std::vector<condition> holds;
    };
    row const rows[] = {
        {error::bad_url, {condition::configuration}},
        {error::insecure_transport, {condition::configuration}},
        {error::token_rejected, {condition::token_endpoint}},
        {error::token_unsupported_type, {condition::token_endpoint}},
        {error::api_http_status, {condition::api}},
        {error::redirect_refused, {condition::api}},
        {error::api_too_many_pages, {condition::api}},
        {error::timeout, {condition::timeout, condition::network}},
        {error::response_too_large, {condition::network}},
        {aerr::timed_out, {condition::timeout, condition::network}},
        {aerr::connection_refused, {condition::network}},
        {boost::asio::ssl::error::stream_truncated, {condition::network}},
        {aerr::operation_aborted, {condition::cancelled}},
    };
    condition const all[] = {condition::configuration, condition::token_endpoint, condition::api,
                             condition::network,       condition::cancelled,      condition::timeout};
    for (auto const& r : rows) {
        INFO(r.code.message());
        for (auto c : all)
            CHECK((r.code == c) == (std::find(r.holds.begin(), r.holds.end(), c) != r.holds.end()));
    }
    CHECK(error_code(error::timeout).category() == error_category());
    CHECK(std::string(make_error_condition(condition::cancelled).category().name()) == "oic.condition");
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

TEST_CASE("the TLS socket BIO: EPIPE instead of SIGPIPE, and would-block as a retry", "[unit][tls]") {
    using oic::http::detail::socket_bio;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    BIO* const b = socket_bio::make(fds[0]);
    REQUIRE(b);
    char byte = 0;
    // Nothing to read yet: a retry, not an end of stream.
    CHECK(BIO_read(b, &byte, 1) < 0);
    CHECK(BIO_should_retry(b));
    CHECK(BIO_should_read(b));
    // The peer is gone: the write fails with EPIPE (with write(2), SIGPIPE would end this program).
    ::close(fds[1]);
    errno = 0;
    CHECK(BIO_write(b, "x", 1) < 0);
    CHECK(errno == EPIPE);
    CHECK_FALSE(BIO_should_retry(b));
    CHECK(BIO_read(b, &byte, 1) == 0); // end of stream
    BIO_free(b);
    ::close(fds[0]);
}

TEST_CASE("the loopback rule: a name allowed plaintext credentials as loopback connects only to loopback addresses",
          "[unit][security]") {
    using boost::asio::ip::tcp;
    auto endpoints = [](std::initializer_list<char const*> addresses) {
        std::vector<tcp::endpoint> v;
        for (auto const* a : addresses)
            v.emplace_back(boost::asio::ip::make_address(a), 6379);
        return v;
    };
    using http::detail::allowed_endpoints;
    std::string why;
    CHECK(allowed_endpoints("localhost", endpoints({"127.0.0.1", "::1", "127.8.9.10"}), why).size() == 3);
    CHECK(allowed_endpoints("redis-x.localhost", endpoints({"198.51.100.7", "127.0.0.1"}), why) ==
          endpoints({"127.0.0.1"}));
    CHECK(why.empty());
    // v4-mapped: not loopback to the rule (Asio's test agrees), although it would reach 127.0.0.1.
    CHECK(allowed_endpoints("redis-x.localhost", endpoints({"::ffff:127.0.0.1", "198.51.100.7"}), why).empty());
    CHECK(why == "redis-x.localhost is a loopback name but resolves to no loopback address");
    // Hosts that are not loopback keep their addresses (they get no plaintext credentials anyway).
    CHECK(allowed_endpoints("redis.example", endpoints({"198.51.100.7", "::ffff:127.0.0.1"}), why).size() == 2);
    CHECK(allowed_endpoints("::ffff:127.0.0.1", endpoints({"::ffff:127.0.0.1"}), why).size() == 1);
    CHECK_FALSE(http::is_loopback("::ffff:127.0.0.1"));
}

TEST_CASE("may_send: one answer per credential kind, origin and transport", "[unit][security]") {
    using http::credential_kind;
    using http::may_send;
    http::origin const token{"https", "idcs.example", 443}, api{"https", "design.example", 443},
        other_port{"https", "idcs.example", 8443}, plain{"http", "idcs.example", 80},
        local{"http", "redis-x.localhost", 6379}, local_ip{"http", "127.0.0.1", 6379},
        mapped{"http", "::ffff:127.0.0.1", 6379}, redis_tls{"https", "redis.internal", 6379};
    for (bool const trusted : {false, true}) {
        CAPTURE(trusted);
        CHECK(may_send(credential_kind::bearer, token, api, trusted) == trusted);   // the policy decides
        CHECK_FALSE(may_send(credential_kind::bearer, token, plain, trusted));      // never plaintext off loopback
        CHECK(may_send(credential_kind::client_secret, token, token, trusted));     // the token URL's origin...
        CHECK_FALSE(may_send(credential_kind::client_secret, token, api, trusted)); // ...only, whatever the policy
        CHECK_FALSE(may_send(credential_kind::client_secret, token, other_port, trusted));
        CHECK(may_send(credential_kind::redis_password, local, local, trusted));
        CHECK(may_send(credential_kind::redis_password, local_ip, local_ip, trusted));
        CHECK(may_send(credential_kind::redis_password, redis_tls, redis_tls, trusted));
        CHECK_FALSE(may_send(credential_kind::redis_password, mapped, mapped, trusted));
        CHECK_FALSE(may_send(credential_kind::redis_password, local, local_ip, trusted));
    }
}

namespace {

namespace td = oic::testing::detail;

/// What reading `body` fed in `pieces` (their sizes, summing to the body's) gives: the form, or
/// the error.
struct form_outcome {
    bool ok = false;
    std::string error;
    td::multipart_upload upload;

    bool operator==(form_outcome const& o) const {
        return ok == o.ok && error == o.error && upload.size == o.upload.size && upload.sha256 == o.upload.sha256 &&
               upload.filename == o.upload.filename && upload.first_line == o.upload.first_line &&
               upload.first_line_ended == o.upload.first_line_ended && upload.parts == o.upload.parts;
    }
};

form_outcome read_form(std::string_view boundary, std::string_view body, std::vector<std::size_t> const& pieces) {
    td::multipart_reader reader(boundary);
    std::size_t at = 0;
    bool ok = true;
    for (std::size_t n : pieces) {
        ok = reader.feed(body.substr(at, n)) && ok;
        at += n;
    }
    REQUIRE(at == body.size());
    ok = reader.finish() && ok;
    CHECK(ok == !reader.failed());
    return {ok, reader.error(), ok ? reader.upload() : td::multipart_upload{}};
}

/// `body` read whole, in two pieces split at every position, in three pieces split at every pair
/// of positions (bodies up to 700 bytes), one byte at a time and in 200 random splits: every way
/// gives the same outcome, which is returned.
form_outcome read_form_every_way(std::string_view boundary, std::string_view body) {
    form_outcome const whole = read_form(boundary, body, {body.size()});
    std::size_t differing = 0;
    auto const same = [&](std::vector<std::size_t> const& pieces) {
        if (!(read_form(boundary, body, pieces) == whole) && ++differing <= 3) {
            std::string sizes;
            for (auto n : pieces)
                sizes += std::to_string(n) + " ";
            FAIL_CHECK("pieces " << sizes << "read differently from the whole body");
        }
    };
    for (std::size_t split = 0; split <= body.size(); ++split)
        same({split, body.size() - split});
    if (body.size() <= 700)
        for (std::size_t a = 0; a <= body.size(); ++a)
            for (std::size_t b = a; b <= body.size(); ++b)
                same({a, b - a, body.size() - b});
    same(std::vector<std::size_t>(body.size(), 1));
    std::mt19937 random(7);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> pieces;
        for (std::size_t left = body.size(); left > 0;) {
            std::size_t const n = std::min(left, std::size_t{1} + random() % (round % 2 ? 5 : 300));
            pieces.push_back(n);
            left -= n;
        }
        same(pieces);
    }
    CHECK(differing == 0);
    return whole;
}

std::string file_part(std::string_view boundary, std::string_view content, std::string_view filename = "flow.iar") {
    return "--" + std::string(boundary) + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
           std::string(filename) + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + std::string(content) +
           "\r\n";
}

} // namespace

TEST_CASE("the multipart reader: every way of splitting a form reads the same file, delimiter look-alikes included",
          "[unit][mock][multipart]") {
    std::string const b = "----oicBoundary7MA4YWxkTrZu0gW";
    // Content that holds the boundary where it is no delimiter: after a lone LF (the first line's
    // end) or CR, after other text, after CRLF but cut short, and CRs at the very end.
    std::string const content = "OIC-MOCK-IAR SPLIT_FLOW|01.00.0000\n--" + b + "--x--" + b + "\n--" + b + "\r--" + b +
                                "\r\n-" + "\r\n--" + b.substr(0, b.size() - 1) + "Z\r\r\n\r\n--\r\r";
    std::string const body = "This is the preamble; --" + b + " in it is no delimiter either.\r\n--" + b +
                             "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--" + b + "  \t\r\n" +
                             "content-disposition: FORM-DATA; filename=\"a \\\"quoted\\\" name.iar\"; NAME=file\r\n" +
                             "Content-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" + b +
                             "--\r\nand an epilogue, with --" + b + "-- again\r\n";
    auto const outcome = read_form_every_way(b, body);
    REQUIRE(outcome.error == "");
    REQUIRE(outcome.ok);
    CHECK(outcome.upload.size == content.size());
    CHECK(outcome.upload.sha256 == oic::testing::sha256_hex(content));
    CHECK(outcome.upload.first_line == "OIC-MOCK-IAR SPLIT_FLOW|01.00.0000");
    CHECK(outcome.upload.first_line_ended);
    CHECK(outcome.upload.filename == "a \"quoted\" name.iar");
    CHECK(outcome.upload.parts == std::vector<std::string>{"note", "file"});

    SECTION("a body that starts with the delimiter, an empty file, a one-character boundary") {
        auto const empty = read_form_every_way("x", file_part("x", "") + "--x--");
        REQUIRE(empty.ok);
        CHECK(empty.upload.size == 0);
        CHECK(empty.upload.sha256 == oic::testing::sha256_hex(""));
        CHECK(empty.upload.first_line == "");
        CHECK_FALSE(empty.upload.first_line_ended);
    }
    SECTION("a mock archive: its first line names the integration") {
        auto const archive = oic::testing::make_mock_archive("HELLO|01.00.0000", 1000);
        auto const read = read_form_every_way("B", file_part("B", archive) + "--B--\r\n");
        REQUIRE(read.ok);
        CHECK(read.upload.size == 1000);
        CHECK(read.upload.sha256 == oic::testing::sha256_hex(archive));
        CHECK(read.upload.first_line == "OIC-MOCK-IAR HELLO|01.00.0000");
    }
    SECTION("the first line: at most 200 bytes, CRLF or LF") {
        auto const first = [](std::string const& content) {
            std::string const body = file_part("B", content) + "--B--";
            auto const r = read_form("B", body, {body.size()});
            REQUIRE(r.ok);
            return std::pair{r.upload.first_line, r.upload.first_line_ended};
        };
        CHECK(first(std::string(200, 'a') + "\r\nrest") == std::pair{std::string(200, 'a'), true});
        CHECK(first(std::string(200, 'a') + "\nrest") == std::pair{std::string(200, 'a'), true});
        CHECK(first(std::string(201, 'a') + "\n") == std::pair{std::string(200, 'a'), false});
        CHECK(first(std::string(200, 'a') + "\r") == std::pair{std::string(200, 'a'), false});
        CHECK(first("a\rb\n") == std::pair{std::string("a\rb"), true});
        CHECK(first("no line end") == std::pair{std::string("no line end"), false});
    }
}

TEST_CASE("the multipart reader refuses what RFC 7578 does not allow, wherever the body is split",
          "[unit][mock][multipart]") {
    std::string const b = "bNd";
    std::string const file = file_part(b, "OIC-MOCK-IAR X|1\nbytes");
    struct refused {
        std::string what, body, error;
    };
    std::vector<refused> const cases{
        {"no close delimiter", file, "ended before its close delimiter --bNd--."},
        {"the body ends inside the file", file.substr(0, file.size() - 4), "ended before its close delimiter"},
        {"the body ends inside a delimiter", file + "--bN", "ended before its close delimiter"},
        {"no delimiter at all", "just some text", "(and before any delimiter line)"},
        {"an empty body", "", "ended before its close delimiter --bNd-- (and before any delimiter line)."},
        {"no file part",
         "--bNd\r\nContent-Disposition: form-data; name=\"other\"; filename=\"x.iar\"\r\n\r\nOIC\r\n--bNd--",
         "No file is uploaded: the form has no part named \"file\"."},
        {"no part at all", "--bNd--\r\n", "No file is uploaded"},
        {"two file parts", file + file + "--bNd--", "The form has more than one part named \"file\"."},
        {"a part without Content-Disposition", file + "--bNd\r\nContent-Type: text/plain\r\n\r\nx\r\n--bNd--",
         "A part has no Content-Disposition header"},
        {"a part without any header", "--bNd\r\n\r\nx\r\n--bNd--", "A part has no Content-Disposition header"},
        {"Content-Disposition without a name", "--bNd\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx",
         "A part's Content-Disposition is not form-data with a name: 'form-data; filename=\"a\"'."},
        {"Content-Disposition that is not form-data", "--bNd\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\n",
         "is not form-data with a name"},
        {"an empty name", "--bNd\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n", "is not form-data with a name"},
        {"an unterminated quoted name", "--bNd\r\nContent-Disposition: form-data; name=\"file\r\n\r\n",
         "is not form-data with a name"},
        {"two Content-Disposition headers",
         "--bNd\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n",
         "more than one Content-Disposition"},
        {"a header line without a colon", "--bNd\r\nContent-Disposition form-data\r\n\r\n",
         "A part header line is malformed: 'Content-Disposition form-data'."},
        {"a folded header line", "--bNd\r\nContent-Disposition: form-data;\r\n name=\"file\"\r\n\r\n",
         "A part header line is malformed"},
        {"a bare LF in the headers", "--bNd\r\nContent-Disposition: form-data; name=\"file\"\n\r\n\r\n",
         "A part header line is malformed"},
        {"part headers over 8 KiB",
         "--bNd\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Pad: " + std::string(9000, 'p') + "\r\n\r\nx",
         "A part's header lines exceed 8 KiB."},
        {"text after a delimiter", "--bNdX\r\n", "A multipart delimiter line --bNd is followed by other text"},
        {"a delimiter line ending in a lone CR", "--bNd\rx", "is followed by other text than CRLF or --."},
        {"the delimiter inside the file, cut off", file.substr(0, file.size() - 2) + "\r\n--bNd-x",
         "is followed by other text"},
        {"a close delimiter with one dash", file + "--bNd-\r\n", "is followed by other text"},
    };
    for (auto const& c : cases) {
        CAPTURE(c.what);
        auto const outcome = read_form_every_way(b, c.body);
        CHECK_FALSE(outcome.ok);
        CHECK_THAT(outcome.error, Catch::Contains(c.error));
    }
    // Headers of exactly 8 KiB (their lines, CRLFs included) are taken.
    std::string const line = "Content-Disposition: form-data; name=\"file\"\r\n";
    std::string pad = "X-Pad: ";
    pad += std::string(td::multipart_reader::max_part_headers - line.size() - pad.size() - 2, 'p') + "\r\n";
    REQUIRE(line.size() + pad.size() == td::multipart_reader::max_part_headers);
    std::string const largest = "--bNd\r\n" + line + pad + "\r\nOIC\r\n--bNd--";
    CHECK(read_form_every_way(b, largest).ok);
    std::string const too_large = "--bNd\r\n" + line + "X" + pad + "\r\nOIC\r\n--bNd--";
    CHECK(read_form_every_way(b, too_large).error == "A part's header lines exceed 8 KiB.");
}

TEST_CASE("the multipart boundary comes from Content-Type: 1 to 70 allowed characters, quoted or not",
          "[unit][mock][multipart]") {
    auto const boundary = [](std::string_view content_type) {
        auto const found = td::form_data_boundary(content_type);
        if (auto const* refusal = std::get_if<td::multipart_refusal>(&found))
            return std::to_string(refusal->status) + " " + refusal->message;
        return "boundary " + std::get<std::string>(found);
    };
    CHECK(boundary("multipart/form-data; boundary=abc") == "boundary abc");
    CHECK(boundary("Multipart/Form-Data;BOUNDARY=\"a b:c?\"") == "boundary a b:c?");
    CHECK(boundary("multipart/form-data; charset=utf-8; boundary=\"x\\:y\"") == "boundary x:y");
    CHECK(boundary("multipart/form-data; boundary=" + std::string(70, 'z')) == "boundary " + std::string(70, 'z'));
    CHECK_THAT(boundary("multipart/form-data; boundary=" + std::string(71, 'z')),
               Catch::StartsWith("400 The multipart boundary '") && Catch::Contains("1 to 70"));
    CHECK_THAT(boundary("multipart/form-data; boundary=\"ends with space \""), Catch::StartsWith("400 "));
    CHECK_THAT(boundary("multipart/form-data; boundary=\"\""), Catch::StartsWith("400 "));
    CHECK_THAT(boundary("multipart/form-data; boundary=a[b]"), Catch::StartsWith("400 "));
    CHECK(boundary("multipart/form-data") == "400 The multipart/form-data Content-Type has no boundary parameter.");
    CHECK(boundary("multipart/form-data; name=boundary") ==
          "400 The multipart/form-data Content-Type has no boundary parameter.");
    CHECK(boundary("multipart/form-data; boundary") == "415 The body must be multipart/form-data, not "
                                                       "'multipart/form-data; boundary'.");
    CHECK(boundary("application/octet-stream") ==
          "415 The body must be multipart/form-data, not 'application/octet-stream'.");
    CHECK(boundary("") == "415 The body must be multipart/form-data, not ''.");
}

TEST_CASE("mock archives: the id on the first line, then bytes that do not compress, exactly the size asked",
          "[unit][mock]") {
    auto const a = oic::testing::make_mock_archive("FLOW|01.00.0000", 4096);
    CHECK(a.size() == 4096);
    CHECK(a.starts_with("OIC-MOCK-IAR FLOW|01.00.0000\n"));
    CHECK(a == oic::testing::make_mock_archive("FLOW|01.00.0000", 4096));
    CHECK(a.substr(29) != oic::testing::make_mock_archive("FLOW|02.00.0000", 4096).substr(29));
    CHECK(oic::testing::make_mock_archive("A|1", 17) == "OIC-MOCK-IAR A|1\n"); // the line and nothing else
    CHECK_THROWS_AS(oic::testing::make_mock_archive("A|1", 16), std::invalid_argument);
    CHECK_THROWS_AS(oic::testing::make_mock_archive("", 1000), std::invalid_argument);
    CHECK_THROWS_AS(oic::testing::make_mock_archive("A\n|1", 1000), std::invalid_argument);
    CHECK_THROWS_AS(oic::testing::make_mock_archive(std::string(188, 'A'), 1000), std::invalid_argument);
    CHECK(oic::testing::make_mock_archive(std::string(187, 'A'), 1000).size() == 1000);
}
