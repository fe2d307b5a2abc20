// oic/http/session.hpp over the scripted transport (tests/support/scripted_transport.hpp, no
// sockets): the whole send (pool, exchange, the redirect, the retries) with a failure injected at
// every step in turn.

#include "common.hpp"
#include "scripted_transport.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace http = oic::http;
using oic::error_code;
using namespace std::chrono_literals;
using executor = asio::any_io_executor;
using scripted_session = http::basic_session<executor, oic_test::scripted_connector>;

/// `GET /a` is redirected (307) to `/b` on the same origin, which answers `hello`.
std::string answer(std::string_view head) {
    if (head.starts_with("GET /a "))
        return "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://api.example/b\r\nContent-Length: 0\r\n\r\n";
    if (head.starts_with("GET /b "))
        return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
}

struct session_fixture {
    asio::io_context ioc;
    std::shared_ptr<oic_test::script> s = std::make_shared<oic_test::script>(oic_test::script{.respond = answer});

    /// A session over the script: `max_retries` retries, after a millisecond or two.
    scripted_session make_session(int max_retries) {
        http::session_options o;
        o.retry.max_retries = max_retries;
        o.retry.base_delay = 1ms;
        o.retry.max_delay = 2ms;
        return scripted_session(ioc.get_executor(), o, http::never_forward{},
                                oic_test::scripted_connector{ioc.get_executor(), s});
    }

    /// `GET http://api.example/a`, redirects followed: the error (`diag` filled) or the reply.
    std::tuple<error_code, http::reply> get(scripted_session const& session, oic::diagnostics& diag) {
        auto url = *http::urls::parse_uri("http://api.example/a");
        return oic_test::run(ioc, session.send(url, http::make_request(boost::beast::http::verb::get), {}, diag));
    }
};

} // namespace

TEST_CASE("the session with a failure injected at every step: the error, named, nothing kept; or the answer",
          "[unit][session]") {
    session_fixture f;
    int recovered = 0;
    int const steps = oic_test::fail_each_step(*f.s, [&] {
        auto session = f.make_session(0);
        oic::diagnostics diag;
        auto const [ec, reply] = f.get(session, diag);
        auto const stats = session.stats();
        if (ec) {
            CHECK(ec == asio::error::connection_reset);               // the injected error, as it happened
            CHECK_THAT(diag.message, Catch::Contains("api.example")); // where
            CHECK(stats.open == 0);                                   // a failed connection is never kept
            return;
        }
        // Done without a retry: a kept connection that fails before the answer is opened again.
        recovered += f.s->fail_at < f.s->steps;
        CHECK(reply.message.body() == "hello");
        CHECK(reply.url.buffer() == "http://api.example/b");
        CHECK(reply.retries == 0);
        CHECK(stats.open == 1);
        CHECK(stats.idle == 1);
    });
    CHECK(steps > 40); // connect, handshake, and the partial writes, reads and waits of two exchanges
    CHECK(recovered > 0);
}

TEST_CASE("the session's retries: a failure before the answer starts is sent again, one after it is the error",
          "[unit][session]") {
    session_fixture f;
    oic::diagnostics diag;
    REQUIRE_FALSE(std::get<0>(f.get(f.make_session(2), diag)));
    int const answer_at = f.s->first_answer_step; // the clean run's read of an answer's first byte
    REQUIRE(answer_at > 5);                       // after the connect, the handshake, the writes
    for (int n = 0; n <= answer_at + 1; ++n) {    // up to the first step after that byte
        INFO("failure injected at step " << n);
        f.s->restart(n);
        auto session = f.make_session(2);
        auto const [ec, reply] = f.get(session, diag);
        if (n <= answer_at) { // that read fails before it hands the byte over
            REQUIRE_FALSE(ec);
            CHECK(reply.message.body() == "hello");
            CHECK(reply.retries == 1);
            CHECK(f.s->connects == (n == 0 ? 1 : 2)); // a new connection for the retry (step 0: the connect)
        } else {
            CHECK(ec == asio::error::connection_reset); // the server may have acted on it
            CHECK(session.stats().open == 0);
        }
    }
}
