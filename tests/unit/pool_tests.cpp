// The connection pool and the connection's exchange over a scripted transport (no sockets): a
// failure injected at every step in turn, limits, permits, idle expiry and the deadline.

#include "common.hpp"
#include <oic/http/detail/pool.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <functional>
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

/// The server side of every scripted connection, and a step counter shared by all of them: the
/// step numbered `fail_at` (connect, handshake, read, write or wait) fails with `injected`.
struct script {
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"; // to each whole request
    bool stall = false; ///< reads wait until the deadline interrupts them
    int fail_at = -1;   ///< -1: no failure
    error_code injected = asio::error::connection_reset;
    int cancel_at = -1; ///< the step at which `cancel` is called, while the coroutine runs
    std::function<void()> cancel = {};
    int steps = 0;
    int connects = 0;
    int requests = 0;

    error_code step(bool cancel_here = true) {
        if (cancel_here && steps == cancel_at && cancel)
            cancel();
        return steps++ == fail_at ? injected : error_code{};
    }
};

/// A transport whose peer is `script`: small partial reads and writes, a would-block before every
/// other read, an answer once a whole request (a GET: up to the blank line) has been written.
class scripted_transport {
public:
    using executor_type = executor;
    scripted_transport(executor ex, std::shared_ptr<script> s) : s_(std::move(s)), stall_timer_(ex) {}

    executor_type get_executor() { return stall_timer_.get_executor(); }
    SSL* ssl() noexcept { return nullptr; }
    error_code start_handshake(http::origin const&) { return s_->step(); }
    http::detail::transport_step handshake_now() { return {}; }
    bool has_pending() const noexcept { return false; } // what it reads, it hands over whole

    http::detail::transport_step read_now(asio::mutable_buffer b) {
        if (auto ec = s_->step())
            return {ec};
        if (interrupted_)
            return {asio::error::eof}; // as a socket that was shut down
        if ((would_block_ = !would_block_) || pending_.empty())
            return {{}, 0, http::detail::want::read};
        auto const n = std::min({b.size(), pending_.size(), std::size_t{7}});
        pending_.copy(static_cast<char*>(b.data()), n);
        pending_.erase(0, n);
        return {{}, n};
    }

    http::detail::transport_step write_now(asio::const_buffer b) {
        if (auto ec = s_->step())
            return {ec};
        if (interrupted_)
            return {asio::error::broken_pipe};
        auto const n = std::min(b.size(), std::size_t{16});
        written_.append(static_cast<char const*>(b.data()), n);
        if (written_.ends_with("\r\n\r\n")) {
            ++s_->requests;
            written_.clear();
            if (!s_->stall)
                pending_ += s_->answer;
        }
        return {{}, n};
    }

    asio::awaitable<error_code, executor> wait(http::detail::want w) {
        int const step = s_->steps;
        if (auto ec = s_->step(false))
            co_return ec;
        if (w == http::detail::want::read && s_->stall && !interrupted_) {
            stall_timer_.expires_at(asio::steady_timer::time_point::max());
            co_await stall_timer_.async_wait(asio::as_tuple(asio::use_awaitable_t<executor>{}));
            co_return error_code{}; // woken by interrupt(): the next read sees the end of the stream
        }
        co_await asio::post(asio::use_awaitable_t<executor>{});
        if (step == s_->cancel_at && s_->cancel)
            s_->cancel(); // the wait is over, the coroutine not resumed yet
        co_return error_code{};
    }

    void interrupt() noexcept {
        interrupted_ = true;
        stall_timer_.cancel();
    }

private:
    std::shared_ptr<script> s_;
    asio::steady_timer stall_timer_;
    std::string written_;
    std::string pending_; // sent by the peer, not read yet
    bool would_block_ = false;
    bool interrupted_ = false;
};

struct scripted_connector {
    using transport_type = scripted_transport;
    executor ex;
    std::shared_ptr<script> s;

    asio::awaitable<std::tuple<error_code, std::optional<scripted_transport>>, executor>
    connect(http::origin const& o, asio::ssl::context*, http::clock::time_point, oic::diagnostics& diag) {
        if (auto ec = s->step())
            co_return std::tuple{oic::detail::report(diag, ec, "cannot connect to " + o.to_string()), std::nullopt};
        ++s->connects;
        co_return std::tuple{error_code{}, std::optional<scripted_transport>(std::in_place, ex, s)};
    }
};

using pool_type = http::detail::connection_pool<executor, scripted_connector>;

struct pool_fixture {
    asio::io_context ioc;
    asio::ssl::context tls{asio::ssl::context::tls_client};
    std::shared_ptr<script> s = std::make_shared<script>();
    http::origin const origin{"http", "api.example", 80};

    pool_type make_pool(std::size_t max_connections, http::clock::duration idle = 60s) {
        return pool_type(ioc.get_executor(), {max_connections, max_connections, idle, 4096},
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
    int failures = 0;
    for (int n = 0; n < 1000; ++n) {
        *f.s = script{.fail_at = n};
        auto pool = f.make_pool(2);
        // Two calls in a row, the second on the kept connection: every step of connect, exchange,
        // keep-alive and reuse is a place to fail.
        auto first = oic_test::run(f.ioc, f.get(pool));
        auto second = std::get<0>(first) ? first : oic_test::run(f.ioc, f.get(pool));
        auto const stats = pool.stats();
        if (auto const ec = std::get<0>(second)) {
            ++failures;
            INFO("failure injected at step " << n);
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
            continue;
        }
        CHECK(std::get<1>(second) == "hello");
        CHECK(f.s->connects == 1); // the second call reused the first connection
        CHECK(stats.reused == 1);
        CHECK(stats.idle == 1);
        CHECK(n == f.s->steps); // the first n where nothing was left to fail: every step was tried
        break;
    }
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
