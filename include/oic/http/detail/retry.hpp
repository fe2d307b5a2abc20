#pragma once
/// @file The parts of a retry that need no I/O: which failures are transient, `Retry-After`, the
/// backoff and the session's retry budget.

#include <oic/error.hpp>
#include <oic/http/types.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>

namespace oic::http::detail {

/// Methods that may be sent twice with the effect of once (RFC 9110 9.2.2).
inline bool is_idempotent(beast::http::verb m) {
    using v = beast::http::verb;
    return m == v::get || m == v::head || m == v::put || m == v::delete_ || m == v::options || m == v::trace;
}

/// How far one exchange got before it ended.
struct exchange_progress {
    bool request_written = false; ///< some of the request went out
    bool answer_started = false;  ///< some of the answer came in
};

/// Statuses that say "not now": too many requests, and a gateway or service unavailable.
inline bool is_retryable_status(beast::http::status s) {
    using st = beast::http::status;
    return s == st::too_many_requests || s == st::bad_gateway || s == st::service_unavailable ||
           s == st::gateway_timeout;
}

/// Connection errors that a new attempt may not meet: refused, reset or closed before the answer,
/// an unreachable network, a DNS server that said "try again". Not our timeouts (the server may be
/// busy with the request), not TLS or certificate errors.
inline bool is_transient_error(error_code ec) {
    namespace ae = boost::asio::error;
    return ec == ae::connection_refused || ec == ae::connection_reset || ec == ae::connection_aborted ||
           ec == ae::broken_pipe || ec == ae::eof || ec == ae::network_unreachable || ec == ae::network_down ||
           ec == ae::network_reset || ec == ae::host_unreachable || ec == ae::host_not_found_try_again ||
           ec == ae::timed_out || ec == beast::http::error::end_of_stream ||
           ec == boost::asio::ssl::error::stream_truncated;
}

/**
 * How long `Retry-After: value` asks to wait, seen at `now` (RFC 9110 section 10.2.3): a number of
 * seconds, or an HTTP-date in any of its three forms (IMF-fixdate, RFC 850, asctime); a date in the
 * past is no wait. Anything else is nothing: the backoff applies.
 */
inline std::optional<clock::duration> parse_retry_after(std::string_view value,
                                                        std::chrono::system_clock::time_point now) {
    auto const is_digit = [](char c) { return c >= '0' && c <= '9'; };
    auto const first = value.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return std::nullopt;
    value = value.substr(first, value.find_last_not_of(" \t") - first + 1);
    if (std::all_of(value.begin(), value.end(), is_digit)) {
        if (value.size() > 9) // more than 31 years: longer than any deadline
            return clock::duration::max();
        long seconds = 0;
        for (char c : value)
            seconds = seconds * 10 + (c - '0');
        return std::chrono::seconds(seconds);
    }
    // An HTTP-date: the tokens between spaces, commas and dashes, whatever their order among the
    // three forms: a weekday (ignored), the day (the first number), a month name, the year (the next
    // number), hh:mm:ss, and GMT (asctime has none).
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int day = -1, month = -1, year = -1, hh = -1, mm = -1, ss = -1;
    auto number = [&](std::string_view t, int& out) {
        if (t.empty() || t.size() > 4 || !std::all_of(t.begin(), t.end(), is_digit))
            return false;
        out = 0;
        for (char c : t)
            out = out * 10 + (c - '0');
        return true;
    };
    for (std::size_t at = 0; at < value.size();) {
        auto const end = std::min(value.find_first_of(" ,-", at), value.size());
        auto const t = value.substr(at, end - at);
        at = end + 1;
        if (t.empty() || t == "GMT")
            continue;
        int n = 0;
        if (t.size() == 8 && t[2] == ':' && t[5] == ':') {
            if (!number(t.substr(0, 2), hh) || !number(t.substr(3, 2), mm) || !number(t.substr(6, 2), ss))
                return std::nullopt;
        } else if (number(t, n)) {
            if (day < 0 && t.size() <= 2)
                day = n;
            else if (year < 0 && (t.size() == 4 || t.size() == 2))
                year = t.size() == 2 ? (n < 70 ? 2000 + n : 1900 + n) : n; // RFC 850's two-digit year
            else
                return std::nullopt;
        } else if (auto m = std::find(std::begin(months), std::end(months), t); m != std::end(months)) {
            month = static_cast<int>(m - std::begin(months)) + 1;
        } else if (t.size() < 3 || t.size() > 9) { // a weekday name is 3 to 9 letters
            return std::nullopt;
        }
    }
    using namespace std::chrono;
    if (day < 0 || month < 0 || year < 0 || hh < 0 || hh > 23 || mm > 59 || ss > 60)
        return std::nullopt;
    year_month_day const date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                              std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok())
        return std::nullopt;
    // In whole seconds until the last step: a date past 2262 does not fit in nanoseconds since
    // 1970, so `at` is never converted to `now`'s resolution; a wait that long saturates.
    auto const at = sys_days(date) + hours(hh) + minutes(mm) + seconds(ss);
    auto const now_s = time_point_cast<seconds>(now); // towards zero: back in nanoseconds, it still fits
    auto const ahead = at - now_s;                    // a 4-digit year: far inside 64-bit seconds
    if (ahead <= seconds::zero())
        return clock::duration::zero();
    if (ahead >= duration_cast<seconds>(clock::duration::max()))
        return clock::duration::max();
    return duration_cast<clock::duration>(ahead) - duration_cast<clock::duration>(now - now_s);
}

/// The wait before retry number `retry` (0: the first): a random part `jitter` (in [0, 1)) of the
/// base delay doubled `retry` times, at most `max_delay` (full jitter).
inline clock::duration backoff(retry_options const& o, int retry, double jitter) {
    auto bound = o.base_delay;
    for (int i = 0; i < retry && bound < o.max_delay; ++i)
        bound *= 2;
    bound = std::min(bound, o.max_delay);
    return std::chrono::duration_cast<clock::duration>(bound * std::clamp(jitter, 0.0, 1.0));
}

/// A random number in [0, 1) for the backoff's jitter; each thread has its own generator.
inline double jitter() {
    thread_local std::minstd_rand generator(std::random_device{}());
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

/// Retries one session may still make (see `retry_options::budget_ratio`). Thread-safe.
class retry_budget {
public:
    explicit retry_budget(retry_options const& o)
        : ratio_(o.budget_ratio), burst_(o.budget_burst), tokens_(o.budget_burst) {}

    /// A call starts: it earns a part of a retry.
    void on_call() {
        std::lock_guard lock(mutex_);
        tokens_ = std::min(burst_, tokens_ + ratio_);
    }
    /// Takes one retry, if there is one left.
    bool try_spend() {
        std::lock_guard lock(mutex_);
        if (tokens_ < 1)
            return false;
        tokens_ -= 1;
        return true;
    }

private:
    std::mutex mutex_;
    double const ratio_;
    double const burst_;
    double tokens_; // guarded by mutex_
};

} // namespace oic::http::detail
