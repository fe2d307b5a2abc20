#pragma once
/**
 * @file
 * OAuth 2.0 client credentials grant (RFC 6749 section 4.4) against an OCI identity domain:
 * the request, the answer's parser, and the `fetch_token` coroutine.
 */

#include <oic/detail/config.hpp>
#include <oic/error.hpp>
#include <oic/http/session.hpp>
#include <oic/secret.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace oic {

namespace asio = boost::asio;

/// How the client authenticates at the token endpoint.
enum class client_auth {
    basic, ///< client_secret_basic: `Authorization: Basic`, id and secret form-encoded first (RFC 6749 2.3.1)
    post,  ///< client_secret_post: `client_id` and `client_secret` in the form body
};

/// A confidential application's credentials and where to use them.
struct client_credentials {
    std::string token_url; ///< e.g. `https://idcs-xxxx.identity.oraclecloud.com/oauth2/v1/token`
    std::string client_id; ///< the application's client ID
    secret client_secret;  ///< its client secret (never printed; see `secret`)
    std::string scope;     ///< e.g. `https://<id>.integration.ocp.oraclecloud.com:443urn:opc:resource:consumer::all`
    client_auth auth = client_auth::basic;         ///< how the secret is sent (HTTP Basic, or in the body)
    std::chrono::seconds default_expires_in{3600}; ///< lifetime assumed when the answer has no `expires_in`
    std::size_t max_response_size = 64 * 1024;     ///< a larger answer is an error, not a token
};

/// A bearer token as the token endpoint issued it.
struct access_token {
    secret value;                      ///< what goes after `Bearer ` (never printed)
    std::string token_type;            ///< as the server spelled it (`Bearer`, any case)
    std::chrono::seconds expires_in{}; ///< lifetime at the time of issue
    std::string scope;                 ///< granted scope, when the server says
};

/// Tokens are handed out as shared pointers: no copy of the secret on the hot path.
using token_ptr = std::shared_ptr<access_token const>;

namespace detail {

inline std::string base64(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    int const n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<unsigned char const*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

/// What a token request needs from the credentials: `bad_config` or `bad_url`, with `diag` filled.
inline error_code check_credentials(client_credentials const& c, diagnostics& diag) {
    if (c.client_id.empty())
        return report(diag, error::bad_config, "client_id is empty");
    if (c.client_secret.empty())
        return report(diag, error::bad_config, "client secret is empty");
    auto const url = http::urls::parse_uri(c.token_url);
    if (!url || url->has_userinfo())
        return report(diag, error::bad_url, "token_url is not an absolute URL without userinfo");
    return {};
}

/// The token request without target and Host (the session sets those per hop), for credentials
/// `check_credentials` accepted.
inline http::request make_token_request(client_credentials const& c) {
    http::request req = http::make_request(boost::beast::http::verb::post);
    req.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded;charset=UTF-8");
    req.set(boost::beast::http::field::accept, "application/json");
    std::string body = "grant_type=client_credentials";
    if (!c.scope.empty())
        body += "&scope=" + http::form_encode(c.scope);
    if (c.auth == client_auth::basic) {
        // RFC 6749 2.3.1: each part form-encoded, then joined and base64-encoded. The
        // intermediate strings hold the secret, so they are secrets too (wiped on destruction).
        secret const joined(http::form_encode(c.client_id) + ":" + http::form_encode(c.client_secret.reveal()));
        secret const header("Basic " + base64(joined.reveal()));
        req.set(boost::beast::http::field::authorization, header.reveal());
    } else {
        body += "&client_id=" + http::form_encode(c.client_id);
        secret const encoded(http::form_encode(c.client_secret.reveal()));
        body += "&client_secret=";
        body += encoded.reveal();
    }
    req.body() = std::move(body);
    return req;
}

/// Server text for diagnostics: at most 300 bytes, control characters escaped (see `printable`).
inline std::string server_text(boost::json::value const* v) {
    if (!v || !v->is_string())
        return {};
    std::string_view s = v->get_string();
    return printable(s.substr(0, 300));
}

/// RFC 6750 section 2.1 `b64token`: the only bearer token text that goes into a header.
inline bool is_b64token(std::string_view t) {
    auto const end = t.find_last_not_of('=');
    if (end == std::string_view::npos)
        return false;
    return std::all_of(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(end) + 1, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               c == '_' || c == '~' || c == '+' || c == '/';
    });
}

/**
 * @brief Turns the token endpoint's answer into a token in `out`, or an error with `diag` filled.
 *
 * The body is never copied into an error: it may hold a token.
 */
inline error_code parse_token_response(unsigned status, std::string_view body, std::chrono::seconds default_expires_in,
                                       access_token& out, diagnostics& diag) {
    boost::system::error_code ec;
    boost::json::value const doc = boost::json::parse(body, ec);
    boost::json::object const* obj = !ec ? doc.if_object() : nullptr;

    if (status < 200 || status > 299) {
        if (obj && obj->contains("error") && obj->at("error").is_string())
            return report(diag, error::token_rejected,
                          diagnostics{.message = "token endpoint refused the request",
                                      .http_status = status,
                                      .server_code = server_text(obj->if_contains("error")),
                                      .server_message = server_text(obj->if_contains("error_description"))});
        return report(
            diag, error::token_http_status,
            diagnostics{.message = "token endpoint answered without an OAuth error body", .http_status = status});
    }
    if (!obj)
        return report(diag, error::token_not_json,
                      diagnostics{.message = body.empty() ? "token endpoint answer is empty"
                                                          : "token endpoint answer is not a JSON object",
                                  .http_status = status});
    auto bad_type = [&](char const* what) {
        return report(diag, error::token_bad_field_type,
                      diagnostics{.message = std::string("token answer: ") + what, .http_status = status});
    };
    auto const* tok = obj->if_contains("access_token");
    if (!tok)
        return report(diag, error::token_missing_field,
                      diagnostics{.message = "token answer has no access_token", .http_status = status});
    if (!tok->is_string() || tok->get_string().empty())
        return bad_type("access_token is not a non-empty string");
    if (!is_b64token(tok->get_string()))
        return bad_type("access_token has characters a bearer token cannot have (RFC 6750 b64token)");
    auto const* type = obj->if_contains("token_type");
    if (!type)
        return report(diag, error::token_missing_field,
                      diagnostics{.message = "token answer has no token_type", .http_status = status});
    if (!type->is_string())
        return bad_type("token_type is not a string");
    std::string_view const t = type->get_string();
    if (t.size() != 6 || !std::equal(t.begin(), t.end(), "bearer",
                                     [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
        // Shown only when short: a server that swapped the two fields puts the token here.
        std::string const shown =
            t.size() <= 12 ? "'" + printable(t) + "'"
                           : "a value of " + std::to_string(t.size()) + " characters (not shown: it may be a token)";
        return report(diag, error::token_unsupported_type,
                      diagnostics{.message = "token_type is " + shown + ", expected Bearer", .http_status = status});
    }

    out = access_token{.value = secret(std::string(tok->get_string())),
                       .token_type = std::string(t),
                       .expires_in = default_expires_in,
                       .scope = {}};
    if (auto const* exp = obj->if_contains("expires_in")) {
        double seconds = 0;
        if (exp->is_int64())
            seconds = static_cast<double>(exp->get_int64());
        else if (exp->is_uint64())
            seconds = static_cast<double>(exp->get_uint64());
        else if (exp->is_double())
            seconds = exp->get_double();
        else
            return bad_type("expires_in is not a number");
        // Under a second would truncate to 0: a token expired on arrival, fetched again by every call.
        if (!(seconds >= 1 && seconds < 1e9))
            return bad_type("expires_in is not a number of seconds from 1 to 10^9");
        out.expires_in = std::chrono::seconds(static_cast<std::int64_t>(seconds));
    }
    if (auto const* scope = obj->if_contains("scope")) {
        if (!scope->is_string())
            return bad_type("scope is not a string");
        out.scope = std::string(scope->get_string());
    }
    return {};
}

} // namespace detail

namespace detail {
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, access_token>, Executor>
request_token(http::basic_session<Executor, Connector> session, client_credentials creds, diagnostics& diag) {
    if (auto ec = detail::check_credentials(creds, diag))
        co_return std::tuple{ec, access_token{}};
    // Named, not temporaries in the co_await expression (see list_query).
    auto url = *http::urls::parse_uri(creds.token_url);
    auto req = detail::make_token_request(creds);
    // A token request's redirects are followed per call under the rules, never remembered. Sending
    // it twice only issues a second token: it is retried like a GET (429 from a busy domain).
    // The client secret, in either form, goes to the token URL's origin only, whatever the
    // session's policy trusts for bearer tokens.
    http::send_options const options{.body_has_credentials = creds.auth == client_auth::post,
                                     .max_body_size = creds.max_response_size,
                                     .use_redirect_memory = false,
                                     .retry_safe = true,
                                     .credentials_pinned = true};
    auto [ec, answer] =
        co_await http::detail::session_access::send(session, std::move(url), std::move(req), options, diag);
    access_token token;
    if (!ec) {
        ec = detail::parse_token_response(answer.message.result_int(), answer.message.body(), creds.default_expires_in,
                                          token, diag);
        if (ec) // which endpoint: a wrong token URL answers 404
            diag.message = http::redacted(answer.url) + ": " + diag.message;
        if (ec && answer.retries > 0)
            diag.message += " (after " + std::to_string(answer.retries) + " retries)";
    }
    co_return std::tuple{ec, std::move(token)};
}
} // namespace detail

/**
 * @brief Gets a token with the client credentials grant.
 *
 * Sends `POST token_url` through `session` (its TLS settings, timeouts, retries and redirect policy) and
 * parses the answer.
 *
 * @par Per-operation cancellation
 * As the session's `send`: a cancelled call ends with `operation_aborted`.
 *
 * @return the token, or the error with `diag` filled: `error::bad_config`/`bad_url` for settings,
 * `error::token_*` for what the endpoint answered, network and TLS codes for the rest.
 */
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, access_token>, Executor>
fetch_token(http::basic_session<Executor, Connector> session, client_credentials creds, diagnostics& diag) {
    return detail::cancel_as_value(detail::request_token(std::move(session), std::move(creds), diag));
}

/// As above, throwing `error_with_diagnostics` on failure, cancellation included.
template <class Executor, class Connector>
asio::awaitable<access_token, Executor> fetch_token(http::basic_session<Executor, Connector> session,
                                                    client_credentials creds) {
    return detail::value_or_throw<access_token, Executor>(
        [session = std::move(session), creds = std::move(creds)](diagnostics& d) {
            return detail::request_token(session, creds, d);
        });
}

namespace detail {
template <class Executor, class Connector, class CompletionToken>
auto start_fetch_token(diagnostics* diag, http::basic_session<Executor, Connector> session, client_credentials creds,
                       CompletionToken&& token) {
    return async_run<access_token>(
        session.get_executor(), diag,
        [session, creds = std::move(creds)](diagnostics& d) { return request_token(session, creds, d); },
        std::forward<CompletionToken>(token));
}
} // namespace detail

/**
 * @brief `fetch_token` for any completion token, from any executor: handler
 * `void(error_code, access_token)`; with `diag`, failures also fill it (it must outlive the operation).
 *
 * @par Per-operation cancellation
 * Terminal, as the session's `async_send`: `operation_aborted` at once, nothing retried.
 */
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, access_token)> CompletionToken = asio::deferred_t>
auto async_fetch_token(http::basic_session<Executor, Connector> session, client_credentials creds, diagnostics& diag,
                       CompletionToken&& token = {}) {
    return detail::start_fetch_token(&diag, std::move(session), std::move(creds), std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, access_token)> CompletionToken = asio::deferred_t>
auto async_fetch_token(http::basic_session<Executor, Connector> session, client_credentials creds,
                       CompletionToken&& token = {}) {
    return detail::start_fetch_token(nullptr, std::move(session), std::move(creds),
                                     std::forward<CompletionToken>(token));
}

#ifdef OIC_SEPARATE_COMPILATION // compiled once, by <oic/src.hpp> (see oic/detail/config.hpp)
OIC_INSTANTIATE void detail::start_run<access_token, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*, asio::awaitable<std::tuple<error_code, access_token>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, access_token)>);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, access_token>, asio::any_io_executor>
detail::request_token<asio::any_io_executor>(http::basic_session<asio::any_io_executor>, client_credentials,
                                             diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, access_token>, asio::any_io_executor>
fetch_token<asio::any_io_executor>(http::basic_session<asio::any_io_executor>, client_credentials, diagnostics&);
OIC_INSTANTIATE asio::awaitable<access_token, asio::any_io_executor>
    fetch_token<asio::any_io_executor>(http::basic_session<asio::any_io_executor>, client_credentials);
#endif

} // namespace oic
