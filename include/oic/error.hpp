#pragma once
/// @file
/// Error codes, diagnostics and the exception that carries both.

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace oic {

using boost::system::error_code;

/// Errors of this library. Network, TLS and Beast errors keep their own categories.
enum class error {
    // configuration and arguments
    bad_url = 1,        ///< a configured URL cannot be parsed or has an unsupported scheme
    insecure_transport, ///< credentials would cross plaintext http to a non-loopback host
    bad_config,         ///< a required setting is missing or invalid

    // transport
    timeout,            ///< connect, request or total deadline passed
    body_too_large,     ///< a response body exceeded the configured limit
    response_too_large, ///< header, chunk framing or trailers exceeded the read limits

    // token endpoint
    token_rejected,         ///< RFC 6749 section 5.2 error answer (see diagnostics)
    token_http_status,      ///< non-2xx answer without an RFC 6749 body
    token_not_json,         ///< the answer is not JSON
    token_missing_field,    ///< `access_token` or `token_type` absent
    token_bad_field_type,   ///< a field has the wrong JSON type or value
    token_unsupported_type, ///< `token_type` is not Bearer

    // Developer API
    api_http_status,    ///< non-2xx answer from the API
    api_unauthorized,   ///< 401 even with a freshly fetched token
    api_not_json,       ///< the answer is not JSON
    api_bad_field_type, ///< a field has the wrong JSON type
    api_too_many_pages, ///< a walk over pages passed the configured page limit
    api_not_found,      ///< 404: no such item (an unknown id, a replace of an integration never imported)
    api_conflict,       ///< 409 or 423: the item exists already, or is locked

    // redirects
    redirect_refused,          ///< the redirect policy chose not to follow; diagnostics hold the status
    too_many_redirects,        ///< the hop limit was reached
    redirect_loop,             ///< a redirect target was already visited in this chain
    redirect_bad_location,     ///< Location is missing, unparsable, has userinfo, or a non-http(s) scheme
    redirect_downgrade,        ///< https -> http
    redirect_body_credentials, ///< client credentials (a body with them, a client secret) would be re-sent to another
                               ///< origin
    body_not_replayable,       ///< a 307/308 or a retry needs the request body again and its source cannot rewind

    // token store (Redis): a store that fails falls back to fetching in-process; these name why
    store_refused,   ///< Redis answered an error (AUTH refused, a command not allowed)
    store_bad_reply, ///< Redis answered something that is not RESP, or not what was asked
};

namespace detail {
class error_category_impl final : public boost::system::error_category {
public:
    // A fixed identity: categories compare equal across shared libraries that each hold a copy.
    constexpr error_category_impl() noexcept : error_category(0x6f69632d65727231ULL) {}
    char const* name() const noexcept override { return "oic"; }
    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::bad_url: return "bad URL";
        case error::insecure_transport: return "refusing to send credentials over plaintext http";
        case error::bad_config: return "bad configuration";
        case error::timeout: return "timed out";
        case error::body_too_large: return "response body too large";
        case error::response_too_large: return "response header or framing too large";
        case error::token_rejected: return "token endpoint rejected the request";
        case error::token_http_status: return "token endpoint answered an HTTP error";
        case error::token_not_json: return "token endpoint answer is not JSON";
        case error::token_missing_field: return "token endpoint answer lacks a required field";
        case error::token_bad_field_type: return "token endpoint answer has a field of the wrong type";
        case error::token_unsupported_type: return "token type is not Bearer";
        case error::api_http_status: return "API answered an HTTP error";
        case error::api_unauthorized: return "API rejected a freshly fetched token";
        case error::api_not_json: return "API answer is not JSON";
        case error::api_bad_field_type: return "API answer has a field of the wrong type";
        case error::api_too_many_pages: return "API kept answering hasMore past the page limit";
        case error::api_not_found: return "API answered not found";
        case error::api_conflict: return "API answered a conflict (exists already, or locked)";
        case error::redirect_refused: return "redirect not followed by policy";
        case error::too_many_redirects: return "too many redirects";
        case error::redirect_loop: return "redirect loop";
        case error::redirect_bad_location: return "bad redirect Location";
        case error::redirect_downgrade: return "redirect from https to http refused";
        case error::redirect_body_credentials: return "refusing to re-send client credentials to another origin";
        case error::body_not_replayable: return "the request body cannot be sent again";
        case error::store_refused: return "token store refused the command";
        case error::store_bad_reply: return "token store answered something unexpected";
        }
        return "unknown oic error";
    }
};
} // namespace detail

/// The category of `oic::error` codes (name "oic").
inline boost::system::error_category const& error_category() noexcept {
    static constexpr detail::error_category_impl instance;
    return instance;
}

/// `e` as an `error_code` (found by ADL: `error_code ec = error::timeout;`).
inline error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/**
 * @brief Classes of failure, to compare any error code against: `ec == oic::condition::timeout`
 * holds for the library's own timeout and for Beast's and the socket's. Which party said no:
 * `configuration`, `token_endpoint`, `api` (the API's answers and redirects), `network` (transport,
 * TLS, timeouts, size limits); and two that cut across: `cancelled`, `timeout`.
 */
enum class condition {
    configuration = 1,
    token_endpoint,
    api,
    network,
    cancelled,
    timeout,
};

namespace detail {
class condition_category_impl final : public boost::system::error_category {
public:
    constexpr condition_category_impl() noexcept : error_category(0x6f69632d636f6e31ULL) {}
    char const* name() const noexcept override { return "oic.condition"; }
    std::string message(int ev) const override {
        switch (static_cast<condition>(ev)) {
        case condition::configuration: return "configuration error";
        case condition::token_endpoint: return "token endpoint error";
        case condition::api: return "Developer API error";
        case condition::network: return "network error";
        case condition::cancelled: return "cancelled";
        case condition::timeout: return "timed out";
        }
        return "unknown oic condition";
    }
    bool equivalent(error_code const& ec, int cond) const noexcept override;
};
} // namespace detail

/// The category of `oic::condition`s, which any code (ours, Asio's, Beast's) can be compared with.
inline boost::system::error_category const& condition_category() noexcept {
    static constexpr detail::condition_category_impl instance;
    return instance;
}

/// `c` as an `error_condition` (found by ADL: `ec == condition::timeout`).
inline boost::system::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

inline bool detail::condition_category_impl::equivalent(error_code const& ec, int cond) const noexcept {
    bool const ours = ec.category() == oic::error_category();
    auto const e = static_cast<error>(ec.value());
    bool const cancelled = ec == boost::system::errc::operation_canceled;
    bool const timeout = ours ? e == error::timeout : ec == boost::system::errc::timed_out;
    switch (static_cast<condition>(cond)) {
    case condition::cancelled: return cancelled;
    case condition::timeout: return timeout;
    case condition::configuration:
        return ours && (e == error::bad_url || e == error::insecure_transport || e == error::bad_config);
    case condition::token_endpoint: return ours && e >= error::token_rejected && e <= error::token_unsupported_type;
    case condition::api: return ours && e >= error::api_http_status && e <= error::body_not_replayable;
    case condition::network:
        return ours ? e == error::timeout || e == error::body_too_large || e == error::response_too_large ||
                          e >= error::store_refused
                    : !cancelled && ec.failed();
    }
    return false;
}

namespace detail {

/// Our codes for Beast's limits and timeouts, wherever a transport met them (HTTP or Redis); other
/// errors pass through.
inline error_code map_transport_error(error_code ec) {
    if (ec == boost::beast::error::timeout)
        return make_error_code(error::timeout);
    if (ec == boost::beast::http::error::body_limit)
        return make_error_code(error::body_too_large);
    if (ec == boost::beast::http::error::header_limit || ec == boost::beast::http::error::buffer_overflow)
        return make_error_code(error::response_too_large);
    return ec;
}

} // namespace detail

/**
 * @brief `text` safe to print to a terminal or a log line: C0 and C1 control characters and DEL
 * become `\xNN` (a server cannot move the cursor, clear the screen or forge a log line), and a
 * backslash becomes `\\`, so escaped text cannot pass for an escape. Everything else, UTF-8
 * included, is kept.
 */
inline std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    auto hex = [&out](unsigned char c) {
        constexpr char digits[] = "0123456789abcdef";
        out += "\\x";
        out += digits[c >> 4];
        out += digits[c & 15];
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto const c = static_cast<unsigned char>(text[i]);
        auto const next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
        if (c < 0x20 || c == 0x7f) {
            hex(c);
        } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) { // U+0080..U+009F, e.g. CSI
            hex(c);
            hex(next);
            ++i;
        } else if (c == '\\') {
            out += "\\\\";
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

/// What went wrong, beyond the code. Never holds a secret or a token.
struct diagnostics {
    std::string message{};        ///< the client's explanation (which field, which URL, which limit)
    unsigned http_status = 0;     ///< HTTP status of the failing answer, 0 when none
    std::string server_code{};    ///< RFC 6749 `error` or the API's `code`
    std::string server_message{}; ///< RFC 6749 `error_description` or the API's `message`
    /// `error::redirect_refused`: where the redirect pointed, as `host:port` (what
    /// `client_config::trusted_hosts` takes), for a program to say what to change in its own terms.
    std::string redirect_to{};
};

/// The exception thrown by the coroutines: a system_error that also carries diagnostics.
class error_with_diagnostics : public boost::system::system_error {
public:
    /// `ec` with its explanation; `what()` is made of both.
    error_with_diagnostics(error_code ec, diagnostics diag)
        : boost::system::system_error(ec), diag_(std::move(diag)), what_(describe(ec, diag_)) {}

    diagnostics const& get_diagnostics() const noexcept { return diag_; } ///< the explanation, field by field

    /// One line: the client's explanation, the HTTP status and the server's own words.
    char const* what() const noexcept override { return what_.c_str(); }

private:
    static std::string describe(error_code const& ec, diagnostics const& d) {
        std::string s = d.message.empty() ? ec.message() : d.message;
        if (d.http_status != 0)
            s += (s.empty() ? "" : ", ") + std::string("HTTP ") + std::to_string(d.http_status);
        if (!d.server_code.empty() || !d.server_message.empty()) {
            s += (s.empty() ? "" : ", ") + std::string("server said: ") + d.server_code;
            if (!d.server_message.empty())
                s += (d.server_code.empty() ? "" : ": ") + d.server_message;
        }
        return s;
    }
    diagnostics diag_;
    std::string what_;
};

namespace detail {
/// Fills `out` and returns `ec`: how the library's own steps report an error as a value (`fail`
/// throws it where the coroutine forms hand it to their caller). Asio's source location is dropped.
inline error_code report(diagnostics& out, error_code ec, diagnostics what) {
    out = std::move(what);
    return error_code(ec.value(), ec.category());
}
inline error_code report(diagnostics& out, error_code ec, std::string message) {
    return report(out, ec, diagnostics{std::move(message)});
}
} // namespace detail

/// Throws error_with_diagnostics; the one place errors leave the library.
/// (The source location Asio attaches to its codes is dropped: it is noise in a user's error line.)
[[noreturn]] inline void fail(error_code ec, diagnostics diag) {
    throw error_with_diagnostics(error_code(ec.value(), ec.category()), std::move(diag));
}
/// As above, the diagnostics holding only `message`.
[[noreturn]] inline void fail(error_code ec, std::string message) {
    fail(ec, diagnostics{std::move(message)});
}

} // namespace oic

// Boost's traits that make `oic::error` an error code and `oic::condition` a condition (not reference).
/// @cond
template <>
struct boost::system::is_error_code_enum<oic::error> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<oic::condition> : std::true_type {};
/// @endcond
