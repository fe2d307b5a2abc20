#pragma once
// Helpers shared by the test files: a clock moved by hand, running a coroutine to completion with a
// time limit, capturing the error a coroutine or function throws, and configurations for the mock.

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

namespace oic_test {

namespace asio = boost::asio;

/// A clock the test moves by hand; safe to read from any thread.
struct manual_clock {
    std::shared_ptr<std::atomic<std::chrono::steady_clock::rep>> ticks =
        std::make_shared<std::atomic<std::chrono::steady_clock::rep>>(1'000'000'000);
    std::chrono::steady_clock::time_point operator()() const {
        return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks->load()));
    }
    void advance(std::chrono::steady_clock::duration d) const { *ticks += d.count(); }
};

/// Shared token options on `clock`: refresh 5 min ahead, expire 30 s early, back off 100 ms.
inline oic::shared_token_options options_with(manual_clock const& clock) {
    oic::shared_token_options o;
    o.clock = clock;
    o.refresh_ahead = std::chrono::minutes(5);
    o.expiry_margin = std::chrono::seconds(30);
    o.failure_backoff = std::chrono::milliseconds(100);
    return o;
}

/// Runs `aw` on `ioc` until it finishes; fails the test if it has not finished within `limit`.
template <class T, class Executor>
T run(asio::io_context& ioc, asio::awaitable<T, Executor> aw, std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, auto... value) {
        done = true;
        error = e;
        if constexpr (sizeof...(value) > 0)
            if (!e)
                result.emplace(std::move(value)...);
    });
    ioc.restart();
    ioc.run_for(limit);
    REQUIRE(done); // a coroutine that did not finish is a hang, not a pass
    if (error)
        std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>)
        return std::move(*result);
}

/// The code and diagnostics of the error_with_diagnostics that `f` throws; fails if it throws none.
template <class F>
oic::error_with_diagnostics error_of(F&& f) {
    try {
        f();
    } catch (oic::error_with_diagnostics const& e) {
        return e;
    }
    FAIL("expected an oic::error_with_diagnostics");
    throw std::logic_error("unreachable");
}

/// The error_with_diagnostics that running `aw` throws; fails if it throws none.
template <class T, class Executor>
oic::error_with_diagnostics error_of(asio::io_context& ioc, asio::awaitable<T, Executor> aw) {
    return error_of([&] { run(ioc, std::move(aw)); });
}

/// Credentials the mock server accepts.
inline oic::client_credentials credentials_for(oic::testing::mock_server const& m,
                                               oic::client_auth auth = oic::client_auth::basic) {
    oic::client_credentials c;
    c.token_url = m.token_url();
    c.client_id = m.options().client_id;
    c.client_secret = oic::secret(m.options().client_secret);
    c.scope = m.options().scope;
    c.auth = auth;
    return c;
}

/// A client configuration for the mock server, trusting its test CA. The mock's design-time host is
/// an address, not `design.integration.<region>.ocp.oraclecloud.com`, so the default policy does
/// not derive it from the base URL: it is trusted (on its port) as a user trusts a private host.
inline oic::client_config config_for(oic::testing::mock_server const& m, std::string base_url) {
    oic::client_config c;
    c.credentials = credentials_for(m);
    c.base_url = std::move(base_url);
    c.integration_instance = m.options().integration_instance;
    c.session.ca_file = m.ca_file();
    c.trusted_hosts = {m.options().address + ":" + std::to_string(m.options().design_port)};
    return c;
}

/// One CA file trusting the test CAs of several mock servers (each makes its own); removed on destruction.
class ca_bundle {
public:
    explicit ca_bundle(std::initializer_list<oic::testing::mock_server const*> servers) {
        int const fd = mkstemp(path_);
        REQUIRE(fd >= 0);
        for (auto const* m : servers)
            REQUIRE(write(fd, m->ca_pem().data(), m->ca_pem().size()) == static_cast<ssize_t>(m->ca_pem().size()));
        close(fd);
    }
    ~ca_bundle() { unlink(path_); }
    ca_bundle(ca_bundle const&) = delete;
    ca_bundle& operator=(ca_bundle const&) = delete;
    std::string path() const { return path_; }

private:
    char path_[32] = "/tmp/oic-ca-bundle-XXXXXX";
};

/**
 * A hostile HTTP server on 127.0.0.1 over plain TCP, for answers no well-behaved server sends. For
 * each connection it reads the request head, then runs `script` with it and blocking writes; the
 * script should stop when a write fails or `stopping` is set. One connection at a time, one request
 * per connection, in its own thread.
 */
class raw_server {
public:
    using script =
        std::function<void(asio::ip::tcp::socket&, std::string const& head, std::atomic<bool> const& stopping)>;

    explicit raw_server(script s)
        : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}), script_(std::move(s)),
          thread_([this] { serve(); }) {}

    ~raw_server() {
        stopping_ = true;
        asio::io_context wake;
        asio::ip::tcp::socket knock(wake);
        boost::system::error_code ec;
        knock.connect(acceptor_.local_endpoint(), ec); // unblocks accept()
        thread_.join();
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
    int connections() const { return connections_; }

    /// Writes `bytes`; false once the peer is gone.
    static bool send(asio::ip::tcp::socket& s, std::string_view bytes) {
        boost::system::error_code ec;
        asio::write(s, asio::buffer(bytes), ec);
        return !ec;
    }

private:
    void serve() {
        for (;;) {
            asio::ip::tcp::socket socket(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_)
                return;
            ++connections_;
            std::string head;
            asio::read_until(socket, asio::dynamic_buffer(head, 64 * 1024), "\r\n\r\n", ec);
            if (!ec)
                script_(socket, head, stopping_);
        }
    }

    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    script script_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

/// A fresh folder under the system's temporary folder, removed with what it holds on destruction.
class scratch_folder {
public:
    scratch_folder() {
        std::string name = (std::filesystem::temp_directory_path() / "oic-test-XXXXXX").string();
        REQUIRE(::mkdtemp(name.data()) != nullptr);
        path_ = name;
    }
    scratch_folder(scratch_folder const&) = delete;
    scratch_folder& operator=(scratch_folder const&) = delete;
    ~scratch_folder() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    std::filesystem::path const& path() const { return path_; }
    /// The names in the folder, sorted: a temporary file left behind shows up here.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (auto const& e : std::filesystem::directory_iterator(path_))
            out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    std::filesystem::path path_;
};

/// A request body that can be read once only, like a pipe: it rewinds only before its first read.
struct once_source final : oic::http::body_source {
    oic::http::string_source inner;
    bool started = false;
    explicit once_source(std::string s) : inner(std::move(s)) {}
    std::uint64_t size() const override { return inner.size(); }
    std::size_t read(asio::mutable_buffer b, oic::error_code& ec) override {
        started = true;
        return inner.read(b, ec);
    }
    bool rewind() override { return !started; }
};

/// A file's bytes.
inline std::string read_file(std::filesystem::path const& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace oic_test
