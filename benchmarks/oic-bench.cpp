/**
 * @file oic-bench: the oic client against a fetch-per-call baseline, libcurl and wrk, all talking to
 * oic-mock-server over TLS on 127.0.0.1.
 *
 * Starts oic-mock-server as a child process, reads its ready line, runs the scenarios, stops it and
 * writes one flat JSON row per (scenario, client), plus a markdown table on stdout:
 *
 * - token_storm: 1,000 concurrent `get_connections` calls on an empty token. `oic` shares one
 *   client (one token request expected); `naive` fetches a token per call (1,000 expected).
 * - api_throughput: 5,000 requests, 32 at a time, with a token fetched beforehand, through `wrk`
 *   (the ceiling; it runs for a fixed 5 s instead), libcurl's multi interface, and one oic client.
 *
 * Every row has a fixed request count and a time limit; token request counts come from the mock's
 * own counters (`/mock/counters`). The access token is never printed or written.
 * Exit status: 0 ok, 1 a row had errors or the run failed, 2 bad usage.
 */

#include <oic/oic.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/version.hpp>

#include <curl/curl.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::string_view usage = R"(usage: oic-bench [options]

Benchmarks the oic client against oic-mock-server (started as a child process, 127.0.0.1 only):
  token_storm     1,000 concurrent get_connections calls on an empty token:
                  oic (one shared client) vs naive (a token fetch per call)
  api_throughput  5,000 requests, 32 at a time, token fetched beforehand:
                  wrk (5 s run, the ceiling) vs libcurl (multi interface) vs oic

  --mock PATH       oic-mock-server to start (default: next to oic-bench)
  --out FILE        where to write the JSON results (default benchmarks/results/latest.json)
  --scenario NAME   run only token_storm or api_throughput
  --help            show this help and exit

Exit status: 0 ok, 1 a row had errors or the run failed, 2 bad usage.
)";

constexpr std::size_t storm_calls = 1000;
constexpr int throughput_concurrency = 32;
constexpr std::size_t throughput_requests = 5000;
constexpr int page_limit = 10;
constexpr auto wrk_duration = 5s;
constexpr auto row_time_limit = 60s; // a row that takes longer is cut off; unfinished calls count as errors
constexpr char connections_path[] = "/ic/api/integration/v1/connections";

// ---------------------------------------------------------------------------------------------
// Command line

struct usage_error {
    std::string what;
};

struct options {
    std::string mock;
    std::string out = "benchmarks/results/latest.json";
    std::string scenario; ///< empty: all
};

/// Parses the command line; returns nothing when --help was asked for.
std::optional<options> parse_command_line(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::optional<std::string_view> inline_value;
        if (auto const eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            inline_value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        auto const value = [&]() -> std::string {
            if (inline_value)
                return std::string(*inline_value);
            if (i + 1 >= argc)
                throw usage_error{std::string(arg) + " needs a value"};
            return argv[++i];
        };
        if ((arg == "--help" || arg == "-h") && !inline_value)
            return std::nullopt;
        if (arg == "--mock")
            o.mock = value();
        else if (arg == "--out")
            o.out = value();
        else if (arg == "--scenario")
            o.scenario = value();
        else
            throw usage_error{"unknown option '" + std::string(arg) + "'"};
    }
    if (!o.scenario.empty() && o.scenario != "token_storm" && o.scenario != "api_throughput")
        throw usage_error{"--scenario expects token_storm or api_throughput, got '" + o.scenario + "'"};
    if (o.out.empty())
        throw usage_error{"--out needs a file name"};
    if (o.mock.empty()) // next to ourselves, so the build tree works from any directory
        o.mock = (fs::read_symlink("/proc/self/exe").parent_path() / "oic-mock-server").string();
    return o;
}

// ---------------------------------------------------------------------------------------------
// Results

/// One (scenario, client) measurement: a flat row of the results file.
struct row {
    std::string scenario;
    std::string client;
    int concurrency = 0;
    std::uint64_t requests = 0;
    double seconds = 0;
    std::uint64_t token_requests = 0; ///< counted by the mock during the row
    double requests_per_second = 0;
    std::uint64_t errors = 0; ///< non-200 answers, failed calls and calls cut off by the time limit
};

double rate(std::uint64_t requests, double seconds) {
    return seconds > 0 ? static_cast<double>(requests) / seconds : 0.0;
}

/// A fixed-point JSON number (Boost.JSON would print 1.1460000000000001E0).
std::string fixed(double x, int decimals) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(decimals) << x;
    return s.str();
}

std::string quoted(std::string const& s) {
    return json::serialize(json::value(s));
}

/// One row as a flat JSON object on one line.
std::string to_json(row const& r) {
    std::ostringstream s;
    s << "{\"scenario\": " << quoted(r.scenario) << ", \"client\": " << quoted(r.client)
      << ", \"concurrency\": " << r.concurrency << ", \"requests\": " << r.requests
      << ", \"seconds\": " << fixed(r.seconds, 3) << ", \"token_requests\": " << r.token_requests
      << ", \"requests_per_second\": " << fixed(r.requests_per_second, 1) << ", \"errors\": " << r.errors << "}";
    return s.str();
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("model name"))
            if (auto const colon = line.find(':'); colon != std::string::npos)
                return line.substr(line.find_first_not_of(" \t", colon + 1));
    return "unknown";
}

std::string utc_now_iso8601() {
    std::time_t const now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/// The results file: machine facts, then one row per line (diffs stay readable).
void write_results(std::string const& path, std::vector<row> const& rows) {
    if (auto const dir = fs::path(path).parent_path(); !dir.empty())
        fs::create_directories(dir);
    std::ostringstream out;
    out << "{\n"
        << "  \"cpu\": " << quoted(cpu_model()) << ",\n"
        << "  \"cores\": " << std::thread::hardware_concurrency() << ",\n"
        << "  \"boost_version\": " << quoted(BOOST_LIB_VERSION) << ",\n"
        << "  \"date\": " << quoted(utc_now_iso8601()) << ",\n"
        << "  \"scenarios\": [";
    for (std::size_t i = 0; i < rows.size(); ++i)
        out << (i ? ",\n    " : "\n    ") << to_json(rows[i]);
    out << (rows.empty() ? "]\n" : "\n  ]\n") << "}\n";
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << out.str();
    file.close();
    if (!file)
        throw std::runtime_error("cannot write " + path);
}

void print_table(std::vector<row> const& rows) {
    std::cout << "| scenario | client | concurrency | requests | seconds | requests/s | token requests | errors |\n"
              << "|---|---|---:|---:|---:|---:|---:|---:|\n";
    for (auto const& r : rows)
        std::cout << "| " << r.scenario << " | " << r.client << " | " << r.concurrency << " | " << r.requests << " | "
                  << std::fixed << std::setprecision(3) << r.seconds << " | " << std::setprecision(0)
                  << r.requests_per_second << " | " << r.token_requests << " | " << r.errors << " |\n";
    std::cout << std::defaultfloat << std::setprecision(6);
}

// ---------------------------------------------------------------------------------------------
// Child processes

/// A child process whose stdout (and optionally stderr) we read through a pipe.
class child_process {
public:
    /// Starts `argv[0]`, looked up in PATH when `search_path`. Throws if it cannot be started.
    child_process(std::vector<std::string> const& argv, bool search_path, bool merge_stderr) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        // dup2 clears close-on-exec on the target, so the child keeps only its stdout/stderr.
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        if (merge_stderr)
            posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
        std::vector<char*> args;
        for (auto const& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        int const rc = search_path ? ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ)
                                   : ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            pid_ = -1;
            throw std::system_error(rc, std::generic_category(), "cannot start " + argv[0]);
        }
        out_ = fds[0];
    }

    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    ~child_process() {
        terminate();
        if (out_ >= 0)
            ::close(out_);
    }

    /// Reads the child's output until `enough(text)`, end of file or `deadline`.
    std::string read_until(steady::time_point deadline, std::function<bool(std::string const&)> const& enough) {
        std::string text;
        char buf[4096];
        while (!enough(text)) {
            auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
            if (left <= 0ms)
                break;
            pollfd p{.fd = out_, .events = POLLIN, .revents = 0};
            int const n = ::poll(&p, 1, static_cast<int>(left.count()));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            ssize_t const got = ::read(out_, buf, sizeof buf);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break; // end of file: the child closed its stdout (or exited)
            text.append(buf, static_cast<std::size_t>(got));
        }
        return text;
    }

    /// Waits for the child to exit, at most until `deadline`; then kills it. Returns a shell-style status.
    int wait(steady::time_point deadline) {
        if (pid_ <= 0)
            return status_;
        for (;;) {
            int status = 0;
            pid_t const r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return status_;
            }
            if (r < 0 && errno != EINTR) {
                pid_ = -1;
                return status_ = -1;
            }
            if (steady::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                deadline = steady::time_point::max(); // SIGKILL cannot be ignored: wait for it
            }
            std::this_thread::sleep_for(10ms);
        }
    }

    /// SIGTERM, then up to 5 s for the child to exit, then SIGKILL. Returns its status.
    int terminate() {
        if (pid_ > 0)
            ::kill(pid_, SIGTERM);
        return wait(steady::now() + 5s);
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    int status_ = -1;
};

/// A fresh directory under the temp directory, removed on destruction.
class temp_directory {
public:
    temp_directory() {
        std::string pattern = (fs::temp_directory_path() / "oic-bench-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path_ = pattern;
    }
    temp_directory(temp_directory const&) = delete;
    temp_directory& operator=(temp_directory const&) = delete;
    ~temp_directory() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    std::string const& path() const { return path_; }

private:
    std::string path_;
};

/// What the mock's ready line says.
struct mock_info {
    std::string token_url, design_url, runtime_url, ca_file, client_id, scope, integration_instance;
    oic::secret client_secret;
};

/// The benchmark contacts 127.0.0.1 only: a ready line naming any other host is refused.
void require_local(std::string const& url) {
    auto const u = oic::http::urls::parse_uri(url);
    auto const o = u ? oic::http::origin_of(*u) : std::nullopt;
    if (!o || o->host != "127.0.0.1")
        throw std::runtime_error("oic-mock-server announced a URL that is not on 127.0.0.1: " +
                                 (u ? oic::http::redacted(*u) : std::string("(unparsable)")));
}

mock_info parse_ready_line(std::string const& line) {
    json::error_code ec;
    auto const v = json::parse(line, ec);
    auto const* obj = ec ? nullptr : v.if_object();
    if (!obj)
        throw std::runtime_error("oic-mock-server's ready line is not a JSON object");
    auto field = [&](char const* name) {
        auto const* f = obj->if_contains(name);
        if (!f || !f->is_string())
            throw std::runtime_error(std::string("oic-mock-server's ready line has no string ") + name);
        return std::string(f->get_string());
    };
    mock_info m{.token_url = field("token_url"),
                .design_url = field("design_url"),
                .runtime_url = field("runtime_url"),
                .ca_file = field("ca_file"),
                .client_id = field("client_id"),
                .scope = field("scope"),
                .integration_instance = field("integration_instance"),
                .client_secret = oic::secret(field("client_secret"))};
    for (auto const* url : {&m.token_url, &m.design_url, &m.runtime_url})
        require_local(*url);
    return m;
}

/// oic-mock-server as a child process, its CA file in a fresh temp directory.
class mock_process {
public:
    explicit mock_process(std::string const& path) : child_({path, "--ca-dir", ca_dir_.path()}, false, false) {
        auto const text =
            child_.read_until(steady::now() + 20s, [](std::string const& t) { return t.find('\n') != t.npos; });
        auto const newline = text.find('\n');
        if (newline == std::string::npos)
            throw std::runtime_error(path + " did not print its ready line within 20 s");
        info_ = parse_ready_line(text.substr(0, newline));
    }

    mock_info const& info() const { return info_; }

    /// SIGTERM + waitpid; returns the exit status (0 when it stopped cleanly).
    int stop() { return child_.terminate(); }

private:
    temp_directory ca_dir_; // declared first: removed after the child has stopped
    child_process child_;
    mock_info info_;
};

// ---------------------------------------------------------------------------------------------
// Talking to the mock with the library

oic::http::session_options session_options_for(mock_info const& m) {
    oic::http::session_options o;
    o.ca_file = m.ca_file;
    return o;
}

oic::client_credentials credentials_for(mock_info const& m) {
    oic::client_credentials c;
    c.token_url = m.token_url;
    c.client_id = m.client_id;
    c.client_secret = m.client_secret;
    c.scope = m.scope;
    return c;
}

oic::client_config client_config_for(mock_info const& m) {
    oic::client_config cfg;
    cfg.credentials = credentials_for(m);
    cfg.base_url = m.design_url;
    cfg.integration_instance = m.integration_instance;
    cfg.session = session_options_for(m);
    return cfg;
}

oic::connections_query page_query() {
    oic::connections_query q;
    q.limit = page_limit;
    return q;
}

/// `{design_url}/ic/api/integration/v1/connections?limit=10&integrationInstance=...`
std::string connections_url(mock_info const& m) {
    std::string query;
    oic::http::append_param(query, "limit", std::to_string(page_limit));
    oic::http::append_param(query, "integrationInstance", m.integration_instance);
    return m.design_url + connections_path + "?" + query;
}

/// Runs `aw` on `ioc` until it completes (at most `limit`) and returns its result or rethrows.
template <class T>
T run_to_completion(asio::io_context& ioc, asio::awaitable<T> aw, steady::duration limit, std::string const& what) {
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e)
            result.emplace(std::move(value));
    });
    ioc.restart();
    ioc.run_for(limit);
    if (error)
        std::rethrow_exception(error);
    if (!result)
        throw std::runtime_error(what + " did not finish in time");
    return std::move(*result);
}

/// What the mock has counted so far: the token requests go into the row, the rest is a cross-check.
struct mock_counters {
    std::uint64_t token_requests = 0;
    std::uint64_t design_api_requests = 0;
    std::uint64_t connections_accepted = 0;
};

/// `GET {design_url}/mock/counters` (no auth needed).
mock_counters read_mock_counters(mock_info const& m) {
    asio::io_context ioc;
    oic::http::session session(ioc.get_executor(), session_options_for(m));
    oic::http::urls::url const url(oic::http::urls::parse_uri(m.design_url + "/mock/counters").value());
    oic::http::request req{boost::beast::http::verb::get, "/", 11};
    auto const res = run_to_completion(ioc, session.send(url, std::move(req)), 10s, "GET /mock/counters").message;
    if (res.result_int() != 200)
        throw std::runtime_error("GET /mock/counters answered HTTP " + std::to_string(res.result_int()));
    auto const v = json::parse(res.body());
    auto count = [&](char const* name) { return v.at(name).to_number<std::uint64_t>(); };
    return {.token_requests = count("token_requests"),
            .design_api_requests = count("design_api_requests"),
            .connections_accepted = count("connections_accepted")};
}

/// Runs `measure` (which fills in everything but the token count) between two counter reads.
template <class Measure>
row measure_row(mock_info const& m, std::string scenario, std::string client, int concurrency, Measure measure) {
    row r{.scenario = std::move(scenario), .client = std::move(client), .concurrency = concurrency};
    std::cerr << "oic-bench: " << r.scenario << " / " << r.client << " ...\n";
    auto const before = read_mock_counters(m);
    measure(r);
    auto const after = read_mock_counters(m);
    r.token_requests = after.token_requests - before.token_requests;
    r.requests_per_second = r.requests_per_second > 0 ? r.requests_per_second : rate(r.requests, r.seconds);
    // The mock's view, to check connection reuse and request counts (its counter read adds one connection).
    std::cerr << "oic-bench:   " << r.requests << " requests in " << fixed(r.seconds, 3) << " s; the mock saw "
              << after.design_api_requests - before.design_api_requests << " API requests, "
              << r.token_requests << " token requests, "
              << after.connections_accepted - before.connections_accepted << " new connections\n";
    return r;
}

/// How a batch of concurrent calls went. Shared with the completion handlers, which may outlive
/// the function that spawned them if the time limit cuts the run off.
struct tally {
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    steady::time_point last_done;
    std::string first_error;

    void record(std::exception_ptr e) {
        ++done;
        last_done = steady::now();
        if (!e)
            return;
        ++failed;
        if (!first_error.empty())
            return;
        try {
            std::rethrow_exception(e);
        } catch (std::exception const& x) { // oic errors never carry a token or secret
            first_error = x.what();
        } catch (...) {
            first_error = "unknown exception";
        }
    }
};

void report_first_error(row const& r, std::string const& first_error) {
    if (r.errors)
        std::cerr << "oic-bench: " << r.scenario << " / " << r.client << ": " << r.errors << " error(s)"
                  << (first_error.empty() ? std::string() : ", first: " + first_error) << '\n';
}

/// Spawns `n` coroutines from `make()` at once on `ioc` and runs them all (at most
/// `row_time_limit`). Fills seconds (first spawn to last completion) and errors (failed or unfinished).
template <class Make>
std::shared_ptr<tally> run_concurrently(asio::io_context& ioc, std::uint64_t n, Make make, row& r) {
    auto const t = std::make_shared<tally>();
    auto const start = steady::now();
    for (std::uint64_t i = 0; i < n; ++i)
        asio::co_spawn(ioc, make(), [t](std::exception_ptr e, auto&&...) { t->record(e); });
    ioc.run_for(row_time_limit);
    auto const end = t->done == n ? t->last_done : steady::now();
    r.seconds = std::chrono::duration<double>(end - start).count();
    r.errors = t->failed + (n - t->done);
    return t;
}

// ---------------------------------------------------------------------------------------------
// token_storm

/// The oic way: every call shares one client, hence one token fetch for all of them.
row token_storm_oic(mock_info const& m) {
    return measure_row(m, "token_storm", "oic", static_cast<int>(storm_calls), [&](row& r) {
        asio::io_context ioc(1);
        oic::client const client(ioc.get_executor(), client_config_for(m)); // fresh: no token yet
        auto const query = page_query();
        auto const t = run_concurrently(ioc, storm_calls, [&] { return oic::get_connections(client, query); }, r);
        r.requests = storm_calls;
        report_first_error(r, t->first_error);
    });
}

/// Everything one fetch-per-call request needs, copied into its coroutine.
struct naive_setup {
    oic::http::session_options session;
    oic::client_credentials credentials;
    oic::http::urls::url url;
};

/// The baseline many servers start with: a session and a token of its own for every call. Its
/// cost includes building each session's TLS context (and loading the system CA store), as such
/// code pays it too.
asio::awaitable<void> naive_call(naive_setup setup) {
    oic::http::session session(co_await asio::this_coro::executor, setup.session);
    auto const token = co_await oic::fetch_token(session, setup.credentials);
    oic::http::request req{boost::beast::http::verb::get, "/", 11};
    req.set(boost::beast::http::field::accept, "application/json");
    {
        oic::secret const bearer("Bearer " + std::string(token.value.reveal()));
        req.set(boost::beast::http::field::authorization, bearer.reveal());
    }
    auto const res = (co_await session.send(setup.url, std::move(req))).message;
    if (res.result_int() != 200)
        throw std::runtime_error("GET connections answered HTTP " + std::to_string(res.result_int()));
    (void)oic::parse_connections_page(json::parse(res.body())); // the same work as get_connections
}

row token_storm_naive(mock_info const& m) {
    return measure_row(m, "token_storm", "naive", static_cast<int>(storm_calls), [&](row& r) {
        asio::io_context ioc(1);
        naive_setup const setup{.session = session_options_for(m),
                                .credentials = credentials_for(m),
                                .url = oic::http::urls::url(oic::http::urls::parse_uri(connections_url(m)).value())};
        auto const t = run_concurrently(ioc, storm_calls, [&] { return naive_call(setup); }, r);
        r.requests = storm_calls;
        report_first_error(r, t->first_error);
    });
}

std::vector<row> token_storm(mock_info const& m) {
    return {token_storm_oic(m), token_storm_naive(m)};
}

// ---------------------------------------------------------------------------------------------
// api_throughput

/// One token for the whole scenario, fetched before any row starts.
oic::access_token fetch_token_once(mock_info const& m) {
    asio::io_context ioc;
    oic::http::session session(ioc.get_executor(), session_options_for(m));
    auto const creds = credentials_for(m);
    return run_to_completion(ioc, oic::fetch_token(session, creds), 30s, "the token fetch");
}

/// Replaces every occurrence of `token` in `text`: wrk's output is shown on failure, the token never.
std::string without_token(std::string text, std::string_view token) {
    if (token.empty())
        return text;
    for (auto pos = text.find(token); pos != std::string::npos; pos = text.find(token, pos))
        text.replace(pos, token.size(), "<redacted>");
    return text;
}

/// wrk prints durations as e.g. `5.00s`, `1.00m`, `812.34ms`.
double wrk_seconds(double value, std::string const& unit) {
    if (unit == "us")
        return value / 1e6;
    if (unit == "ms")
        return value / 1e3;
    if (unit == "m")
        return value * 60;
    if (unit == "h")
        return value * 3600;
    return value;
}

/// Fills requests, seconds, requests/s and errors from wrk's report; false if it is not one.
bool parse_wrk_output(std::string const& out, row& r) {
    std::smatch total, per_second;
    if (!std::regex_search(out, total, std::regex(R"((\d+) requests in ([0-9.]+)(us|ms|s|m|h),)")) ||
        !std::regex_search(out, per_second, std::regex(R"(Requests/sec:\s+([0-9.]+))")))
        return false;
    r.requests = std::stoull(total[1].str());
    r.seconds = wrk_seconds(std::stod(total[2].str()), total[3].str());
    r.requests_per_second = std::stod(per_second[1].str());
    // wrk counts 2xx and 3xx as success; the design-time host answers 200 or an error, never 3xx.
    std::smatch m;
    if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses:\s+(\d+))")))
        r.errors += std::stoull(m[1].str());
    if (std::regex_search(out, m, std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))")))
        for (int i = 1; i <= 4; ++i)
            r.errors += std::stoull(m[i].str());
    return true;
}

/// wrk is the ceiling: a C load generator that neither verifies TLS nor parses bodies.
row api_wrk(mock_info const& m, oic::access_token const& token) {
    return measure_row(m, "api_throughput", "wrk", throughput_concurrency, [&](row& r) {
        oic::secret const header("Authorization: Bearer " + std::string(token.value.reveal()));
        std::vector<std::string> const argv{"wrk", "-t2", "-c" + std::to_string(throughput_concurrency),
                                            "-d" + std::to_string(wrk_duration.count()) + "s", "-H",
                                            std::string(header.reveal()), connections_url(m)};
        std::string out;
        int status = -1;
        try {
            child_process wrk(argv, true, true);
            out = wrk.read_until(steady::now() + wrk_duration + 30s, [](std::string const&) { return false; });
            status = wrk.wait(steady::now() + 5s); // it closed its output: it is exiting
        } catch (std::exception const& e) {
            out = e.what();
        }
        if (status != 0 || !parse_wrk_output(out, r)) {
            r.errors += 1;
            std::cerr << "oic-bench: wrk failed (status " << status << "):\n" << without_token(out, token.value.reveal());
        }
    });
}

// libcurl handles as owning pointers (CURL and CURLM are both `void` in curl.h: one deleter each).
struct curl_multi_deleter {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct curl_easy_deleter {
    void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct curl_slist_deleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using curl_multi_ptr = std::unique_ptr<CURLM, curl_multi_deleter>;
using curl_easy_ptr = std::unique_ptr<CURL, curl_easy_deleter>;
using curl_slist_ptr = std::unique_ptr<curl_slist, curl_slist_deleter>;

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) {
    return size * n;
}

/// One easy handle for GETs of `url`: TLS verified against the mock's CA, HTTP/1.1, keep-alive.
curl_easy_ptr make_easy(std::string const& url, std::string const& ca_file, curl_slist* headers) {
    curl_easy_ptr e(curl_easy_init());
    if (!e)
        throw std::runtime_error("curl_easy_init failed");
    curl_easy_setopt(e.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(e.get(), CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(e.get(), CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e.get(), CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e.get(), CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(e.get(), CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e.get(), CURLOPT_WRITEFUNCTION, &discard_body);
    curl_easy_setopt(e.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e.get(), CURLOPT_TIMEOUT, 30L);
    return e;
}

/// Keeps `handles` busy on one multi handle until `total` requests are done or `limit` passes.
/// A finished handle is re-added at once: its connection stays in the multi's cache and is reused.
void run_curl_multi(CURLM* multi, std::vector<curl_easy_ptr> const& handles, std::uint64_t total,
                    steady::time_point deadline, row& r, std::string& first_error) {
    std::uint64_t started = 0, done = 0;
    auto start_one = [&](CURL* e) {
        curl_multi_add_handle(multi, e);
        ++started;
    };
    for (auto const& e : handles)
        if (started < total)
            start_one(e.get());
    while (done < total && steady::now() < deadline) {
        int running = 0;
        curl_multi_perform(multi, &running);
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL* const e = msg->easy_handle;
            CURLcode const result = msg->data.result; // msg is gone once the handle is removed
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            if (result != CURLE_OK || status != 200) {
                ++r.errors;
                if (first_error.empty())
                    first_error = result != CURLE_OK ? curl_easy_strerror(result) : "HTTP " + std::to_string(status);
            }
            curl_multi_remove_handle(multi, e);
            ++done;
            if (started < total)
                start_one(e);
        }
        if (done < total)
            curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    r.errors += total - done; // cut off by the time limit
    for (auto const& e : handles)
        curl_multi_remove_handle(multi, e.get()); // harmless for handles not attached
}

/// libcurl's multi interface: what a C or C++ program without oic would use.
row api_libcurl(mock_info const& m, oic::access_token const& token) {
    return measure_row(m, "api_throughput", "libcurl", throughput_concurrency, [&](row& r) {
        curl_slist_ptr headers;
        {
            oic::secret const auth("Authorization: Bearer " + std::string(token.value.reveal()));
            headers.reset(curl_slist_append(nullptr, auth.reveal().data()));
        }
        headers.reset(curl_slist_append(headers.release(), "Accept: application/json"));
        curl_multi_ptr multi(curl_multi_init());
        if (!multi || !headers)
            throw std::runtime_error("curl_multi_init failed");
        curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(throughput_concurrency));
        std::vector<curl_easy_ptr> handles;
        auto const url = connections_url(m);
        for (int i = 0; i < throughput_concurrency; ++i)
            handles.push_back(make_easy(url, m.ca_file, headers.get()));

        std::string first_error;
        auto const start = steady::now();
        run_curl_multi(multi.get(), handles, throughput_requests, start + row_time_limit, r, first_error);
        r.seconds = std::chrono::duration<double>(steady::now() - start).count();
        r.requests = throughput_requests;
        handles.clear(); // easy handles before the multi handle
        report_first_error(r, first_error);
    });
}

/// Hands out the token fetched beforehand, as the shared token's fetch function.
asio::awaitable<oic::access_token> prefetched(oic::access_token token) {
    co_return token;
}

/// What the throughput workers share: how many calls are left to start, and how they went.
struct work_queue {
    std::uint64_t started = 0;
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::string first_error;
};

/// One of the 32 concurrent callers: takes calls off the shared budget until none are left.
asio::awaitable<void> throughput_worker(oic::client client, std::shared_ptr<work_queue> work) {
    auto const query = page_query();
    while (work->started < throughput_requests) {
        ++work->started; // one thread: no race between the check and the increment
        try {
            (void)co_await oic::get_connections(client, query);
            ++work->ok;
        } catch (std::exception const& e) {
            ++work->failed;
            if (work->first_error.empty())
                work->first_error = e.what();
        }
    }
}

/// The oic client: 32 coroutines share one client (one pool of up to 32 connections, one token).
row api_oic(mock_info const& m, oic::access_token const& token) {
    return measure_row(m, "api_throughput", "oic", throughput_concurrency, [&](row& r) {
        asio::io_context ioc(1);
        auto cfg = client_config_for(m);
        cfg.session.max_connections = throughput_concurrency;
        // The same token as wrk and libcurl: its fetch function hands out the one fetched beforehand.
        oic::http::session session(ioc.get_executor(), cfg.session);
        oic::shared_token shared(ioc.get_executor(), [token] { return prefetched(token); }, cfg.token);
        oic::client const client(cfg, session, shared);

        auto const work = std::make_shared<work_queue>();
        run_concurrently(ioc, throughput_concurrency, [&] { return throughput_worker(client, work); }, r);
        r.requests = throughput_requests;
        r.errors = work->failed + (throughput_requests - work->ok - work->failed);
        report_first_error(r, work->first_error);
    });
}

std::vector<row> api_throughput(mock_info const& m) {
    auto const token = fetch_token_once(m);
    return {api_wrk(m, token), api_libcurl(m, token), api_oic(m, token)};
}

// ---------------------------------------------------------------------------------------------

/// Starts the mock, runs the chosen scenarios, stops the mock. Throws if the run cannot go on.
std::vector<row> run_benchmarks(options const& opts) {
    std::vector<row> rows;
    mock_process mock(opts.mock);
    auto add = [&](std::vector<row> more) { rows.insert(rows.end(), more.begin(), more.end()); };
    if (opts.scenario.empty() || opts.scenario == "token_storm")
        add(token_storm(mock.info()));
    if (opts.scenario.empty() || opts.scenario == "api_throughput")
        add(api_throughput(mock.info()));
    if (int const status = mock.stop(); status != 0)
        std::cerr << "oic-bench: oic-mock-server exited with status " << status << '\n';
    return rows;
}

} // namespace

int main(int argc, char** argv) {
    options opts;
    try {
        auto parsed = parse_command_line(argc, argv);
        if (!parsed) {
            std::cout << usage;
            return 0;
        }
        opts = std::move(*parsed);
    } catch (usage_error const& e) {
        std::cerr << "oic-bench: " << e.what << " (see --help)\n";
        return 2;
    } catch (std::exception const& e) { // e.g. /proc/self/exe unreadable
        std::cerr << "oic-bench: " << e.what() << '\n';
        return 1;
    }

    ::signal(SIGPIPE, SIG_IGN); // a peer closing a connection is an error code, not a dead process
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        std::cerr << "oic-bench: curl_global_init failed\n";
        return 1;
    }
    int code = 0;
    try {
        auto const rows = run_benchmarks(opts);
        write_results(opts.out, rows);
        print_table(rows);
        for (auto const& r : rows)
            if (r.errors)
                code = 1;
        std::cerr << "oic-bench: results written to " << opts.out << '\n';
    } catch (std::exception const& e) {
        std::cerr << "oic-bench: " << e.what() << '\n';
        code = 1;
    }
    curl_global_cleanup();
    return code;
}
