#pragma once
/**
 * @file What the benchmark programs share: the command line, a measurement window (latencies,
 * CPU time and allocations of the calls that complete inside it), process facts and the one JSON
 * row each program prints on stdout.
 *
 * Include it in exactly one translation unit per program: it replaces the global `operator new`
 * with one that counts (every program here is a single source file).
 */

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <sys/resource.h>

namespace bench {

using steady = std::chrono::steady_clock;

/// Allocations since the start of the program: every `operator new`, plus whatever a program
/// adds (bench-libcurl counts libcurl's own mallocs here too).
inline std::atomic<std::uint64_t> allocations{0};

inline void count_allocation() noexcept {
    allocations.fetch_add(1, std::memory_order_relaxed);
}

} // namespace bench

// The counting global operator new. The array, nothrow and aligned-nothrow forms of libstdc++ call
// these two; the deletes match what they allocate with. Not inlined: GCC would then see free() on a
// pointer from operator new and warn (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t n) {
    bench::count_allocation();
    if (void* p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a) {
    bench::count_allocation();
    void* p = nullptr;
    auto const align = std::max(static_cast<std::size_t>(a), sizeof(void*));
    if (::posix_memalign(&p, align, n ? n : 1) == 0)
        return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

namespace bench {

// ---------------------------------------------------------------------------------------------
// Command line: `--key value` or `--key=value`, every option known in advance.

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class options {
public:
    /// @throws usage_error for an unknown option or a missing value.
    options(int argc, char** argv, std::initializer_list<std::string_view> known) {
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                help_ = true;
                continue;
            }
            std::optional<std::string_view> value;
            if (auto const eq = arg.find('='); eq != std::string_view::npos) {
                value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
            }
            if (!arg.starts_with("--") || std::find(known.begin(), known.end(), arg.substr(2)) == known.end())
                throw usage_error("unknown option '" + std::string(arg) + "'");
            if (!value) {
                if (i + 1 >= argc)
                    throw usage_error(std::string(arg) + " needs a value");
                value = argv[++i];
            }
            values_[std::string(arg.substr(2))] = std::string(*value);
        }
    }

    bool help() const noexcept { return help_; }
    bool has(std::string_view key) const { return values_.find(key) != values_.end(); }

    std::string text(std::string_view key, std::string fallback = {}) const {
        auto const it = values_.find(key);
        return it == values_.end() ? fallback : it->second;
    }
    std::string required(std::string_view key) const {
        auto const it = values_.find(key);
        if (it == values_.end() || it->second.empty())
            throw usage_error("--" + std::string(key) + " is required");
        return it->second;
    }
    /// A number in [min, max]; `fallback` when absent.
    double number(std::string_view key, double fallback, double min, double max) const {
        auto const it = values_.find(key);
        if (it == values_.end())
            return fallback;
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(it->second, &used);
        } catch (std::exception const&) {
            used = 0;
        }
        if (used == 0 || used != it->second.size() || !(v >= min && v <= max))
            throw usage_error("--" + std::string(key) + " expects a number from " + std::to_string(min) + " to " +
                              std::to_string(max));
        return v;
    }

private:
    std::map<std::string, std::string, std::less<>> values_;
    bool help_ = false;
};

// ---------------------------------------------------------------------------------------------
// Process facts

/// User + system CPU time of this process, in seconds (getrusage(RUSAGE_SELF)).
inline double cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto const s = [](timeval tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

/// Sets the peak resident set size (VmHWM) to the current one (Linux 4.0 and later).
inline void reset_peak_rss() {
    std::ofstream("/proc/self/clear_refs") << "5";
}

/// Peak resident set size so far (VmHWM), in KiB.
inline long peak_rss_kib() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("VmHWM:"))
            return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

/// Raises the soft limit on open files to the hard limit (1,000 calls in flight need > 1,024).
inline void raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/// A fresh random string for a client secret or token nobody checks; never printed.
inline std::string random_token(std::size_t n = 32) {
    static constexpr char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::uniform_int_distribution<std::size_t> pick(0, sizeof chars - 2);
    std::string s(n, 'x');
    for (auto& c : s)
        c = chars[pick(rd)];
    return s;
}

// ---------------------------------------------------------------------------------------------
// Results

/// One (scenario, client, concurrency) measurement; unset fields are written as null.
struct row {
    std::string scenario;
    std::string client;
    int concurrency = 0;
    std::uint64_t requests = 0;
    double seconds = 0;
    std::optional<double> rps, p50_ms, p99_ms, cpu_us_per_call, allocs_per_call, rss_per_call_kib;
    std::optional<double> mb_per_s; ///< parse_only: MB of JSON per second
    std::optional<std::uint64_t> token_requests;
    std::uint64_t errors = 0;
    std::string first_error; ///< library or libcurl error text: never holds a secret or a token
};

inline std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

inline std::string json_number(std::optional<double> v, int decimals) {
    if (!v || !std::isfinite(*v))
        return "null";
    std::ostringstream s;
    s << std::fixed << std::setprecision(decimals) << *v;
    return s.str();
}

/// The row as one line of JSON.
inline std::string to_json(row const& r) {
    std::ostringstream s;
    s << "{\"scenario\": " << json_string(r.scenario) << ", \"client\": " << json_string(r.client)
      << ", \"concurrency\": " << r.concurrency << ", \"requests\": " << r.requests
      << ", \"seconds\": " << json_number(r.seconds, 3) << ", \"rps\": " << json_number(r.rps, 1)
      << ", \"p50_ms\": " << json_number(r.p50_ms, 3) << ", \"p99_ms\": " << json_number(r.p99_ms, 3)
      << ", \"cpu_us_per_call\": " << json_number(r.cpu_us_per_call, 1)
      << ", \"token_requests\": " << (r.token_requests ? std::to_string(*r.token_requests) : "null")
      << ", \"allocs_per_call\": " << json_number(r.allocs_per_call, 1)
      << ", \"rss_per_call_kib\": " << json_number(r.rss_per_call_kib, 1)
      << ", \"mb_per_s\": " << json_number(r.mb_per_s, 1) << ", \"errors\": " << r.errors;
    if (!r.first_error.empty())
        s << ", \"first_error\": " << json_string(r.first_error.substr(0, 300));
    s << "}";
    return s.str();
}

/// Nearest-rank percentile of `v` (sorted in place), `p` in (0, 100].
inline std::optional<double> percentile(std::vector<double>& v, double p) {
    if (v.empty())
        return std::nullopt;
    std::sort(v.begin(), v.end());
    auto const rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

// ---------------------------------------------------------------------------------------------
// The measurement window

/// Where the clock, the CPU time and the allocation count stood at one moment.
struct snapshot {
    steady::time_point at;
    double cpu = 0;
    std::uint64_t allocs = 0;

    static snapshot take() { return {steady::now(), cpu_seconds(), allocations.load(std::memory_order_relaxed)}; }
};

/**
 * Calls that complete between `begin()` and `end()` count: their latencies, and the process's CPU
 * time and allocations over the window divided by their number. Single-threaded use.
 */
class window {
public:
    /// `max_calls`: the window ends by itself after that many (its latencies are reserved up front,
    /// so recording allocates nothing).
    explicit window(std::size_t max_calls) : max_(std::max<std::size_t>(max_calls, 1)) { latencies_ms_.reserve(max_); }

    void begin() {
        if (state_ != state::before)
            return;
        begin_ = snapshot::take();
        state_ = state::measuring;
    }
    void end() {
        if (state_ == state::measuring)
            end_ = snapshot::take();
        state_ = state::finished;
    }
    bool begun() const noexcept { return state_ != state::before; }
    bool measuring() const noexcept { return state_ == state::measuring; }
    bool finished() const noexcept { return state_ == state::finished; }

    /// A call that started at `started` just completed successfully.
    void completed(steady::time_point started) {
        if (state_ != state::measuring)
            return;
        latencies_ms_.push_back(std::chrono::duration<double, std::milli>(steady::now() - started).count());
        if (latencies_ms_.size() >= max_)
            end();
    }
    /// A call failed: counted whenever it happens, warm-up included.
    void failed(std::string_view what) {
        if (errors_++ == 0)
            first_error_ = what;
    }
    std::uint64_t errors() const noexcept { return errors_; }

    /// The row for this window (meaningful once it is finished).
    row result(std::string scenario, std::string client, int concurrency) {
        row r;
        r.scenario = std::move(scenario);
        r.client = std::move(client);
        r.concurrency = concurrency;
        r.errors = errors_;
        r.first_error = first_error_;
        r.requests = latencies_ms_.size();
        if (state_ == state::before)
            return r;
        r.seconds = std::chrono::duration<double>(end_.at - begin_.at).count();
        if (r.requests == 0 || r.seconds <= 0)
            return r;
        auto const n = static_cast<double>(r.requests);
        r.rps = n / r.seconds;
        r.p50_ms = percentile(latencies_ms_, 50);
        r.p99_ms = percentile(latencies_ms_, 99);
        r.cpu_us_per_call = (end_.cpu - begin_.cpu) * 1e6 / n;
        r.allocs_per_call = static_cast<double>(end_.allocs - begin_.allocs) / n;
        return r;
    }

private:
    enum class state { before, measuring, finished };
    std::size_t max_;
    state state_ = state::before;
    snapshot begin_, end_;
    std::vector<double> latencies_ms_;
    std::uint64_t errors_ = 0;
    std::string first_error_;
};

/// Prints the row on stdout (the driver script collects these lines) and returns the exit status.
inline int print_row(row const& r) {
    std::printf("%s\n", to_json(r).c_str());
    std::fflush(stdout);
    return r.errors == 0 && r.requests > 0 ? 0 : 1;
}

/// Prints each row (see `print_row`); 1 if any failed.
inline int print_rows(std::vector<row> const& rows) {
    int status = rows.empty() ? 1 : 0;
    for (auto const& r : rows)
        status = std::max(status, print_row(r));
    return status;
}

} // namespace bench
