/**
 * @file bench-oic: the oic client in one scenario; prints one JSON row on stdout (see bench.hpp).
 *
 * Uses the library's public API only. Started by scripts/bench.sh, pinned to its own core:
 *
 * - list_keepalive, runtime_redirect: --concurrency coroutines on one io_context (one thread)
 *   share one `oic::client`, each doing sequential `get_connections` calls against --url; after
 *   --warmup seconds a window of --duration seconds counts the calls that complete in it.
 *   Through a runtime host, `--trust-host` lets the default policy forward the token to the
 *   design host, and the client remembers the hop.
 * - token_storm: starts oic-mock-server, then 1,000 concurrent calls on an empty token, through one
 *   shared client (--client oic) or a session and a token fetch per call (--client naive); token
 *   requests come from the mock's own counters.
 * - inflight_memory: --concurrency calls held open at once by bench-slow-server (--url); two rows
 *   say how much the peak RSS (VmHWM) grew per call: over the whole batch (inflight_memory), and
 *   up to the moment every call has its connection and waits (inflight_waiting).
 * - parse_only: no network: the page in --page parsed again and again, by oic's reader fed 16 KiB
 *   at a time as a connection feeds it (--client oic), or into a Boost.JSON DOM (--client dom, what
 *   bench-libcurl does with each body); the row counts pages, and MB/s of JSON.
 *
 * Exit status: 0 ok, 1 a call failed or nothing was measured, 2 bad usage.
 */

#include "bench.hpp"

#include <oic/oic.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/version.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using bench::steady;

constexpr std::string_view usage = R"(usage: bench-oic --scenario NAME [options]

  --scenario S     list_keepalive, runtime_redirect, token_storm, inflight_memory or parse_only
  --client C       oic (default); naive (token_storm only: a session and token per call); dom (parse_only)
  --page FILE      the page parse_only parses
  --url URL        base URL: the design or runtime host (not for token_storm)
  --token-url URL  token endpoint (not for token_storm)
  --ca-file FILE   CA that signed the server's certificate
  --trust-host H   one more host the default redirect policy forwards the token to
  --concurrency N  calls in flight at once (default 1; token_storm: 1000)
  --items N        items every page must have (default 50; 0: do not check)
  --warmup S       seconds before the window opens (default 1)
  --duration S     seconds the window stays open (default 2)
  --max-requests N the window closes after this many calls (default 2000000)
  --mock PATH      oic-mock-server for token_storm (default: next to bench-oic)
  --mock-cpu N     pin oic-mock-server to this CPU (taskset)
  --about          print the Boost version it was built with (e.g. 1.81.0) and exit
)";

struct settings {
    std::string scenario, client, url, token_url, ca_file, trust_host, mock, mock_cpu, page;
    int concurrency = 1;
    std::size_t items = 50;
    steady::duration warmup{}, duration{};
    std::size_t max_requests = 0;
};

steady::duration seconds(double s) {
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
}

oic::client_config config_for(settings const& s) {
    oic::client_config cfg;
    cfg.base_url = s.url;
    cfg.integration_instance = "oic-bench";
    cfg.session.ca_file = s.ca_file;
    cfg.session.max_connections = std::max<std::size_t>(16, static_cast<std::size_t>(s.concurrency));
    cfg.credentials.token_url = s.token_url;
    cfg.credentials.client_id = "oic-bench";
    cfg.credentials.client_secret = oic::secret(bench::random_token()); // nginx does not check it
    cfg.credentials.scope = "urn:opc:resource:consumer::all";
    if (!s.trust_host.empty())
        cfg.trusted_hosts.push_back(s.trust_host);
    return cfg;
}

/// One call: its latency goes into the window if it completes inside it.
asio::awaitable<bool> one_call(oic::client client, oic::connections_query const& query, std::size_t items,
                               bench::window* w) {
    auto const started = steady::now();
    try {
        auto const page = co_await oic::get_connections(client, query);
        if (items && page.items.size() != items) {
            w->failed("a page with " + std::to_string(page.items.size()) + " items from " + page.url);
            co_return false;
        }
        w->completed(started);
        co_return true;
    } catch (std::exception const& e) { // oic's messages never hold a secret or a token
        w->failed(e.what());
        co_return false;
    }
}

/// Sequential calls until the window has closed (or one fails).
asio::awaitable<void> worker(oic::client client, std::size_t items, bench::window* w) {
    oic::connections_query const query;
    while (!w->finished())
        if (!co_await one_call(client, query, items, w))
            co_return;
}

/// list_keepalive and runtime_redirect: warm-up, then a timed window.
bench::row timed_run(settings const& s) {
    asio::io_context ioc(1);
    oic::client const client(ioc.get_executor(), config_for(s));
    bench::window w(s.max_requests);
    asio::steady_timer timer(ioc, s.warmup);
    timer.async_wait([&](boost::system::error_code ec) {
        if (ec)
            return;
        w.begin();
        timer.expires_after(s.duration);
        timer.async_wait([&](boost::system::error_code ec2) {
            if (!ec2)
                w.end();
        });
    });
    int active = s.concurrency;
    for (int i = 0; i < s.concurrency; ++i)
        asio::co_spawn(ioc, worker(client, s.items, &w), [&](std::exception_ptr) {
            if (--active == 0) { // all done: the window closed, or every worker failed
                w.end();
                timer.cancel();
            }
        });
    ioc.run_for(s.warmup + s.duration + 60s); // calls time out after 60 s at most
    w.end();
    return w.result(s.scenario, "oic", s.concurrency);
}

/// Spawns `n` calls at once and runs them all to completion (at most 60 s); `first_done` runs as
/// the first of them ends.
void run_batch(asio::io_context& ioc, oic::client const& client, oic::connections_query const& query, std::size_t items,
               int n, bench::window& w, std::function<void()> first_done = {}) {
    int left = n;
    for (int i = 0; i < n; ++i)
        asio::co_spawn(ioc, one_call(client, query, items, &w), [&](std::exception_ptr, bool) {
            if (left-- == n && first_done)
                first_done();
            if (left == 0)
                w.end();
        });
    ioc.restart();
    ioc.run_for(60s);
    w.end();
}

/// inflight_memory: one warm-up call, then `concurrency` calls held open at once by the slow server
/// until all of them are there (and answered some time after, `--answer-after`). Two rows: the peak
/// RSS growth per call over the whole batch, the answers' parse included (`inflight_memory`), and
/// up to the moment every call has its connection and waits for its answer (`inflight_waiting`).
std::vector<bench::row> inflight_memory(settings const& s) {
    asio::io_context ioc(1);
    oic::client const client(ioc.get_executor(), config_for(s));
    oic::connections_query const query;
    bench::window warm(1);
    warm.begin();
    run_batch(ioc, client, query, s.items, 1, warm); // the token, the TLS context, one connection
    if (warm.errors())
        return {warm.result(s.scenario, "oic", s.concurrency)};

    bench::reset_peak_rss();
    long const before = bench::peak_rss_kib();
    long waiting = -1;
    bench::window w(static_cast<std::size_t>(s.concurrency));
    w.begin();
    // Every call waits once it has its connection (opened, or the warm-up's reused): the request
    // goes out in the same run of its coroutine, before this timer can run again.
    auto const connections = [&] {
        auto const st = client.session().stats();
        return st.opened + st.reused;
    };
    auto const connections_before = connections();
    asio::steady_timer tick(ioc);
    std::function<void(boost::system::error_code)> sample = [&](boost::system::error_code ec) {
        if (ec || waiting >= 0)
            return;
        if (connections() - connections_before >= static_cast<std::uint64_t>(s.concurrency)) {
            waiting = bench::peak_rss_kib();
            return;
        }
        tick.expires_after(2ms);
        tick.async_wait(sample);
    };
    sample({});
    run_batch(ioc, client, query, s.items, s.concurrency, w, [&] { tick.cancel(); });
    long const after = bench::peak_rss_kib();
    auto peak = w.result(s.scenario, "oic", s.concurrency);
    peak.rps = peak.p50_ms = peak.p99_ms = std::nullopt; // the server's hold time, not the client's
    auto held = peak;
    held.scenario = "inflight_waiting";
    held.cpu_us_per_call = held.allocs_per_call = std::nullopt; // the batch's, in the other row
    auto const per_call = [&](long kib) -> std::optional<double> {
        if (before > 0 && kib > 0 && peak.requests > 0)
            return static_cast<double>(kib - before) / static_cast<double>(peak.requests);
        return std::nullopt;
    };
    peak.rss_per_call_kib = per_call(after);
    held.rss_per_call_kib = per_call(waiting);
    return {peak, held};
}

// ---------------------------------------------------------------------------------------------
// token_storm, against oic-mock-server (it checks the client secret, which only its ready line
// knows: so bench-oic starts it itself, and the secret never leaves this process)

/// oic-mock-server as a child process; its stdout comes through a pipe.
class mock_process {
public:
    mock_process(std::string const& path, std::string const& cpu, std::string const& ca_dir) {
        std::vector<std::string> argv{path, "--ca-dir", ca_dir};
        if (!cpu.empty())
            argv.insert(argv.begin(), {"taskset", "-c", cpu});
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        std::vector<char*> args;
        for (auto const& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        int const rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            throw std::runtime_error("cannot start " + argv[0]);
        }
        out_ = fds[0];
    }
    mock_process(mock_process const&) = delete;
    mock_process& operator=(mock_process const&) = delete;
    ~mock_process() {
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 500 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
            std::this_thread::sleep_for(10ms);
        if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_);
    }

    /// The first line the mock prints (its ready line), waiting at most 20 s.
    std::string ready_line() {
        std::string text;
        auto const deadline = steady::now() + 20s;
        char buf[4096];
        while (text.find('\n') == std::string::npos && steady::now() < deadline) {
            pollfd p{.fd = out_, .events = POLLIN, .revents = 0};
            if (::poll(&p, 1, 100) <= 0)
                continue;
            ssize_t const got = ::read(out_, buf, sizeof buf);
            if (got <= 0)
                break;
            text.append(buf, static_cast<std::size_t>(got));
        }
        if (text.find('\n') == std::string::npos)
            throw std::runtime_error("oic-mock-server printed no ready line within 20 s");
        return text.substr(0, text.find('\n'));
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

/// The mock's ready line as a client configuration (its URLs must be on 127.0.0.1).
oic::client_config mock_config(std::string const& line) {
    auto const v = json::parse(line);
    auto field = [&](char const* name) { return std::string(v.at(name).as_string()); };
    oic::client_config cfg;
    cfg.credentials.token_url = field("token_url");
    cfg.credentials.client_id = field("client_id");
    cfg.credentials.client_secret = oic::secret(field("client_secret"));
    cfg.credentials.scope = field("scope");
    cfg.base_url = field("design_url");
    cfg.integration_instance = field("integration_instance");
    cfg.session.ca_file = field("ca_file");
    for (auto const* url : {&cfg.base_url, &cfg.credentials.token_url}) {
        auto const u = oic::http::urls::parse_uri(*url);
        auto const o = u ? oic::http::origin_of(*u) : std::nullopt;
        if (!o || o->host != "127.0.0.1")
            throw std::runtime_error("oic-mock-server announced a URL that is not on 127.0.0.1");
    }
    return cfg;
}

/// `GET {design_url}/mock/counters`: how many token requests the mock has answered so far.
std::uint64_t mock_token_requests(oic::client_config const& cfg) {
    asio::io_context ioc;
    oic::http::session session(ioc.get_executor(), cfg.session);
    oic::http::urls::url const url(oic::http::urls::parse_uri(cfg.base_url + "/mock/counters").value());
    oic::http::request req = oic::http::make_request(boost::beast::http::verb::get);
    std::optional<oic::http::reply> reply;
    asio::co_spawn(ioc, session.send(url, std::move(req)), [&](std::exception_ptr e, oic::http::reply r) {
        if (!e)
            reply = std::move(r);
    });
    ioc.run_for(10s);
    if (!reply || reply->message.result_int() != 200)
        throw std::runtime_error("GET /mock/counters failed");
    return json::parse(reply->message.body()).at("token_requests").to_number<std::uint64_t>();
}

/// The baseline many servers start with: a session and a token of their own for every call.
asio::awaitable<void> naive_call(oic::client_config cfg, oic::connections_query query, bench::window* w) {
    auto const started = steady::now();
    try {
        oic::client const client(co_await asio::this_coro::executor, cfg);
        (void)co_await oic::get_connections(client, query);
        w->completed(started);
    } catch (std::exception const& e) {
        w->failed(e.what());
    }
}

bench::row token_storm(settings const& s) {
    std::string ca_dir = (std::filesystem::temp_directory_path() / "oic-bench-mock-XXXXXX").string();
    if (!::mkdtemp(ca_dir.data()))
        throw std::runtime_error("mkdtemp failed");
    struct remove_dir {
        std::string path;
        ~remove_dir() {
            std::error_code ignored;
            std::filesystem::remove_all(path, ignored);
        }
    } const cleanup{ca_dir};
    mock_process mock(s.mock, s.mock_cpu, ca_dir);
    auto const cfg = mock_config(mock.ready_line());
    auto const tokens_before = mock_token_requests(cfg);

    asio::io_context ioc(1);
    oic::connections_query query;
    query.limit = 10;
    bench::window w(static_cast<std::size_t>(s.concurrency));
    int left = s.concurrency;
    auto const done = [&](std::exception_ptr, auto&&...) {
        if (--left == 0)
            w.end();
    };
    if (s.client == "naive") {
        w.begin();
        for (int i = 0; i < s.concurrency; ++i)
            asio::co_spawn(ioc, naive_call(cfg, query, &w), done);
        ioc.run_for(60s);
        w.end();
    } else {
        oic::client const client(ioc.get_executor(), cfg); // fresh: no token yet
        w.begin();
        run_batch(ioc, client, query, 10, s.concurrency, w);
    }
    auto r = w.result(s.scenario, s.client, s.concurrency);
    r.token_requests = mock_token_requests(cfg) - tokens_before;
    return r;
}

/// parse_only: the page parsed until the window closes, by oic (in read-buffer pieces) or into a DOM.
bench::row parse_only(settings const& s) {
    std::ifstream in(s.page, std::ios::binary);
    std::string const body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (body.empty())
        throw std::runtime_error("cannot read the page " + s.page);
    bench::window w(s.max_requests);
    auto one = [&] {
        auto const started = steady::now();
        std::size_t items = 0;
        if (s.client == "dom") {
            auto const v = json::parse(body);
            items = v.at("items").as_array().size();
        } else {
            oic::connections_page page;
            oic::detail::page_reader<oic::connection> reader(&page, nullptr, false);
            reader.start(body.size());
            for (std::size_t at = 0; at < body.size(); at += 16 * 1024)
                reader.write(asio::buffer(std::string_view(body).substr(at, 16 * 1024)));
            std::string what;
            if (reader.finish(what))
                throw std::runtime_error(what);
            items = page.items.size();
        }
        if (s.items && items != s.items)
            throw std::runtime_error("a page with " + std::to_string(items) + " items");
        w.completed(started);
    };
    for (auto const until = steady::now() + s.warmup; steady::now() < until;)
        one();
    w.begin();
    for (auto const until = steady::now() + s.duration; steady::now() < until && !w.finished();)
        one();
    w.end();
    auto r = w.result(s.scenario, s.client, 1);
    if (r.rps)
        r.mb_per_s = *r.rps * static_cast<double>(body.size()) / 1e6;
    return r;
}

settings parse(bench::options const& o) {
    settings s;
    s.scenario = o.required("scenario");
    s.client = o.text("client", "oic");
    bool const storm = s.scenario == "token_storm";
    bool const parse_only = s.scenario == "parse_only";
    if (!storm && !parse_only && s.scenario != "list_keepalive" && s.scenario != "runtime_redirect" &&
        s.scenario != "inflight_memory")
        throw bench::usage_error("unknown scenario '" + s.scenario + "'");
    if (s.client != "oic" && !(storm && s.client == "naive") && !(parse_only && s.client == "dom"))
        throw bench::usage_error("--client naive is for token_storm only, dom for parse_only");
    if (parse_only)
        s.page = o.required("page");
    else if (!storm) {
        s.url = o.required("url");
        s.token_url = o.required("token-url");
        s.ca_file = o.required("ca-file");
    }
    s.trust_host = o.text("trust-host");
    s.mock =
        o.text("mock", (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "oic-mock-server").string());
    s.mock_cpu = o.text("mock-cpu");
    s.concurrency = static_cast<int>(o.number("concurrency", storm ? 1000 : 1, 1, 10000));
    s.items = static_cast<std::size_t>(o.number("items", 50, 0, 100000));
    s.warmup = seconds(o.number("warmup", 1, 0, 600));
    s.duration = seconds(o.number("duration", 2, 0.1, 600));
    s.max_requests = static_cast<std::size_t>(o.number("max-requests", 2'000'000, 1, 100'000'000));
    return s;
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    try {
        if (argc == 2 && std::string_view(argv[1]) == "--about") {
            std::cout << BOOST_VERSION / 100000 << '.' << BOOST_VERSION / 100 % 1000 << '.' << BOOST_VERSION % 100
                      << '\n';
            return 0;
        }
        bench::options const o(argc, argv,
                               {"scenario", "client", "url", "token-url", "ca-file", "trust-host", "concurrency",
                                "items", "warmup", "duration", "max-requests", "mock", "mock-cpu", "page"});
        if (o.help()) {
            std::cout << usage;
            return 0;
        }
        s = parse(o);
    } catch (bench::usage_error const& e) {
        std::cerr << "bench-oic: " << e.what() << " (see --help)\n";
        return 2;
    }
    ::signal(SIGPIPE, SIG_IGN);
    bench::raise_fd_limit();
    try {
        if (s.scenario == "token_storm")
            return bench::print_row(token_storm(s));
        if (s.scenario == "inflight_memory")
            return bench::print_rows(inflight_memory(s));
        if (s.scenario == "parse_only")
            return bench::print_row(parse_only(s));
        return bench::print_row(timed_run(s));
    } catch (std::exception const& e) {
        std::cerr << "bench-oic: " << e.what() << '\n';
        return 1;
    }
}
