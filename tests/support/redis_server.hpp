#pragma once
// Debian's redis-server on a free loopback port, started by a test and stopped with it; and a
// helper that runs a program with extra environment variables, for the fleet tests.

#include <oic/redis/detail/link.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace oic_test {

/// Starts `argv` with the environment plus `extra` ("NAME=value"), stdout to /dev/null (and
/// stderr too when `quiet`: a server that outlives a crashed test must not hold the test's
/// output open); the process id, or -1.
inline pid_t spawn_process(std::vector<std::string> const& argv, std::vector<std::string> const& extra,
                           bool quiet = false) {
    std::vector<char*> args;
    for (auto const& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
        envp.push_back(*e);
    for (auto const& e : extra)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (quiet)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    if (posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data()) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

/// The exit status of `pid` once it ends (-1: killed by a signal).
inline int wait_process(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A redis-server of its own for one test, on 127.0.0.1, without persistence.
class redis_server {
public:
    /// Whether redis-server can be run here. Where it cannot, fleet tests say so and stop; with
    /// OIC_REQUIRE_REDIS=1 (scripts/test.sh, which installs it) they fail instead.
    static bool available() {
        bool const found = std::system("command -v redis-server >/dev/null 2>&1") == 0;
        if (!found) {
            if (char const* r = std::getenv("OIC_REQUIRE_REDIS"); r && std::string(r) == "1")
                FAIL("redis-server is not installed (scripts/install-deps.sh installs it)");
            WARN("SKIPPED: redis-server is not installed; the fleet tests did not run "
                 "(scripts/install-deps.sh installs it)");
        }
        return found;
    }

    /// With `tls_files` (certificate, key, CA: PEM files), the port speaks TLS only.
    explicit redis_server(std::vector<std::string> extra = {}, std::vector<std::string> tls_files = {})
        : port_(free_port()) {
        std::vector<std::string> argv = {
            "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no",     "--daemonize",         "no"};
        if (tls_files.size() == 3)
            argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                                     tls_files[0], "--tls-key-file", tls_files[1], "--tls-ca-cert-file", tls_files[2],
                                     "--tls-auth-clients", "no"});
        argv.insert(argv.end(), extra.begin(), extra.end());
        pid_ = spawn_process(argv, {}, true);
        REQUIRE(pid_ > 0);
        // Ready once it accepts connections.
        for (int i = 0; i < 200; ++i) {
            boost::asio::io_context ioc;
            boost::asio::ip::tcp::socket s(ioc);
            boost::system::error_code ec;
            s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
            if (!ec)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        FAIL("redis-server did not start on port " << port_);
    }
    ~redis_server() { stop(); }
    redis_server(redis_server const&) = delete;
    redis_server& operator=(redis_server const&) = delete;

    unsigned short port() const { return port_; }

    /// Stops the server now (a Redis that goes away mid-run).
    void stop() {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGKILL);
        wait_process(pid_);
        pid_ = -1;
    }

private:
    static unsigned short free_port() {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
        return a.local_endpoint().port();
    }

    unsigned short port_;
    pid_t pid_ = -1;
};

/**
 * A fake Redis on 127.0.0.1 that logs the commands it receives (names only) and whether any
 * argument was `watched` (a password), without ever printing it. It answers what a token store
 * needs: AUTH and SET `+OK`, GET nil (an error from the `fail_gets_from`-th GET on), EVAL `:1`. One
 * connection at a time, in its own thread.
 */
class fake_redis {
public:
    explicit fake_redis(std::string watched)
        : watched_(std::move(watched)), acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
          thread_([this] { serve(); }) {}
    ~fake_redis() {
        stopping_ = true;
        boost::asio::io_context wake;
        boost::asio::ip::tcp::socket knock(wake);
        boost::system::error_code ec;
        knock.connect(acceptor_.local_endpoint(), ec); // unblocks accept()
        thread_.join();
    }
    fake_redis(fake_redis const&) = delete;
    fake_redis& operator=(fake_redis const&) = delete;

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    int connections() const { return connections_; }
    /// How many commands named `name` (upper case) arrived.
    int count(std::string const& name) const {
        std::lock_guard lock(mutex_);
        return static_cast<int>(std::count(commands_.begin(), commands_.end(), name));
    }
    /// Whether the watched text arrived as an argument of any command.
    bool watched_seen() const { return watched_seen_; }
    /// The `n`-th GET (counting from 1) and every later one get `-WRONGTYPE` instead of nil.
    void fail_gets_from(int n) { fail_gets_from_ = n; }

private:
    void serve() {
        for (;;) {
            boost::asio::ip::tcp::socket socket(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_)
                return;
            ++connections_;
            std::string buffer;
            auto line = [&](std::string& out) {
                auto const n = boost::asio::read_until(socket, boost::asio::dynamic_buffer(buffer), "\r\n", ec);
                if (ec)
                    return false;
                out = buffer.substr(0, n - 2);
                buffer.erase(0, n);
                return true;
            };
            for (std::string head; !stopping_ && line(head) && head.starts_with('*');) {
                std::vector<std::string> args;
                for (int i = std::atoi(head.c_str() + 1); i > 0; --i) {
                    std::string size;
                    if (!line(size) || !size.starts_with('$'))
                        return;
                    auto const n = static_cast<std::size_t>(std::atoi(size.c_str() + 1));
                    if (buffer.size() < n + 2)
                        boost::asio::read(socket, boost::asio::dynamic_buffer(buffer),
                                          boost::asio::transfer_at_least(n + 2 - buffer.size()), ec);
                    if (ec)
                        return;
                    args.push_back(buffer.substr(0, n));
                    buffer.erase(0, n + 2);
                }
                if (args.empty())
                    break;
                std::string name = args[0];
                for (auto& c : name)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                {
                    std::lock_guard lock(mutex_);
                    commands_.push_back(name);
                }
                for (auto const& a : args)
                    if (a == watched_)
                        watched_seen_ = true;
                bool const failed_get = name == "GET" && fail_gets_from_ > 0 && ++gets_ >= fail_gets_from_;
                std::string_view const answer =
                    failed_get       ? "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
                    : name == "GET"  ? "$-1\r\n"
                    : name == "EVAL" ? ":1\r\n"
                                     : "+OK\r\n";
                boost::asio::write(socket, boost::asio::buffer(answer), ec);
                if (ec)
                    break;
            }
        }
    }

    std::string watched_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::atomic<bool> watched_seen_{false};
    std::atomic<int> fail_gets_from_{0};
    int gets_ = 0; // the serving thread's
    mutable std::mutex mutex_;
    std::vector<std::string> commands_;
    std::thread thread_;
};

} // namespace oic_test
