// oic/http/detail: the connection pool and the connection's exchange over the scripted transport
// (tests/support/scripted_transport.hpp, no sockets): a failure injected at every step in turn,
// limits, permits, idle expiry and the deadline; the socket transport's TLS branches against a
// TLS peer the test drives step by step.

#include "common.hpp"
#include "scripted_transport.hpp"
#include <oic/http/detail/pool.hpp>
#include <oic/testing/test_ca.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace http = oic::http;
using oic::error_code;
using namespace std::chrono_literals;
using executor = asio::any_io_executor;
using oic_test::script;
using oic_test::scripted_connector;

using pool_type = http::detail::connection_pool<executor, scripted_connector>;

struct pool_fixture {
    asio::io_context ioc;
    asio::ssl::context tls{asio::ssl::context::tls_client};
    std::shared_ptr<script> s = std::make_shared<script>();
    http::origin const origin{"http", "api.example", 80};

    pool_type make_pool(std::size_t max_connections, http::clock::duration idle = 60s,
                        std::size_t max_connecting = std::numeric_limits<std::size_t>::max()) {
        return pool_type(ioc.get_executor(), {max_connections, max_connections, idle, 4096, max_connecting},
                         scripted_connector{ioc.get_executor(), s});
    }

    /// One GET on a connection of `pool`, kept if the answer allows: the error or the body.
    asio::awaitable<std::tuple<error_code, std::string>, executor> get(pool_type& pool,
                                                                       http::clock::duration timeout = 5s) {
        co_await asio::this_coro::throw_if_cancelled(false); // as the library's operations run
        oic::diagnostics diag;
        auto const deadline = http::clock::now() + timeout;
        auto [ec, lease] = co_await pool.acquire(origin, tls, 5s, deadline, diag);
        if (ec)
            co_return std::tuple{ec, std::string()};
        http::request req{boost::beast::http::verb::get, "/ic/api/integration/v1/connections", 11};
        req.set(boost::beast::http::field::host, origin.authority());
        auto [xec, res] = co_await lease->exchange(req, {.body = 1024, .header = 1024}, deadline);
        if (xec)
            co_return std::tuple{oic::detail::map_transport_error(xec), std::string()};
        lease.keep_alive(res.keep_alive() && lease->drained());
        co_return std::tuple{error_code{}, res.body()};
    }
};

} // namespace

TEST_CASE("connection permits: first come first served, a deadline, and a cancelled wait takes nothing",
          "[unit][pool]") {
    using permits_type = http::detail::connection_permits<asio::any_io_executor>;
    asio::io_context ioc;
    auto const permits = std::make_shared<permits_type>(1);
    auto acquire = [&](std::chrono::milliseconds wait) { return permits->acquire(http::clock::now() + wait); };

    CHECK(oic_test::run(ioc, acquire(1s)) == error_code{}); // the only permit
    auto const t0 = std::chrono::steady_clock::now();
    CHECK(oic_test::run(ioc, acquire(50ms)) == oic::error::timeout);
    CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);

    std::vector<int> granted;
    error_code cancelled;
    asio::cancellation_signal signal;
    for (int i = 0; i < 2; ++i)
        asio::co_spawn(ioc, acquire(5s), [&, i](std::exception_ptr e, error_code ec) {
            REQUIRE_FALSE(e);
            CHECK_FALSE(ec);
            granted.push_back(i);
        });
    asio::co_spawn(ioc, acquire(5s),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, error_code ec) {
                       REQUIRE_FALSE(e);
                       cancelled = ec;
                   }));
    ioc.restart();
    ioc.run_for(20ms);
    CHECK(granted.empty()); // all three queued
    signal.emit(asio::cancellation_type::terminal);
    ioc.run_for(20ms);
    CHECK(cancelled == asio::error::operation_aborted);
    permits->release();
    ioc.run_for(20ms);
    CHECK(granted == std::vector<int>{0}); // in turn
    permits->release();
    ioc.run_for(20ms);
    CHECK(granted == std::vector<int>{0, 1});
    // The cancelled waiter took nothing: once the last holder gives it back, one permit is free, not two.
    permits->release();
    ioc.restart();
    CHECK(oic_test::run(ioc, acquire(1s)) == error_code{});
    CHECK(oic_test::run(ioc, acquire(20ms)) == oic::error::timeout);
}

TEST_CASE("the pool with a failure injected at every step: a clean error, nothing leaked, then success",
          "[unit][pool]") {
    pool_fixture f;
    int const failures = oic_test::fail_each_step(*f.s, [&] {
        auto pool = f.make_pool(2);
        // Two calls in a row, the second on the kept connection: every step of connect, exchange,
        // keep-alive and reuse is a place to fail.
        auto first = oic_test::run(f.ioc, f.get(pool));
        auto second = std::get<0>(first) ? first : oic_test::run(f.ioc, f.get(pool));
        auto const stats = pool.stats();
        if (auto const ec = std::get<0>(second)) {
            CHECK(ec == asio::error::connection_reset); // the injected error, as it happened
            CHECK(stats.idle == 0);                     // a failed connection is never kept
            CHECK(stats.open == 0);
            // Both permits came back: two connections at once, with an immediate deadline for any wait.
            auto both = [&]() -> asio::awaitable<int, executor> {
                oic::diagnostics diag;
                auto [e1, l1] = co_await pool.acquire(f.origin, f.tls, 1s, http::clock::now() + 10ms, diag);
                auto [e2, l2] = co_await pool.acquire(f.origin, f.tls, 1s, http::clock::now() + 10ms, diag);
                co_return int(!e1) + int(!e2);
            };
            f.s->fail_at = -1;
            CHECK(oic_test::run(f.ioc, both()) == 2);
            return;
        }
        CHECK(std::get<1>(second) == "hello");
        CHECK(f.s->connects == 1); // the second call reused the first connection
        CHECK(stats.reused == 1);
        CHECK(stats.idle == 1);
    });
    CHECK(failures > 40); // connect, handshake, and many partial writes, reads and waits
}

TEST_CASE("the pool: connection limit, a permit wait that times out, idle expiry", "[unit][pool]") {
    pool_fixture f;
    SECTION("a caller over the limit waits; past its deadline it gets a timeout that names the origin") {
        auto pool = f.make_pool(1);
        auto over_the_limit = [&]() -> asio::awaitable<std::tuple<error_code, std::string>, executor> {
            oic::diagnostics d1, d2;
            auto [e1, held] = co_await pool.acquire(f.origin, f.tls, 1s, http::clock::now() + 1s, d1);
            REQUIRE_FALSE(e1);
            auto [e2, refused] = co_await pool.acquire(f.origin, f.tls, 1s, http::clock::now() + 30ms, d2);
            co_return std::tuple{e2, d2.message};
        };
        auto const t0 = std::chrono::steady_clock::now();
        auto const refused = oic_test::run(f.ioc, over_the_limit());
        CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
        CHECK(std::get<0>(refused) == oic::error::timeout);
        CHECK(std::get<1>(refused) == "no free connection to http://api.example:80 before the deadline");
        CHECK(pool.stats().open == 0); // the held lease, never used for an answer, was closed
        CHECK(std::get<1>(oic_test::run(f.ioc, f.get(pool))) == "hello");
    }
    SECTION("idle connections past idle_timeout are closed, not reused") {
        auto pool = f.make_pool(2, 0s);
        CHECK(std::get<1>(oic_test::run(f.ioc, f.get(pool))) == "hello");
        CHECK(pool.stats().idle == 1);
        CHECK(std::get<1>(oic_test::run(f.ioc, f.get(pool))) == "hello");
        CHECK(f.s->connects == 2);
        CHECK(pool.stats().closed_idle == 1);
        CHECK(pool.stats().reused == 0);
    }
    SECTION("an answer that asks to close is not kept") {
        f.s->answer = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello";
        auto pool = f.make_pool(2);
        CHECK(std::get<1>(oic_test::run(f.ioc, f.get(pool))) == "hello");
        CHECK(pool.stats().open == 0);
    }
    SECTION("more bytes than the answer: the connection is not trusted with the next request") {
        f.s->answer += "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";
        auto pool = f.make_pool(2);
        CHECK(std::get<1>(oic_test::run(f.ioc, f.get(pool))) == "hello");
        CHECK(pool.stats().open == 0);
    }
}

TEST_CASE("a burst on a cold pool opens its connections a few at a time; a turn not come by the deadline "
          "is a timeout",
          "[unit][pool]") {
    pool_fixture f;
    f.s->connect_time = 20ms;
    auto pool = f.make_pool(8, 60s, 2);
    std::vector<std::string> bodies;
    for (int i = 0; i < 6; ++i)
        asio::co_spawn(f.ioc, f.get(pool), [&](std::exception_ptr e, std::tuple<error_code, std::string> r) {
            REQUIRE_FALSE(e);
            CHECK_FALSE(std::get<0>(r));
            bodies.push_back(std::get<1>(r));
        });
    f.ioc.run_for(10s);
    CHECK(bodies == std::vector<std::string>(6, "hello"));
    CHECK(f.s->connects == 6);
    CHECK(f.s->most_connecting == 2); // six at once without the limit
    CHECK(pool.stats().idle == 6);

    SECTION("a caller whose turn to connect does not come before its deadline: a timeout, nothing kept open") {
        auto fresh = f.make_pool(8, 60s, 1);
        f.s->connect_time = 100ms;
        std::tuple<error_code, std::string> first, late;
        asio::co_spawn(f.ioc, f.get(fresh), [&](std::exception_ptr, auto r) { first = std::move(r); });
        asio::co_spawn(f.ioc, f.get(fresh, 30ms), [&](std::exception_ptr, auto r) { late = std::move(r); });
        f.ioc.restart();
        f.ioc.run_for(10s);
        CHECK(std::get<1>(first) == "hello");
        CHECK(std::get<0>(late) == oic::error::timeout);
        CHECK(fresh.stats().open == 1); // the first one's, idle; the late caller's place was given back
    }
}

TEST_CASE("the exchange's deadline interrupts a transport that never answers", "[unit][pool]") {
    pool_fixture f;
    f.s->stall = true;
    auto pool = f.make_pool(1);
    auto const t0 = std::chrono::steady_clock::now();
    CHECK(std::get<0>(oic_test::run(f.ioc, f.get(pool, 50ms))) == oic::error::timeout);
    CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
    CHECK(pool.stats().open == 0);
    f.s->stall = false; // the permit came back: the next call gets a connection and its answer
    CHECK(std::get<1>(oic_test::run(f.ioc, f.get(pool))) == "hello");
}

TEST_CASE("a cancellation that arrives while the call waits on nothing is not lost", "[unit][pool][cancel]") {
    // Emitted from inside each step in turn (the coroutine running, no operation waiting: as when it
    // arrives between an operation's completion and the coroutine's resumption), with a server that
    // never answers: the call ends cancelled at once, never at its deadline.
    int steps = 0;
    {
        pool_fixture f;
        f.s->stall = true;
        auto pool = f.make_pool(1);
        CHECK(std::get<0>(oic_test::run(f.ioc, f.get(pool, 20ms))) == oic::error::timeout);
        // The last two steps: the wait that stalls (a real wait, which a cancellation reaches) and
        // the read after the deadline ended it.
        steps = f.s->steps - 2;
    }
    REQUIRE(steps > 4);
    for (int at = 0; at < steps; ++at) {
        INFO("cancelled at step " << at << " of " << steps);
        pool_fixture f;
        f.s->stall = true;
        f.s->cancel_at = at;
        asio::cancellation_signal signal;
        f.s->cancel = [&] { signal.emit(asio::cancellation_type::terminal); };
        auto pool = f.make_pool(1);
        std::optional<error_code> result;
        asio::co_spawn(f.ioc, f.get(pool, 5s),
                       asio::bind_cancellation_slot(signal.slot(),
                                                    [&](std::exception_ptr e, std::tuple<error_code, std::string> r) {
                                                        REQUIRE_FALSE(e);
                                                        result = std::get<0>(r);
                                                    }));
        f.ioc.run_for(1s);
        REQUIRE(result);
        CHECK(*result == asio::error::operation_aborted);
    }
}

TEST_CASE("a permit handed over as its waiter is cancelled: the waiter ends cancelled, the permit not lost",
          "[unit][pool][cancel]") {
    // Both in the same turn: wake() and the cancellation. A later wait checks the state first.
    using permits_type = http::detail::connection_permits<asio::any_io_executor>;
    asio::io_context ioc;
    permits_type permits(1);
    CHECK(oic_test::run(ioc, permits.acquire(http::clock::now() + 1s)) == error_code{});
    asio::cancellation_signal signal;
    std::optional<error_code> first, second;
    auto const body = [&]() -> asio::awaitable<void> {
        co_await asio::this_coro::throw_if_cancelled(false); // as the library's operations run
        first = co_await permits.acquire(http::clock::now() + 5s);
        second = co_await permits.acquire(http::clock::now() + 5s); // none free, cancelled before it began
        if (!*first)
            permits.release();
    };
    asio::co_spawn(ioc, body(), asio::bind_cancellation_slot(signal.slot(), asio::detached));
    ioc.restart();
    ioc.run_for(20ms);
    asio::post(ioc, [&] { // on the coroutine's thread: the cancellation reaches the frame at once
        permits.release();
        signal.emit(asio::cancellation_type::terminal);
    });
    ioc.run_for(100ms);
    REQUIRE(first);
    CHECK(*first == error_code{}); // handed over: ours, and given back
    REQUIRE(second);
    CHECK(*second == asio::error::operation_aborted);
    CHECK(oic_test::run(ioc, permits.acquire(http::clock::now() + 20ms)) == error_code{}); // one permit, free
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

// ---------------------------------------------------------------------------------------------------
// The socket transport's TLS branches, against a TLS peer the test drives step by step.
// ---------------------------------------------------------------------------------------------------

namespace {

using tls_transport = http::detail::socket_transport<asio::io_context::executor_type>;
using http::detail::want;

/// An OpenSSL server on one end of a socket pair, moved one step at a time by the test, and the
/// library's transport on the other end (trusting the test CA, checking the name `localhost`):
/// both non-blocking, in one thread, so that each branch of the transport is reached on purpose.
class tls_pair {
public:
    /// `max_version`: the highest TLS version the server offers.
    explicit tls_pair(int max_version = TLS1_3_VERSION) {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
        client_fd_ = fds[0];
        server_fd_ = fds[1];
        oic::testing::trust_test_ca(client_ctx_, certs_);
        tls_transport::socket_type socket(ioc_);
        socket.assign(asio::ip::tcp::v4(), client_fd_); // a descriptor is a descriptor to the transport
        client_.emplace(std::move(socket), &client_ctx_);
        server_.reset(SSL_new(server_ctx_.native_handle()));
        REQUIRE(server_);
        SSL_set_fd(server_.get(), server_fd_);
        SSL_set_max_proto_version(server_.get(), max_version);
        SSL_set_accept_state(server_.get());
    }
    tls_pair(tls_pair const&) = delete;
    tls_pair& operator=(tls_pair const&) = delete;
    ~tls_pair() {
        client_.reset(); // closes the client's descriptor
        server_.reset();
        ::close(server_fd_);
    }

    tls_transport& client() { return *client_; }
    SSL* server() { return server_.get(); }
    int client_fd() const { return client_fd_; }
    int server_fd() const { return server_fd_; }

    /// Both handshakes to their end, a step of each in turn; false if one fails or they stall.
    bool handshake() {
        if (client_->start_handshake(http::origin{"https", "localhost", 443}))
            return false;
        bool client_done = false, server_done = false;
        for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
            if (!client_done) {
                auto const step = client_->handshake_now();
                if (step.ec)
                    return false;
                client_done = step.wait == want::nothing;
            }
            if (!server_done) {
                int const r = SSL_do_handshake(server_.get());
                int const e = SSL_get_error(server_.get(), r);
                if (r != 1 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                    return false;
                server_done = r == 1;
            }
        }
        return client_done && server_done;
    }

    /// The server sends `text` (whole: the socket's buffer has room for it).
    void server_write(std::string_view text) {
        std::size_t n = 0;
        REQUIRE(SSL_write_ex(server_.get(), text.data(), text.size(), &n) == 1);
        REQUIRE(n == text.size());
    }

    /// The client's reads until bytes stop coming: what they gave, and the last step (an error or
    /// a wait).
    std::pair<std::string, http::detail::transport_step> client_read() {
        std::string got;
        char buf[256];
        http::detail::transport_step step;
        for (int i = 0; i < 1000; ++i) {
            step = client_->read_now(asio::buffer(buf));
            got.append(buf, step.bytes);
            if (step.ec || step.wait != want::nothing)
                break;
        }
        return {got, step};
    }

private:
    asio::io_context ioc_;
    oic::testing::test_certificates certs_ = oic::testing::make_test_certificates();
    asio::ssl::context server_ctx_ = oic::testing::make_test_server_context(certs_);
    asio::ssl::context client_ctx_{asio::ssl::context::tls_client};
    int client_fd_ = -1;
    int server_fd_ = -1;
    std::unique_ptr<SSL, decltype(&SSL_free)> server_{nullptr, &SSL_free};
    std::optional<tls_transport> client_;
};

} // namespace

TEST_CASE("the TLS transport: close_notify ends the stream, a cut without it is truncation", "[unit][tls]") {
    tls_pair p;
    REQUIRE(p.handshake());
    p.server_write("last words");
    SECTION("close_notify: the end of the stream, after every byte") {
        REQUIRE(SSL_shutdown(p.server()) >= 0); // sends close_notify
        auto const [got, step] = p.client_read();
        CHECK(got == "last words");
        CHECK(step.ec == asio::error::eof);
    }
    SECTION("the connection cut without close_notify: truncation, not an end, after every byte") {
        REQUIRE(::shutdown(p.server_fd(), SHUT_WR) == 0);
        auto const [got, step] = p.client_read();
        CHECK(got == "last words");
        CHECK(step.ec == asio::ssl::error::stream_truncated);
    }
    SECTION("nothing more yet: a wait to read, no error") {
        auto const [got, step] = p.client_read();
        CHECK(got == "last words");
        CHECK_FALSE(step.ec);
        CHECK(step.wait == want::read);
    }
}

TEST_CASE("the TLS transport: a renegotiation read while the send buffer is full makes the read wait to write",
          "[unit][tls]") {
    tls_pair p(TLS1_2_VERSION); // TLS 1.2: the server may ask for a new handshake
    REQUIRE(p.handshake());
    // Fill the client's side of the socket until not even a byte fits (raw bytes: the server reads
    // them as such, below, never as TLS).
    std::string const chunk(4096, 'x');
    std::size_t filled = 0;
    for (std::size_t const size : {4096, 256, 16, 1})
        for (ssize_t n; (n = ::send(p.client_fd(), chunk.data(), size, MSG_DONTWAIT)) > 0;)
            filled += static_cast<std::size_t>(n);
    REQUIRE(filled > 0);
    // The server asks for a new handshake: the client must write its hello as it reads.
    REQUIRE(SSL_renegotiate(p.server()) == 1);
    REQUIRE(SSL_do_handshake(p.server()) == 1); // the hello request is out
    auto const [before, blocked] = p.client_read();
    CHECK(before.empty());
    CHECK_FALSE(blocked.ec);
    CHECK(blocked.wait == want::write); // not an error, nor a wait to read that would never end
    // The server makes room; the reads go on: the new handshake, then the bytes sent after it.
    std::vector<char> sink(filled);
    std::size_t drained = 0;
    for (ssize_t n; (n = ::recv(p.server_fd(), sink.data(), sink.size(), MSG_DONTWAIT)) > 0;)
        drained += static_cast<std::size_t>(n);
    CHECK(drained == filled); // nothing of the client's hello had gone out
    std::string after;
    for (int i = 0; i < 100 && SSL_renegotiate_pending(p.server()); ++i) {
        auto [got, step] = p.client_read();
        after += got;
        REQUIRE_FALSE(step.ec);
        char byte;
        std::size_t n = 0;
        REQUIRE(SSL_read_ex(p.server(), &byte, 1, &n) == 0); // the server's side of the new handshake
        ERR_clear_error();
    }
    CHECK(SSL_renegotiate_pending(p.server()) == 0);
    p.server_write("after the new handshake");
    auto const [got, step] = p.client_read();
    CHECK(after + got == "after the new handshake");
    CHECK_FALSE(step.ec);
}
