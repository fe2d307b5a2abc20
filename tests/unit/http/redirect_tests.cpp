// oic/http/redirect.hpp and the send loop's machine (http/detail/send_machine.hpp): trusted hosts,
// the fixed rules, the chain's limits, the built-in policies, one host identity, what is
// remembered; the loopback rule and may_send.

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
} // namespace

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
