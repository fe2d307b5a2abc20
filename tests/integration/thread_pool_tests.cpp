// The library where it lives: an async server whose io runs on an unstranded thread_pool. Calls
// start and are cancelled from their callers' own strands, at random moments, while the mock
// answers 503 with Retry-After, revokes tokens and answers late. Run under ASan and TSan by .ci/run.

#include "common.hpp"

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace oic;
using oic_test::config_for;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::size_t open_descriptors() {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {}));
}

/// How the calls of one storm ended.
struct storm_result {
    int ok = 0;
    int cancelled = 0;
    int timed_out = 0;
    int not_once = 0;             ///< calls whose handler ran other than exactly once
    std::set<std::string> others; ///< any other ending, as "code: message"
    /// The longest time from a cancellation to the handler of the call it ended.
    std::chrono::steady_clock::duration slowest_cancel{};

    std::string describe() const {
        std::string s = "ok " + std::to_string(ok) + ", cancelled " + std::to_string(cancelled) + ", timed out " +
                        std::to_string(timed_out) + ", not once " + std::to_string(not_once);
        for (auto const& o : others)
            s += "; other: " + o;
        return s;
    }
};

/**
 * Runs `n` calls, at most `in_flight` at once. Call `i` is started by `start(i, handler)` on a
 * strand of its own over `pool` (an unstranded thread_pool: the executor the calls' client holds),
 * with its handler (any `async_*` completion handler) bound to that strand; when `cancel_after(i)`
 * gives a delay, a timer on the same strand emits a terminal cancellation then, whether the call is
 * still running or not.
 */
template <class CancelAfter, class Start>
class pool_storm : public std::enable_shared_from_this<pool_storm<CancelAfter, Start>> {
public:
    pool_storm(asio::thread_pool& pool, int n, CancelAfter cancel_after, Start start)
        : n_(n), cancel_after_(std::move(cancel_after)), start_(std::move(start)) {
        for (int i = 0; i < n; ++i)
            calls_.push_back(std::make_unique<call>(pool));
    }

    storm_result run(int in_flight) {
        {
            std::lock_guard lock(mutex_);
            started_ = std::min(n_, in_flight);
        }
        for (int i = 0; i < std::min(n_, in_flight); ++i)
            launch(this->shared_from_this(), i);
        {
            std::unique_lock lock(mutex_);
            REQUIRE(cv_.wait_for(lock, 120s, [&] { return ended_ == n_; })); // a call that never ends is a hang
        }
        std::this_thread::sleep_for(100ms); // a handler run twice shows up by then
        storm_result r;
        for (auto const& c : calls_) {
            r.slowest_cancel = std::max(r.slowest_cancel, c->cancel_latency);
            if (c->invocations != 1)
                ++r.not_once;
            else if (!c->ec)
                ++r.ok;
            else if (c->ec == asio::error::operation_aborted)
                ++r.cancelled;
            else if (c->ec == condition::timeout)
                ++r.timed_out;
            else
                r.others.insert(c->ec.to_string() + ": " + c->ec.message());
        }
        return r;
    }

private:
    using strand = asio::strand<asio::thread_pool::executor_type>;
    struct call {
        explicit call(asio::thread_pool& p) : on(asio::make_strand(p)), canceller(on) {}
        strand on;
        asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, strand>
            canceller;
        asio::cancellation_signal signal;
        std::atomic<int> invocations{0};
        error_code ec;
        std::optional<std::chrono::steady_clock::time_point> cancelled_at; // on the strand
        std::chrono::steady_clock::duration cancel_latency{};
    };

    // Everything a call's handlers use is reached through `self`: the test's frame may be gone.
    static void launch(std::shared_ptr<pool_storm> self, int i) {
        call& c = *self->calls_[i];
        asio::post(c.on, [self, i, &c] {
            if (auto const delay = self->cancel_after_(i)) {
                c.canceller.expires_after(*delay);
                c.canceller.async_wait([self, &c](error_code ec) {
                    if (ec)
                        return;
                    c.cancelled_at = std::chrono::steady_clock::now();
                    c.signal.emit(asio::cancellation_type::terminal);
                });
            }
            auto on_end = [self, &c](error_code ec, auto&&...) {
                if (++c.invocations != 1)
                    return;
                c.ec = ec;
                c.canceller.cancel();
                if (c.cancelled_at)
                    c.cancel_latency = std::chrono::steady_clock::now() - *c.cancelled_at;
                std::optional<int> next;
                {
                    std::lock_guard lock(self->mutex_);
                    ++self->ended_;
                    if (self->started_ < self->n_)
                        next = self->started_++;
                }
                self->cv_.notify_all();
                if (next)
                    launch(self, *next);
            };
            self->start_(i, asio::bind_cancellation_slot(c.signal.slot(), asio::bind_executor(c.on, on_end)));
        });
    }

    int const n_;
    CancelAfter cancel_after_;
    Start start_;
    std::vector<std::unique_ptr<call>> calls_;
    std::mutex mutex_;
    std::condition_variable cv_;
    int started_ = 0; // guarded by mutex_
    int ended_ = 0;   // guarded by mutex_
};

template <class CancelAfter, class Start>
storm_result storm_on_pool(asio::thread_pool& pool, int n, int in_flight, CancelAfter cancel_after, Start start) {
    return std::make_shared<pool_storm<CancelAfter, Start>>(pool, n, std::move(cancel_after), std::move(start))
        ->run(in_flight);
}

client_config pool_config(testing::mock_server const& server) {
    auto cfg = config_for(server, server.design_url());
    cfg.session.max_connections = 8;
    // Every 503 is retried (the storm checks that each call ends in success or `cancelled`).
    cfg.session.retry = {
        .max_retries = 40, .base_delay = 5ms, .max_delay = 50ms, .budget_ratio = 1, .budget_burst = 1e9};
    return cfg;
}

connections_query one_item() {
    connections_query q;
    q.limit = 1;
    return q;
}

} // namespace

TEST_CASE("a server's thread pool: 2,000 calls cancelled at random from their callers' strands",
          "[integration][threads][cancel][storm]") {
    auto const descriptors = open_descriptors();
    std::random_device seed_source;
    auto const seed = seed_source();
    INFO("seed " << seed);
    {
        testing::mock_server server;
        testing::fault f;
        f.kind = testing::fault_kind::status;
        f.status = 503;
        f.retry_after = "1";
        f.probability = 0.3;
        server.add_fault("/ic/api/integration/v1/connections", f);
        server.set_token_latency(20ms); // the first callers wait for the token, and some are cancelled there

        asio::thread_pool pool(8);
        auto const cfg = pool_config(server);
        // Clients share one session (one pool of 8 connections) and one token, as a server's handlers do.
        http::session session(pool.get_executor(), cfg.session);
        shared_token token(session, cfg.credentials, cfg.token);
        std::vector<client> clients;
        for (int i = 0; i < 4; ++i)
            clients.emplace_back(cfg, session, token);

        std::mt19937 random(seed);
        std::vector<std::chrono::milliseconds> delays;
        for (int i = 0; i < 2000; ++i)
            delays.push_back(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1500)(random)));
        auto const q = one_item();
        auto const r = storm_on_pool(
            pool, 2000, 128, [&](int i) { return std::optional(delays[i]); },
            [&](int i, auto handler) {
                if (i == 1000) // mid-storm: every call in flight meets a 401, one refetch serves them all
                    server.revoke_tokens();
                async_get_connections(clients[i % clients.size()], q, std::move(handler));
            });
        INFO(r.describe());
        CHECK(r.not_once == 0);
        CHECK(r.others.empty());
        CHECK(r.timed_out == 0);
        CHECK(r.ok > 100);
        CHECK(r.cancelled > 100);
        auto const st = session.stats();
        CHECK(st.open == st.idle); // nothing in use: every lease went back, every permit too
        CHECK(server.get_counters().faults_injected > 100);
        CHECK(server.get_counters().token_requests <= 4); // the first fetch, the refetch after revocation, spare

        // The client is still usable: a call that nobody cancels succeeds.
        auto fut = async_get_connections(clients[0], q, asio::use_future);
        REQUIRE(fut.wait_for(30s) == std::future_status::ready);
        CHECK(fut.get().items.size() <= 1);

        clients.clear();
        pool.join();
    }
    CHECK(open_descriptors() == descriptors); // every socket closed, the server's and the client's
}

TEST_CASE("a thread pool: in-flight and queued calls cancelled from their strands end at once, the pool whole",
          "[integration][threads][cancel]") {
    testing::mock_server server;
    server.set_design_latency(2s);
    asio::thread_pool pool(4);
    auto cfg = config_for(server, server.design_url());
    cfg.session.max_connections = 4;
    cfg.session.total_timeout = 3500ms; // a permit that never came back would end a later call with a timeout
    client c(pool.get_executor(), cfg);
    auto const q = one_item();
    auto call = [&](int, auto handler) { async_get_connections(c, q, std::move(handler)); };

    for (int round = 0; round < 3; ++round) {
        INFO("round " << round);
        // 4 mid-exchange at the slow server, 4 waiting for a connection (and, in round 0, the token).
        auto const cancelled = storm_on_pool(
            pool, 8, 8, [](int) { return std::optional(100ms); }, call);
        INFO(cancelled.describe());
        CHECK(cancelled.cancelled == 8);
        CHECK(cancelled.not_once == 0);
        CHECK(cancelled.slowest_cancel < 1s); // at once, not when the server answers (2 s)

        // Every permit came back: 4 calls at once each get a connection (one missing would time out).
        auto const later = storm_on_pool(
            pool, 4, 4, [](int) { return std::optional<std::chrono::milliseconds>(); }, call);
        INFO(later.describe());
        CHECK(later.ok == 4);
    }
    auto const st = c.session().stats();
    CHECK(st.open == st.idle);
    CHECK(server.get_counters().tokens_issued == 1);
    pool.join();
}

TEST_CASE("a thread pool: 8 clients share one session, answers late, deadlines pass mid-connect and mid-exchange",
          "[integration][threads][timeout]") {
    auto const descriptors = open_descriptors();
    {
        testing::mock_server server;
        server.set_design_latency(400ms);
        asio::thread_pool pool(4);
        auto cfg = config_for(server, server.design_url());
        cfg.session.max_connections = 4;
        cfg.session.total_timeout = 2s;
        cfg.session.retry.max_retries = 0;
        http::session session(pool.get_executor(), cfg.session);
        shared_token token(session, cfg.credentials, cfg.token);
        std::vector<client> clients;
        for (int i = 0; i < 8; ++i)
            clients.emplace_back(cfg, session, token);
        auto const q = one_item();
        auto const r = storm_on_pool(
            pool, 96, 48, [](int) { return std::optional<std::chrono::milliseconds>(); },
            [&](int i, auto handler) { async_get_connections(clients[i % 8], q, std::move(handler)); });
        INFO(r.describe());
        CHECK(r.not_once == 0);
        CHECK(r.others.empty()); // never "Bad file descriptor": no socket is closed from another thread
        CHECK(r.ok > 0);
        CHECK(r.timed_out > 0);
        auto const st = session.stats();
        CHECK(st.open == st.idle);
        clients.clear();
        pool.join();
    }
    CHECK(open_descriptors() == descriptors);
}

TEST_CASE("a thread pool: imports cancelled from their strands while they wait for 100 Continue, upload or read "
          "the answer end at once, the pool whole",
          "[integration][threads][cancel][import]") {
    auto const descriptors = open_descriptors();
    {
        testing::mock_server server;
        server.set_honour_expect(false); // every import waits for 100 Continue first (up to 200 ms)
        asio::thread_pool pool(4);
        auto cfg = config_for(server, server.design_url());
        cfg.session.max_connections = 4;
        cfg.session.expect_continue_wait = 200ms;
        client c(pool.get_executor(), cfg);
        oic_test::scratch_folder folder;
        auto const file = folder.path() / "a.iar";
        std::ofstream(file, std::ios::binary) << testing::make_mock_archive("IMPORTED|01.00.0000", 3 * 1024 * 1024);
        asio::co_spawn(pool, import_integration(c, file), asio::use_future).get(); // the storm replaces it

        std::mt19937 random(7);
        std::vector<std::chrono::milliseconds> delays;
        for (int i = 0; i < 24; ++i)
            delays.push_back(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(random)));
        auto const r = storm_on_pool(
            pool, 24, 6,
            [&](int i) { return i % 4 == 3 ? std::nullopt : std::optional(delays[static_cast<std::size_t>(i)]); },
            [&](int, auto handler) {
                async_import_integration(c, file, import_mode::replace, {}, std::move(handler));
            });
        INFO(r.describe());
        CHECK(r.not_once == 0);
        CHECK(r.others.empty());
        CHECK(r.ok + r.cancelled == 24);
        CHECK(r.ok >= 6); // the ones never cancelled, at least
        CHECK(r.cancelled > 0);
        CHECK(r.slowest_cancel < 150ms); // at once, not when the wait, the upload or the server ends
        auto const st = c.session().stats();
        CHECK(st.open == st.idle);
        pool.join();
    }
    CHECK(open_descriptors() == descriptors);
}
