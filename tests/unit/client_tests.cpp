// oic/client.hpp over the scripted transport (tests/support/scripted_transport.hpp, no sockets): a
// typed call, its token fetch included, with a failure injected at every step in turn.

#include "common.hpp"
#include "scripted_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace asio = boost::asio;
namespace http = oic::http;
using oic::error_code;
using namespace std::chrono_literals;
using executor = asio::any_io_executor;
using scripted_client = oic::basic_client<executor, oic_test::scripted_connector>;

constexpr std::string_view the_secret = "s3cr3t-never-shown";
constexpr std::string_view the_token = "tok-never-shown";

std::string answer(int status, std::string_view body) {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           std::string(body);
}

/// The identity domain's token endpoint and OIC's connections, on loopback origins (plain http, as
/// the rules allow there).
std::string oic_answer(std::string_view head) {
    if (head.starts_with("POST /oauth2/v1/token "))
        return answer(200, R"({"access_token":")" + std::string(the_token) +
                               R"(","token_type":"Bearer","expires_in":3600})");
    if (head.starts_with("GET /ic/api/integration/v1/connections")) {
        if (head.find("\r\nAuthorization: Bearer " + std::string(the_token) + "\r\n") == std::string_view::npos)
            return answer(401, R"({"code":"401","message":"no token"})");
        return answer(200, R"({"items":[{"id":"A_CONN","name":"a"}],"hasMore":false,"totalResults":1})");
    }
    return answer(404, "{}");
}

struct client_fixture {
    asio::io_context ioc;
    std::shared_ptr<oic_test::script> s = std::make_shared<oic_test::script>(oic_test::script{.respond = oic_answer});

    /// A client over the script, without retries (a failure is the call's), with a short backoff
    /// after a failed token fetch.
    scripted_client make_client() {
        oic::client_config cfg;
        cfg.base_url = "http://127.0.0.1:8001";
        cfg.credentials.token_url = "http://127.0.0.1:8002/oauth2/v1/token";
        cfg.credentials.client_id = "client-id";
        cfg.credentials.client_secret = oic::secret(std::string(the_secret));
        cfg.credentials.scope = "urn:opc:resource:consumer::all";
        cfg.session.retry.max_retries = 0;
        cfg.token.failure_backoff = 1ms;
        http::basic_session<executor, oic_test::scripted_connector> session(
            ioc.get_executor(), cfg.session, http::never_forward{},
            oic_test::scripted_connector{ioc.get_executor(), s});
        oic::basic_shared_token<executor> token(session, cfg.credentials, cfg.token);
        return scripted_client(cfg, session, token);
    }

    /// One page of connections: the error (`diag` filled) or the page.
    std::tuple<error_code, oic::connections_page> get(scripted_client const& client, oic::diagnostics& diag) {
        return oic_test::run(
            ioc, oic::async_get_connections(client, oic::list_query{}, diag, asio::as_tuple(asio::use_awaitable)));
    }
};

} // namespace

TEST_CASE("the client with a failure injected at every step: the error, no secret in it; the next call answers",
          "[unit][client]") {
    client_fixture f;
    int const steps = oic_test::fail_each_step(*f.s, [&] {
        auto client = f.make_client();
        oic::diagnostics diag;
        auto const [ec, page] = f.get(client, diag);
        if (ec) {
            CHECK(ec == asio::error::connection_reset); // the injected error, whichever request met it
            CHECK_THAT(diag.message, Catch::Contains("127.0.0.1"));
            CHECK_THAT(diag.message, !Catch::Contains(std::string(the_secret)) && // nor in any later call
                                         !Catch::Contains(std::string(the_token)));
            CHECK(page.items.empty());
        } else {
            REQUIRE(page.items.size() == 1);
            CHECK(page.items[0].id == "A_CONN");
        }
        // Nothing of the failure stays behind: the token state, the pool's permits, the session. The
        // next call runs without a failure, and its steps are not the loop's.
        int const steps_of_the_call = f.s->steps;
        int const injected_at = std::exchange(f.s->fail_at, -1);
        oic::diagnostics next_diag;
        auto const [next_ec, next] = f.get(client, next_diag);
        CHECK_FALSE(next_ec);
        CHECK(next.items.size() == 1);
        CHECK(client.token().fetches() <= 2); // a failed fetch, then one that worked
        f.s->steps = steps_of_the_call;
        f.s->fail_at = injected_at;
    });
    CHECK(steps > 60); // the token's POST, then the call's GET: connects, writes, reads and waits
}
