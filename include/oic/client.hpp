#pragma once
/**
 * @file The OIC Developer API client: configuration, a session, a shared token and the redirect
 * policy in one handle, plus the `get_connections` coroutines.
 */

#include <oic/api/connections.hpp>
#include <oic/auth/client_credentials.hpp>
#include <oic/auth/shared_token.hpp>
#include <oic/http/redirect.hpp>
#include <oic/http/session.hpp>

#include <boost/beast/http/field.hpp>

#include <string>
#include <vector>

namespace oic {

/// Everything a client needs to reach one OIC instance.
struct client_config {
    client_credentials credentials;
    std::string base_url;             ///< design-time or runtime host, e.g. `https://design.integration.us-phoenix-1.ocp.oraclecloud.com`
    std::string integration_instance; ///< sent as `integrationInstance` on every call when not empty
    http::session_options session;    ///< TLS, timeouts, limits
    /// More hosts the default redirect policy forwards the token to (`host`, `host:port`, `*.suffix`).
    /// Trusted already: the base URL's and token URL's origins, each on its own port, and the
    /// design-time host of the base URL's region.
    std::vector<std::string> trusted_hosts;
    int max_pages = 1000;             ///< `get_all_connections` fails with `api_too_many_pages` past this
    shared_token_options token;       ///< refresh-ahead, expiry margin, failure backoff, clock
};

namespace detail {

/// The server's own words from an error body: `{"code","message"}` or RFC 7807 `{"title","detail"}`.
inline void read_api_error(std::string_view body, diagnostics& d) {
    boost::system::error_code ec;
    auto const v = boost::json::parse(body, ec);
    auto const* obj = !ec ? v.if_object() : nullptr;
    if (!obj)
        return;
    auto const* code = obj->if_contains("code");
    if (!code)
        code = obj->if_contains("title");
    auto const* msg = obj->if_contains("message");
    if (!msg)
        msg = obj->if_contains("detail");
    d.server_code = server_text(code);
    d.server_message = server_text(msg);
}

/// "GET <the URL that answered>", and where the call started when redirects took it elsewhere.
inline std::string describe_call(http::reply const& r, http::urls::url_view asked) {
    std::string s = "GET " + http::redacted(r.url);
    if (r.url != asked)
        s += " (redirected from " + http::redacted(asked) + ")";
    return s;
}

/// Nothing for a 2xx answer; the right error, with the server's own words, for anything else.
inline void check_api_answer(http::reply const& r, http::urls::url_view asked) {
    auto const& res = r.message;
    unsigned const status = res.result_int();
    if (status >= 200 && status <= 299)
        return;
    diagnostics d{.message = describe_call(r, asked), .http_status = status};
    read_api_error(res.body(), d);
    if (auto ra = res.find(boost::beast::http::field::retry_after); ra != res.end())
        d.message += " (Retry-After: " + printable(ra->value().substr(0, 40)) + ")";
    fail(status == 401 ? error::api_unauthorized : error::api_http_status, std::move(d));
}

/// The error of an answer a parser refused: names the field, and the call for a body that is not JSON.
[[noreturn]] inline void fail_parse(error_code ec, std::string what, http::reply const& r, http::urls::url_view asked) {
    diagnostics d{.message = std::move(what), .http_status = r.message.result_int()};
    if (ec == error::api_not_json)
        d.message = describe_call(r, asked) + ": answer is not JSON";
    fail(ec, std::move(d));
}

/// A JSON value from a 2xx answer, or the right error for anything else.
inline boost::json::value parse_api_response(http::reply const& r, http::urls::url_view asked) {
    check_api_answer(r, asked);
    boost::system::error_code ec;
    auto v = boost::json::parse(r.message.body(), ec);
    if (ec)
        fail_parse(error::api_not_json, {}, r, asked);
    return v;
}

} // namespace detail

/**
 * @brief A client of one OIC instance over any Asio executor.
 *
 * Holds the configuration, an `http::basic_session` (TLS, keep-alive pool, redirect policy) and a
 * `basic_shared_token`. Copies share all of it; every member function is thread-safe. The default
 * redirect policy is `http::oic_default` over the configured hosts plus `trusted_hosts`.
 */
template <class Executor = asio::any_io_executor>
class basic_client {
public:
    using executor_type = Executor;

    /// @throws error_with_diagnostics (`bad_url`, `bad_config`) for unusable settings.
    basic_client(Executor ex, client_config cfg) : basic_client(ex, cfg, default_policy(cfg)) {}

    template <http::redirect_policy P>
    basic_client(Executor ex, client_config cfg, P policy)
        : basic_client(cfg, http::basic_session<Executor>(ex, cfg.session, std::move(policy))) {}

    /// A client that uses `token`, e.g. one shared by several clients with the same credentials.
    basic_client(client_config cfg, http::basic_session<Executor> session, basic_shared_token<Executor> token)
        : state_(std::make_shared<state const>(parse_base(cfg.base_url), std::move(cfg), std::move(session),
                                               std::move(token))) {
        if (state_->cfg.max_pages < 1)
            fail(error::bad_config, "max_pages must be at least 1");
    }

    executor_type get_executor() const noexcept { return state_->session.get_executor(); }
    client_config const& config() const noexcept { return state_->cfg; }
    http::basic_session<Executor> const& session() const noexcept { return state_->session; }
    basic_shared_token<Executor> const& token() const noexcept { return state_->token; }

    /**
     * @brief `GET {base_url}{path}?{query}&integrationInstance=...` with the shared token.
     *
     * A 401 invalidates the token that got it, fetches a fresh one and retries once; a second 401
     * is `error::api_unauthorized`.
     * @param path   e.g. `/ic/api/integration/v1/connections` (already percent-encoded)
     * @param query  encoded query without `integrationInstance` (see `http::append_param`)
     */
    asio::awaitable<boost::json::value, Executor> get_json(std::string path, std::string query = {}) const {
        auto [url, answer] = co_await get(std::move(path), std::move(query));
        co_return detail::parse_api_response(answer, url);
    }

    /**
     * @brief As `get_json`, with the URL that answered: the answer's JSON and where it came from.
     * @return the URL asked for, and the reply (its `url` is the one that answered).
     */
    asio::awaitable<std::pair<http::urls::url, http::reply>, Executor> get(std::string path,
                                                                           std::string query = {}) const {
        auto const s = state_; // the call keeps the state alive: the caller's handle may go away
        if (!s->cfg.integration_instance.empty())
            http::append_param(query, "integrationInstance", s->cfg.integration_instance);
        http::urls::url url = s->base;
        url.set_encoded_path(std::string(url.encoded_path()) + path);
        url.set_encoded_query(query);

        for (bool retried = false;; retried = true) {
            token_ptr const token = co_await s->token.get();
            http::request req{boost::beast::http::verb::get, "/", 11};
            req.set(boost::beast::http::field::accept, "application/json");
            req.set(boost::beast::http::field::user_agent, "oic/0.1");
            {
                secret const bearer("Bearer " + std::string(token->value.reveal()));
                req.set(boost::beast::http::field::authorization, bearer.reveal());
            }
            auto answer = co_await s->session.send(url, std::move(req));
            if (answer.message.result() == boost::beast::http::status::unauthorized && !retried) {
                co_await s->token.invalidate(token);
                continue;
            }
            co_return std::pair{std::move(url), std::move(answer)};
        }
    }

private:
    basic_client(client_config const& cfg, http::basic_session<Executor> session)
        : basic_client(cfg, session, basic_shared_token<Executor>(session, cfg.credentials, cfg.token)) {}

    static http::urls::url parse_base(std::string const& s) {
        auto u = http::urls::parse_uri(s);
        if (!u || !http::origin_of(*u) || u->has_userinfo())
            fail(error::bad_url, "base_url is not an http(s) URL with a plain host name or IP address and no userinfo");
        http::urls::url url(*u);
        url.remove_query();
        url.remove_fragment();
        std::string path(url.encoded_path()); // once here, not per call: API paths are appended to it
        while (path.ends_with('/'))
            path.pop_back();
        url.set_encoded_path(path);
        return url;
    }

    static http::oic_default default_policy(client_config const& cfg) {
        std::vector<http::origin> configured;
        for (auto const* s : {&cfg.base_url, &cfg.credentials.token_url})
            if (auto u = http::urls::parse_uri(*s))
                if (auto o = http::origin_of(*u))
                    configured.push_back(*o);
        return http::oic_default::for_instance(configured, cfg.trusted_hosts);
    }

    struct state {
        http::urls::url base;
        client_config cfg;
        http::basic_session<Executor> session;
        basic_shared_token<Executor> token;
    };
    std::shared_ptr<state const> state_; // copies of a client are cheap and share everything
};

using client = basic_client<>;

/// One page of `GET /ic/api/integration/v1/connections`.
/// @throws error_with_diagnostics: token errors, `api_*` errors naming the field or the status.
template <class Executor>
asio::awaitable<connections_page, Executor> get_connections(basic_client<Executor> client,
                                                            connections_query query = {}) {
    auto [url, answer] = co_await client.get("/ic/api/integration/v1/connections", to_query_string(query));
    detail::check_api_answer(answer, url);
    connections_page page;
    std::string what;
    if (auto ec = detail::read_connections_page(std::move(answer.message.body()), page, what))
        detail::fail_parse(ec, std::move(what), answer, url);
    page.url = http::redacted(answer.url);
    co_return page;
}

/**
 * @brief One connection: `GET /ic/api/integration/v1/connections/{id}` (`expand=adapter` when
 * `expand` says so). The id is encoded as one path segment (`.` and `..` included), so no id can
 * reach another path; an empty id is `error::bad_config`.
 * @throws error_with_diagnostics: an unknown id is `api_http_status` with HTTP 404.
 */
template <class Executor>
asio::awaitable<connection, Executor> get_connection(basic_client<Executor> client, std::string id,
                                                     std::string expand = {}) {
    if (id.empty())
        fail(error::bad_config, "connection id is empty");
    std::string query;
    if (!expand.empty())
        http::append_param(query, "expand", expand);
    auto [url, answer] =
        co_await client.get("/ic/api/integration/v1/connections/" + http::path_segment(id), std::move(query));
    detail::check_api_answer(answer, url);
    connection c;
    std::string what;
    if (auto ec = detail::read_connection(std::move(answer.message.body()), c, what))
        detail::fail_parse(ec, std::move(what), answer, url);
    co_return c;
}

/// Every connection matching `query`, walking the pages (`hasMore`, `offset`) to the end, at most
/// `client_config::max_pages` pages (then `error::api_too_many_pages`).
template <class Executor>
asio::awaitable<std::vector<connection>, Executor> get_all_connections(basic_client<Executor> client,
                                                                       connections_query query = {}) {
    std::vector<connection> all;
    query.offset = query.offset.value_or(0);
    int const max_pages = client.config().max_pages;
    for (int pages = 1;; ++pages) {
        auto page = co_await get_connections(client, query);
        bool const empty = page.items.empty();
        *query.offset += static_cast<int>(page.items.size());
        std::move(page.items.begin(), page.items.end(), std::back_inserter(all));
        if (!page.has_more)
            co_return all;
        if (empty)
            fail(error::api_bad_field_type, "connections answer from " + page.url + " says hasMore but its page is empty");
        if (pages >= max_pages)
            fail(error::api_too_many_pages, "connections answer from " + page.url + " still says hasMore after " +
                                                std::to_string(pages) + " pages (client_config::max_pages)");
    }
}

/**
 * @brief `get_connections` for any completion token, from any executor: handler
 * `void(error_code, connections_page)`; with `diag`, failures also fill it (the HTTP status, the
 * server's code and message, the client's explanation; it must outlive the operation).
 *
 * @par Per-operation cancellation
 * Terminal: the call ends with `operation_aborted` at once, without retry or fallback; a token
 * fetch it started goes on for other callers; the connection it used is closed, not pooled;
 * remembered hops and the pool are left whole. Partial and total cancellation are ignored.
 */
template <class Executor,
          asio::completion_token_for<void(error_code, connections_page)> CompletionToken = asio::deferred_t>
auto async_get_connections(basic_client<Executor> client, connections_query query, diagnostics& diag,
                           CompletionToken&& token = {}) {
    return detail::async_run<connections_page>(
        client.get_executor(), &diag, [client, query] { return get_connections(client, query); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor,
          asio::completion_token_for<void(error_code, connections_page)> CompletionToken = asio::deferred_t>
auto async_get_connections(basic_client<Executor> client, connections_query query, CompletionToken&& token = {}) {
    return detail::async_run<connections_page>(
        client.get_executor(), nullptr, [client, query] { return get_connections(client, query); },
        std::forward<CompletionToken>(token));
}

/// `get_connection` for any completion token: handler `void(error_code, connection)`; as
/// `async_get_connections` otherwise.
template <class Executor, asio::completion_token_for<void(error_code, connection)> CompletionToken = asio::deferred_t>
auto async_get_connection(basic_client<Executor> client, std::string id, diagnostics& diag,
                          CompletionToken&& token = {}) {
    return detail::async_run<connection>(
        client.get_executor(), &diag, [client, id = std::move(id)] { return get_connection(client, id); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, asio::completion_token_for<void(error_code, connection)> CompletionToken = asio::deferred_t>
auto async_get_connection(basic_client<Executor> client, std::string id, CompletionToken&& token = {}) {
    return detail::async_run<connection>(
        client.get_executor(), nullptr, [client, id = std::move(id)] { return get_connection(client, id); },
        std::forward<CompletionToken>(token));
}

/**
 * @brief `get_all_connections` for any completion token: handler
 * `void(error_code, std::vector<connection>)`; as `async_get_connections` otherwise (a cancelled
 * walk returns nothing of the pages it read).
 */
template <class Executor,
          asio::completion_token_for<void(error_code, std::vector<connection>)> CompletionToken = asio::deferred_t>
auto async_get_all_connections(basic_client<Executor> client, connections_query query, diagnostics& diag,
                               CompletionToken&& token = {}) {
    return detail::async_run<std::vector<connection>>(
        client.get_executor(), &diag, [client, query] { return get_all_connections(client, query); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor,
          asio::completion_token_for<void(error_code, std::vector<connection>)> CompletionToken = asio::deferred_t>
auto async_get_all_connections(basic_client<Executor> client, connections_query query, CompletionToken&& token = {}) {
    return detail::async_run<std::vector<connection>>(
        client.get_executor(), nullptr, [client, query] { return get_all_connections(client, query); },
        std::forward<CompletionToken>(token));
}

} // namespace oic
