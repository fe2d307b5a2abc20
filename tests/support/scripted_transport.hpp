#pragma once
// A scripted transport for the connection, the pool and the exchange (no sockets), and Beast's
// fail-count loop over it: the step numbered n (a connect, a handshake, a read, a write or a wait)
// fails, for n = 0, 1, 2, ... until a run gets past its last step. The model is Beast's
// `test::stream` with `test::fail_count`.

#include <oic/http/detail/pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace oic_test {

namespace asio = boost::asio;
using scripted_executor = asio::any_io_executor;

/// The server side of every scripted connection, and a step counter shared by all of them: the
/// step numbered `fail_at` (connect, handshake, read, write or wait) fails with `injected`.
struct script {
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"; // to each whole request
    std::function<std::string(std::string_view head)> respond = {};           ///< when set, the answer to each request
    bool stall = false; ///< reads wait until the deadline interrupts them
    int fail_at = -1;   ///< -1: no failure
    oic::error_code injected = asio::error::connection_reset;
    int cancel_at = -1; ///< the step at which `cancel` is called, while the coroutine runs
    std::function<void()> cancel = {};
    int steps = 0;
    int connects = 0;
    int requests = 0;
    int first_answer_step = -1;                ///< the step whose read handed over an answer's first byte
    std::chrono::milliseconds connect_time{0}; ///< how long each connect takes
    int connecting = 0;                        ///< connects in progress
    int most_connecting = 0;                   ///< the most connects in progress at once

    /// Counters from zero, the step numbered `n` to fail (-1: none).
    void restart(int n) {
        fail_at = n;
        steps = connects = requests = 0;
        first_answer_step = -1;
    }

    oic::error_code step(bool cancel_here = true) {
        if (cancel_here && steps == cancel_at && cancel)
            cancel();
        return steps++ == fail_at ? injected : oic::error_code{};
    }
};

/// A transport whose peer is `script`: small partial reads and writes, a would-block before every
/// other read, an answer once a whole request (its head, then `Content-Length` bytes of body) has
/// been written.
class scripted_transport {
public:
    using executor_type = scripted_executor;
    scripted_transport(executor_type ex, std::shared_ptr<script> s) : s_(std::move(s)), stall_timer_(ex) {}

    executor_type get_executor() { return stall_timer_.get_executor(); }
    SSL* ssl() noexcept { return nullptr; }
    oic::error_code start_handshake(oic::http::origin const&) { return s_->step(); }
    oic::http::detail::transport_step handshake_now() { return {}; }
    bool has_pending() const noexcept { return false; } // what it reads, it hands over whole

    oic::http::detail::transport_step read_now(asio::mutable_buffer b) {
        if (auto ec = s_->step())
            return {ec};
        if (interrupted_)
            return {asio::error::eof}; // as a socket that was shut down
        if ((would_block_ = !would_block_) || pending_.empty())
            return {{}, 0, oic::http::detail::want::read};
        if (s_->first_answer_step < 0)
            s_->first_answer_step = s_->steps - 1;
        auto const n = std::min({b.size(), pending_.size(), std::size_t{7}});
        pending_.copy(static_cast<char*>(b.data()), n);
        pending_.erase(0, n);
        return {{}, n};
    }

    oic::http::detail::transport_step write_now(asio::const_buffer b) {
        if (auto ec = s_->step())
            return {ec};
        if (interrupted_)
            return {asio::error::broken_pipe};
        auto const n = std::min(b.size(), std::size_t{16});
        written_.append(static_cast<char const*>(b.data()), n);
        for (;;) { // a whole head, then its body (`Content-Length` bytes): one answer
            if (head_.empty()) {
                auto const end = written_.find("\r\n\r\n");
                if (end == std::string::npos)
                    break;
                head_ = written_.substr(0, end + 4);
                written_.erase(0, end + 4);
                body_left_ = content_length(head_);
            }
            auto const body = std::min(body_left_, written_.size());
            written_.erase(0, body);
            body_left_ -= body;
            if (body_left_ > 0)
                break;
            ++s_->requests;
            if (!s_->stall)
                pending_ += s_->respond ? s_->respond(head_) : s_->answer;
            head_.clear();
        }
        return {{}, n};
    }

    asio::awaitable<oic::error_code, executor_type> wait(oic::http::detail::want w) {
        int const step = s_->steps;
        if (auto ec = s_->step(false))
            co_return ec;
        if (w == oic::http::detail::want::read && s_->stall && !interrupted_) {
            stall_timer_.expires_at(asio::steady_timer::time_point::max());
            co_await stall_timer_.async_wait(asio::as_tuple(asio::use_awaitable_t<executor_type>{}));
            co_return oic::error_code{}; // woken by interrupt(): the next read sees the end of the stream
        }
        co_await asio::post(asio::use_awaitable_t<executor_type>{});
        if (step == s_->cancel_at && s_->cancel)
            s_->cancel(); // the wait is over, the coroutine not resumed yet
        co_return oic::error_code{};
    }

    void interrupt() noexcept {
        interrupted_ = true;
        stall_timer_.cancel();
    }

private:
    /// The `Content-Length` of a request head, 0 if it has none.
    static std::size_t content_length(std::string_view head) {
        auto const at = head.find("\r\nContent-Length: ");
        if (at == std::string_view::npos)
            return 0;
        std::size_t n = 0;
        for (auto i = at + 18; i < head.size() && head[i] >= '0' && head[i] <= '9'; ++i)
            n = n * 10 + static_cast<std::size_t>(head[i] - '0');
        return n;
    }

    std::shared_ptr<script> s_;
    asio::steady_timer stall_timer_;
    std::string head_;          // the request head being written, once whole
    std::size_t body_left_ = 0; // its body's bytes still to come
    std::string written_;       // written, not yet read as a head or a body
    std::string pending_;       // sent by the peer, not read yet
    bool would_block_ = false;
    bool interrupted_ = false;
};
static_assert(oic::http::detail::byte_transport<scripted_transport>);

/// Opens `scripted_transport`s over one `script` (the connect is a step too).
struct scripted_connector {
    using transport_type = scripted_transport;
    scripted_executor ex;
    std::shared_ptr<script> s;

    asio::awaitable<std::tuple<oic::error_code, std::optional<scripted_transport>>, scripted_executor>
    connect(oic::http::origin const& o, asio::ssl::context*, oic::http::clock::time_point, oic::diagnostics& diag) {
        if (auto ec = s->step())
            co_return std::tuple{oic::detail::report(diag, ec, "cannot connect to " + o.to_string()), std::nullopt};
        if (s->connect_time > std::chrono::milliseconds::zero()) {
            s->most_connecting = std::max(s->most_connecting, ++s->connecting);
            asio::steady_timer connecting(ex, s->connect_time);
            co_await connecting.async_wait(asio::as_tuple(asio::use_awaitable_t<scripted_executor>{}));
            --s->connecting;
        }
        ++s->connects;
        co_return std::tuple{oic::error_code{}, std::optional<scripted_transport>(std::in_place, ex, s)};
    }
};
static_assert(oic::http::detail::transport_connector<scripted_connector>);

/**
 * The fail-count loop: `attempt()` runs with the step numbered n failing (`script::restart(n)`),
 * for n = 0, 1, 2, ... until a run ends before its step n: the run without a failure. `attempt`
 * checks what it must, whether the failure ended the operation or the operation recovered from it.
 * Returns the clean run's steps: each of them was made to fail once.
 */
template <class Attempt>
int fail_each_step(script& s, Attempt attempt, int limit = 1000) {
    for (int n = 0; n < limit; ++n) {
        s.restart(n);
        INFO("failure injected at step " << n);
        attempt();
        if (s.steps <= n) {      // the failure was never reached
            CHECK(s.steps == n); // and every step before it was made to fail once
            return n;
        }
    }
    FAIL("every one of " << limit << " runs failed");
    return limit;
}

} // namespace oic_test
