#pragma once
/**
 * @file
 * The OIC Developer API client: configuration, a session, a shared token and the redirect
 * policy in one handle, plus the `get_connections` coroutines.
 */

#include <oic/api/parse.hpp>
#include <oic/auth/client_credentials.hpp>
#include <oic/auth/shared_token.hpp>
#include <oic/detail/config.hpp>
#include <oic/http/redirect.hpp>
#include <oic/http/session.hpp>
#include <oic/version.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/crypto.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace oic {

/// Everything a client needs to reach one OIC instance.
struct client_config {
    client_credentials credentials; ///< the confidential application's, and its token endpoint
    std::string
        base_url; ///< design-time or runtime host, e.g. `https://design.integration.us-phoenix-1.ocp.oraclecloud.com`
    std::string integration_instance; ///< sent as `integrationInstance` on every call when not empty
    http::session_options session;    ///< TLS, timeouts, limits
    /// More hosts the default redirect policy forwards the token to (`host`, `host:port`, `*.suffix`).
    /// Trusted already: the base URL's and token URL's origins, each on its own port, and the
    /// design-time host of the base URL's region.
    std::vector<std::string> trusted_hosts;
    int max_pages = 1000;       ///< `get_all_connections` fails with `api_too_many_pages` past this
    shared_token_options token; ///< refresh-ahead, expiry margin, failure backoff, clock
};

/// What `activate_integration` and `deactivate_integration` ask besides the status.
struct activation_options {
    bool async = false; ///< `enableAsyncActivationMode`: OIC answers at once, works on in the background
    bool delete_event_subscription =
        false; ///< `deleteEventSubscriptionFlag` (deactivating an event-driven integration)
};

/// How a call moves a large body, such as an integration archive.
struct transfer_options {
    /// The largest body accepted; 0: 2 GiB for a body going to a sink.
    std::uint64_t max_body_size = 0;
    /// The limit for the whole call and for each exchange in it; 0: the session's
    /// (`total_timeout`, `request_timeout`), which suit API calls, not archives on a slow link.
    http::clock::duration timeout = std::chrono::minutes(10);
    /// Bytes done and the total when known: at most every 100 ms, and once when the body is whole.
    std::function<void(http::transfer_progress)> progress{};
};

/// What `import_integration` does: add an integration that must not exist yet (Oracle's
/// "Import(Add) an Integration", `POST`), or replace one that exists ("Import(Replace)", `PUT`).
enum class import_mode { add, replace };

/// An archive that `import_integration` sent.
struct imported_archive {
    /// The integration's id (`CODE|VERSION`), from the answer's `Location` (add) or body
    /// (replace); empty when the server named none.
    std::string id;
    std::uint64_t size = 0; ///< bytes of the archive
};

/// An archive that `export_integration` wrote.
struct exported_archive {
    std::filesystem::path path; ///< empty when it went to a caller's sink
    std::uint64_t size = 0;     ///< bytes
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

/// Sets `Authorization: Bearer <token>` through the thread's scratch string (wiped after use): no
/// string is built per call for a header Beast copies anyway.
inline void set_bearer(http::request& req, std::string_view token) {
    thread_local std::string scratch;
    scratch.assign("Bearer ").append(token);
    req.set(boost::beast::http::field::authorization, scratch);
    OPENSSL_cleanse(scratch.data(), scratch.size());
}

/// "METHOD <the URL that answered>", and where the call started when redirects took it elsewhere.
inline std::string describe_call(http::reply const& r, http::urls::url_view asked) {
    std::string s = std::string(boost::beast::http::to_string(r.method)) + " " + http::redacted(r.url);
    if (r.url != asked)
        s += " (redirected from " + http::redacted(asked) + ")";
    if (r.retries > 0)
        s += " after " + std::to_string(r.retries) + " retries";
    return s;
}

/// `scheme://host:port` of a URL that answered.
inline std::string origin_text(http::urls::url_view u) {
    auto const o = http::origin_of(u);
    return o ? o->to_string() : http::redacted(u);
}

/// Nothing for a 2xx answer; the right error, with the server's own words, for anything else.
inline error_code check_api_answer(http::reply const& r, http::urls::url_view asked, diagnostics& diag) {
    auto const& res = r.message;
    unsigned const status = res.result_int();
    if (status >= 200 && status <= 299)
        return {};
    diagnostics d{.message = describe_call(r, asked), .http_status = status};
    read_api_error(res.body(), d);
    if (auto ra = res.find(boost::beast::http::field::retry_after); ra != res.end())
        d.message += " (Retry-After: " + printable(ra->value().substr(0, 40)) + ")";
    if (status == 401 && !r.credentials_sent)
        d.message += ": the token was not sent to " + origin_text(r.url) +
                     " (a redirect hop withheld it; to send it there, trust that host: client_config::trusted_hosts, "
                     "CLI --trust-host)";
    auto const code = status == 401                    ? error::api_unauthorized
                      : status == 404                  ? error::api_not_found
                      : status == 409 || status == 423 ? error::api_conflict
                                                       : error::api_http_status;
    return report(diag, code, std::move(d));
}

/// The error of an answer a parser refused: names the field, and the call for a body that is not JSON.
inline error_code parse_error(error_code ec, std::string what, http::reply const& r, http::urls::url_view asked,
                              diagnostics& diag) {
    diagnostics d{.message = std::move(what), .http_status = r.message.result_int()};
    if (ec == error::api_not_json)
        d.message = describe_call(r, asked) + ": answer is not JSON";
    return report(diag, ec, std::move(d));
}

struct client_access;

} // namespace detail

/**
 * @brief A client of one OIC instance over any Asio executor.
 *
 * Holds the configuration, an `http::basic_session` (TLS, keep-alive pool), a redirect policy and a
 * `basic_shared_token`. Copies share all of it; every member function is thread-safe. The redirect
 * policy of every call the client makes is its own, whatever session it was given: the one passed
 * to the constructor, else `http::oic_default` over the configured hosts plus `trusted_hosts`.
 */
template <class Executor = asio::any_io_executor, class Connector = http::detail::tcp_connector<Executor>>
class basic_client {
public:
    using executor_type = Executor; ///< where its operations run (each call's own if it has one)

    /// @throws error_with_diagnostics (`bad_url`, `bad_config`) for unusable settings.
    basic_client(Executor ex, client_config cfg) : basic_client(ex, cfg, default_policy(cfg)) {}

    /// As above, the client's calls (and its session's) under `policy` instead of the configuration's.
    template <http::redirect_policy P>
    basic_client(Executor ex, client_config cfg, P policy)
        : basic_client(cfg, http::basic_session<Executor, Connector>(ex, cfg.session, policy),
                       http::any_redirect_policy(policy)) {}

    /**
     * @brief A client over `session` (its pool, TLS and limits) that uses `token`, e.g. one shared by
     * several clients with the same credentials, or by a fleet through Redis.
     *
     * The client's calls follow `cfg`'s trust (`http::oic_default` over the configured hosts plus
     * `trusted_hosts`), not the session's own policy: that one applies only to what is sent through
     * the session directly. Hops remembered for the client's calls are kept apart from the session's.
     */
    basic_client(client_config cfg, http::basic_session<Executor, Connector> session,
                 basic_shared_token<Executor> token)
        : basic_client(cfg, std::move(session), std::move(token), default_policy(cfg)) {}

    /// As above, the client's calls under `policy` instead of the configuration's.
    template <http::redirect_policy P>
    basic_client(client_config cfg, http::basic_session<Executor, Connector> session,
                 basic_shared_token<Executor> token, P policy)
        : basic_client(std::move(cfg), std::move(session), std::move(token),
                       http::any_redirect_policy(std::move(policy))) {}

    executor_type get_executor() const noexcept { return state_->session.get_executor(); } ///< its session's
    client_config const& config() const noexcept { return state_->cfg; }                   ///< as given
    http::basic_session<Executor, Connector> const& session() const noexcept {
        return state_->session;
    }                                                                                    ///< shared by copies
    basic_shared_token<Executor> const& token() const noexcept { return state_->token; } ///< shared by copies

    /**
     * @brief `GET {base_url}{path}?{query}&integrationInstance=...` with the shared token.
     *
     * A 401 invalidates the token that got it, fetches a fresh one and retries once; a second 401
     * is `error::api_unauthorized`.
     * @param path   e.g. `/ic/api/integration/v1/connections` (already percent-encoded)
     * @param query  encoded query without `integrationInstance` (see `http::append_param`)
     * @param diag   filled on failure: which URL, which status, the server's words
     * @return the answer's JSON, or the error with `diag` filled (a non-2xx answer is an error).
     */
    asio::awaitable<std::tuple<error_code, boost::json::value>, Executor> get_json(std::string path, std::string query,
                                                                                   diagnostics& diag) const {
        return detail::cancel_as_value(do_get_json(state_, std::move(path), std::move(query), diag));
    }

    /// As above, throwing `error_with_diagnostics` on failure, cancellation included.
    asio::awaitable<boost::json::value, Executor> get_json(std::string path, std::string query = {}) const {
        return detail::value_or_throw<boost::json::value, Executor>(
            [s = state_, path = std::move(path), query = std::move(query)](diagnostics& d) mutable {
                return do_get_json(s, std::move(path), std::move(query), d);
            });
    }

    /**
     * @brief The request `get_json` makes, answered whatever its status: the URL asked for and the
     * reply (its `url` is the one that answered), or a transport, redirect or token error.
     */
    asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
    get(std::string path, std::string query, diagnostics& diag) const {
        return detail::cancel_as_value(do_get(state_, std::move(path), std::move(query), diag));
    }

    /**
     * @brief `request` (a write call: its method, body and fields) to `{base_url}{path}?{query}`
     * with the shared token, answered whatever its status, as `get` does. Redirects replay the
     * method and body where RFC 9110 says so (307, 308) and the policy allows; 303 turns it into a
     * GET without body. A POST is never sent twice once written (see `http::retry_options`).
     */
    asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
    call(std::string path, std::string query, http::request request, diagnostics& diag) const {
        return detail::cancel_as_value(
            do_call(state_, std::move(path), std::move(query), std::move(request), nullptr, {}, diag));
    }

    /**
     * @brief `call`, with the body of a 2xx answer streamed into `sink` as it arrives (an archive
     * download): memory stays bounded by the read buffer whatever its size. The reply's message
     * holds the answer's header, and the body of an answer that is not 2xx. `sink` must outlive
     * the call; a retry or redirect that brings another 2xx body starts it again
     * (`body_sink::start`).
     */
    asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
    call(std::string path, std::string query, http::request request, http::body_sink& sink, transfer_options transfer,
         diagnostics& diag) const {
        return detail::cancel_as_value(
            do_call(state_, std::move(path), std::move(query), std::move(request), &sink, std::move(transfer), diag));
    }

    /**
     * @brief `call`, with the request's body read from `source` as it is sent (an archive upload):
     * memory stays bounded by one write buffer whatever its size. `request.body()` must be empty;
     * the client sets `Content-Length`, and `Expect: 100-continue` above
     * `http::session_options::expect_continue_above`. A 307/308 or a 401 retry reads the source
     * again from the start (`http::body_source::rewind`). `source` must outlive the call.
     */
    asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
    call(std::string path, std::string query, http::request request, http::body_source& source,
         transfer_options transfer, diagnostics& diag) const {
        return detail::cancel_as_value(do_call(state_, std::move(path), std::move(query), std::move(request), nullptr,
                                               std::move(transfer), diag, &source));
    }

private:
    struct state;

    static asio::awaitable<std::tuple<error_code, boost::json::value>, Executor>
    do_get_json(std::shared_ptr<state const> s, std::string path, std::string query, diagnostics& diag);

    static asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
    do_get(std::shared_ptr<state const> s, std::string path, std::string query, diagnostics& diag) {
        return do_call(std::move(s), std::move(path), std::move(query),
                       http::make_request(boost::beast::http::verb::get), nullptr, {}, diag);
    }

    /// `request` (its method, body and fields; the client sets the target, `User-Agent`, the
    /// token, and `Accept` unless set) to `path?query` under the base URL; a 2xx body into `sink`
    /// when given, under `transfer`. `s` keeps the state alive for the whole call: the caller's
    /// handle may go away.
    static asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
    do_call(std::shared_ptr<state const> s, std::string path, std::string query, http::request request,
            http::body_sink* sink, transfer_options transfer, diagnostics& diag, http::body_source* source = nullptr);

    basic_client(client_config const& cfg, http::basic_session<Executor, Connector> session,
                 http::any_redirect_policy policy)
        : basic_client(cfg, session, basic_shared_token<Executor>(session, cfg.credentials, cfg.token),
                       std::move(policy)) {}

    basic_client(client_config cfg, http::basic_session<Executor, Connector> session,
                 basic_shared_token<Executor> token, http::any_redirect_policy policy)
        : state_(std::make_shared<state const>(parse_base(cfg.base_url), std::move(cfg), std::move(session),
                                               std::move(token),
                                               std::make_shared<http::any_redirect_policy const>(std::move(policy)))) {
        if (state_->cfg.max_pages < 1)
            fail(error::bad_config, "max_pages must be at least 1");
    }

    static http::urls::url parse_base(std::string const& s) {
        auto u = http::urls::parse_uri(s);
        if (!u || !http::origin_of(*u) || u->has_userinfo()) {
            // The value is repeated (up to its query) unless it may hold a password.
            std::string const shown = s.find('@') == std::string::npos
                                          ? " \"" + printable(s.substr(0, s.find_first_of("?#"))) + "\""
                                          : std::string();
            fail(error::bad_url,
                 "base_url" + shown + " is not an http(s) URL with a plain host name or IP address and no userinfo");
        }
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
        http::basic_session<Executor, Connector> session;
        basic_shared_token<Executor> token;
        std::shared_ptr<http::any_redirect_policy const> policy; // every call's; the key of its remembered hops
        std::string instance_param = http::percent_encode(cfg.integration_instance);
    };
    std::shared_ptr<state const> state_; // copies of a client are cheap and share everything
    friend struct detail::client_access;
};

// The coroutines, out of the class: an explicit instantiation declaration (OIC_SEPARATE_COMPILATION)
// keeps them out of a translation unit only when they are not inline.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, boost::json::value>, Executor>
basic_client<Executor, Connector>::do_get_json(std::shared_ptr<state const> s, std::string path, std::string query,
                                               diagnostics& diag) {
    auto [ec, url, answer] = co_await do_get(s, std::move(path), std::move(query), diag);
    if (!ec)
        ec = detail::check_api_answer(answer, url, diag);
    boost::json::value v;
    if (!ec) {
        v = boost::json::parse(answer.message.body(), ec);
        if (ec)
            ec = detail::parse_error(error::api_not_json, {}, answer, url, diag);
    }
    co_return std::tuple{ec, std::move(v)};
}

template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
basic_client<Executor, Connector>::do_call(std::shared_ptr<state const> s, std::string path, std::string query,
                                           http::request request, http::body_sink* sink, transfer_options transfer,
                                           diagnostics& diag, http::body_source* source) {
    http::urls::url url;
    std::string_view const instance_key = "integrationInstance";
    url.reserve(s->base.buffer().size() + path.size() + 1 + query.size() + instance_key.size() + 2 +
                s->instance_param.size());
    url = s->base; // the one allocation of the URL
    url.set_encoded_path(url.encoded_path().empty() ? path : std::string(url.encoded_path()) + path);
    if (!query.empty())
        url.set_encoded_query(query);
    if (!s->instance_param.empty())
        url.encoded_params().append({instance_key, s->instance_param}); // encoded once, in `state`
    std::optional<http::progress_sink> counted;                         // reports progress, when asked
    if (sink && transfer.progress)
        sink = &counted.emplace(*sink, std::move(transfer.progress));
    std::optional<http::progress_source> read; // the same, for a body going up
    if (source && transfer.progress)
        source = &read.emplace(*source, std::move(transfer.progress));

    for (bool retried = false;; retried = true) {
        auto [tec, token] = co_await s->token.get(diag);
        if (tec)
            co_return std::tuple{tec, std::move(url), http::reply{}};
        // The client's fields go on a copy: `request` stays as the caller gave it (for a GET,
        // nothing to copy), for a 401 to send again with the next token.
        http::request req = request;
        if (req.find(boost::beast::http::field::accept) == req.end())
            req.set(boost::beast::http::field::accept, "application/json");
        req.set(boost::beast::http::field::user_agent, "oic/" OIC_VERSION_STRING);
        detail::set_bearer(req, token->value.reveal());
        // Named: GCC 12 destroys a temporary holding a shared_ptr in a co_await expression twice.
        http::send_options const options{.max_body_size = sink ? transfer.max_body_size : 0,
                                         .sink = sink,
                                         .source = source,
                                         .timeout = sink || source ? transfer.timeout : http::clock::duration{},
                                         .policy = s->policy};
        auto [ec, answer] = co_await http::detail::session_access::send(s->session, url, std::move(req), options, diag);
        if (!ec && counted && answer.message.result_int() / 100 == 2)
            counted->finish();
        if (!ec && read && answer.message.result_int() / 100 == 2)
            read->finish();
        // A 401 says nothing of a token the request did not carry (a hop withheld it): the
        // token stays, in this process and in a fleet's store.
        if (!ec && answer.message.result() == boost::beast::http::status::unauthorized && !retried &&
            answer.credentials_sent) {
            co_await s->token.invalidate(token);
            continue;
        }
        co_return std::tuple{ec, std::move(url), std::move(answer)};
    }
}

using client = basic_client<>; ///< on `asio::any_io_executor`

namespace detail {

/// `call` for the library's own calls, without the public wrapper (see `http::detail::session_access`).
struct client_access {
    template <class Executor, class Connector>
    static asio::awaitable<std::tuple<error_code, http::urls::url, http::reply>, Executor>
    call(basic_client<Executor, Connector> const& client, std::string path, std::string query, http::request request,
         http::body_sink& sink, transfer_options transfer, diagnostics& diag) {
        return basic_client<Executor, Connector>::do_call(client.state_, std::move(path), std::move(query),
                                                          std::move(request), &sink, std::move(transfer), diag);
    }
};

/// An API call whose 2xx body `reader` parses as it arrives, under the session's limits for
/// answers in memory (not a transfer's). Also returns the URL that answered (redacted).
template <class Item, class Executor, class Connector>
asio::awaitable<std::tuple<error_code, std::string>, Executor>
read_answer(basic_client<Executor, Connector> const& client, std::string path, std::string query,
            page_reader<Item>& reader, diagnostics& diag) {
    auto const& limits = client.session().options();
    transfer_options options; // named, as `request`: GCC 12 (see docs/platform.md)
    options.max_body_size = limits.max_body_size;
    options.timeout = {};
    http::request request = http::make_request(boost::beast::http::verb::get);
    auto [ec, url, answer] = co_await client_access::call(client, std::move(path), std::move(query), std::move(request),
                                                          reader, options, diag);
    if (!ec)
        ec = check_api_answer(answer, url, diag);
    if (!ec) {
        std::string what;
        if (auto pec = reader.finish(what))
            ec = parse_error(pec, std::move(what), answer, url, diag);
    }
    co_return std::tuple{ec, ec ? std::string() : http::redacted(answer.url)};
}

/// One page of the list of `Item`s.
template <class Item, class Executor, class Connector>
asio::awaitable<std::tuple<error_code, page<Item>>, Executor> get_page(basic_client<Executor, Connector> client,
                                                                       list_query query, diagnostics& diag) {
    page<Item> out;
    page_reader<Item> reader(&out, nullptr, query.keep_json,
                             static_cast<std::size_t>(std::max(query.limit.value_or(0), 0)));
    // Named, not temporaries in the co_await expression: GCC 12 (see docs/platform.md).
    std::string path(api_item_traits<Item>::path);
    std::string query_string = to_query_string(query);
    auto [ec, answered] = co_await read_answer(client, std::move(path), std::move(query_string), reader, diag);
    if (ec) // a page cut short (the connection, the parse) is no page: none of the items read before
        out = {};
    out.url = std::move(answered);
    co_return std::tuple{ec, std::move(out)};
}

/// One `Item` by id, the id encoded as one path segment. Its JSON text is kept (one item's worth).
template <class Item, class Executor, class Connector>
asio::awaitable<std::tuple<error_code, Item>, Executor> get_item(basic_client<Executor, Connector> client,
                                                                 std::string id, std::string query, diagnostics& diag) {
    Item out;
    if (id.empty())
        co_return std::tuple{report(diag, error::bad_config, std::string(api_item_traits<Item>::item) + " id is empty"),
                             std::move(out)};
    page_reader<Item> reader(nullptr, &out, true);
    std::string path = std::string(api_item_traits<Item>::path) + "/" + http::path_segment(id); // named: GCC 12
    auto [ec, answered] = co_await read_answer(client, std::move(path), std::move(query), reader, diag);
    if (ec) // as a page: nothing of an item cut short
        out = {};
    co_return std::tuple{ec, std::move(out)};
}

/// Every `Item` matching `query`, page after page.
template <class Item, class Executor, class Connector>
asio::awaitable<std::tuple<error_code, std::vector<Item>>, Executor> get_all(basic_client<Executor, Connector> client,
                                                                             list_query query, diagnostics& diag) {
    std::vector<Item> all;
    query.offset = query.offset.value_or(0);
    int const max_pages = client.config().max_pages;
    std::string const answer_name(api_item_traits<Item>::answer);
    for (int pages = 1;; ++pages) {
        auto [ec, p] = co_await get_page<Item>(client, query, diag);
        if (ec)
            co_return std::tuple{ec, std::vector<Item>{}};
        bool const empty = p.items.empty();
        *query.offset += static_cast<int>(p.items.size());
        std::move(p.items.begin(), p.items.end(), std::back_inserter(all));
        if (!p.has_more)
            co_return std::tuple{error_code{}, std::move(all)};
        if (empty)
            co_return std::tuple{report(diag, error::api_bad_field_type,
                                        answer_name + " from " + p.url + " says hasMore but its page is empty"),
                                 std::vector<Item>{}};
        if (pages >= max_pages)
            co_return std::tuple{report(diag, error::api_too_many_pages,
                                        answer_name + " from " + p.url + " still says hasMore after " +
                                            std::to_string(pages) + " pages (client_config::max_pages)"),
                                 std::vector<Item>{}};
    }
}

/// Activates (`ACTIVATED`) or deactivates (`CONFIGURED`) integration `id`: Oracle's
/// "Update(Activate/Deactivate) an Integration", a POST with `X-HTTP-Method-Override: PATCH`.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, integration>, Executor>
set_integration_status(basic_client<Executor, Connector> client, std::string id, std::string status,
                       activation_options options, diagnostics& diag) {
    integration out;
    if (id.empty())
        co_return std::tuple{report(diag, error::bad_config, "integration id is empty"), std::move(out)};
    std::string query;
    if (options.async)
        http::append_param(query, "enableAsyncActivationMode", "true");
    if (options.delete_event_subscription)
        http::append_param(query, "deleteEventSubscriptionFlag", "true");
    http::request req = http::make_request(boost::beast::http::verb::post);
    req.set("X-HTTP-Method-Override", "PATCH");
    req.set(boost::beast::http::field::content_type, "application/json; charset=utf-8");
    req.body() = boost::json::serialize(boost::json::object{{"status", status}});
    std::string path = std::string(api_item_traits<integration>::path) + "/" + http::path_segment(id); // GCC 12
    auto [ec, url, answer] = co_await client.call(std::move(path), std::move(query), std::move(req), diag);
    if (!ec)
        ec = check_api_answer(answer, url, diag);
    if (!ec && answer.message.body().empty()) { // nothing to read: what was asked is what holds
        out.id = std::move(id);
        out.status = std::move(status);
    } else if (!ec) {
        std::string what;
        if (auto pec = read_item(std::move(answer.message.body()), out, what))
            ec = parse_error(pec, std::move(what), answer, url, diag);
    }
    co_return std::tuple{ec, std::move(out)};
}

/// `GET /integrations/{id}/archive` (Oracle's "Export an Integration"): the archive into `sink`.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, exported_archive>, Executor>
export_archive(basic_client<Executor, Connector> client, std::string id, http::body_sink& sink,
               transfer_options options, diagnostics& diag) {
    exported_archive out;
    if (id.empty())
        co_return std::tuple{report(diag, error::bad_config, "integration id is empty"), std::move(out)};
    http::progress_sink counted(sink, std::move(options.progress));
    options.progress = {};
    http::request req = http::make_request(boost::beast::http::verb::get);
    req.set(boost::beast::http::field::accept, "application/octet-stream, application/json;q=0.5");
    // Named, not temporaries in the co_await expression: GCC 12 (see README).
    std::string path = std::string(api_item_traits<integration>::path) + "/" + http::path_segment(id) + "/archive";
    std::string query;
    auto [ec, url, answer] =
        co_await client.call(std::move(path), std::move(query), std::move(req), counted, std::move(options), diag);
    if (!ec)
        ec = check_api_answer(answer, url, diag);
    if (!ec) {
        counted.finish();
        out.size = counted.progress().done;
    }
    co_return std::tuple{ec, std::move(out)};
}

/// The archive of integration `id` into the file `to`, which appears only whole (`http::file_sink`).
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, exported_archive>, Executor>
export_archive_to_file(basic_client<Executor, Connector> client, std::string id, std::filesystem::path to,
                       transfer_options options, diagnostics& diag) {
    http::file_sink file;
    if (auto ec = file.open(to, diag))
        co_return std::tuple{ec, exported_archive{}};
    auto [ec, out] = co_await export_archive(client, std::move(id), file, std::move(options), diag);
    if (ec && file.failed()) // the disk, not the server: name the file
        ec = file.report_failure(diag);
    if (!ec)
        ec = file.commit(diag);
    if (!ec)
        out.path = file.target();
    co_return std::tuple{ec, std::move(out)};
}

/// The id an import's answer names: the last segment of `Location` (add), or the body's `id`.
inline std::string imported_id(http::reply const& r) {
    if (auto loc = r.message.find(boost::beast::http::field::location); loc != r.message.end())
        if (auto u = http::urls::parse_uri_reference(loc->value()); u && !u->segments().empty())
            return u->segments().back();
    boost::system::error_code ec;
    auto const v = boost::json::parse(r.message.body(), ec);
    if (auto const* obj = !ec ? v.if_object() : nullptr)
        if (auto const* id = obj->if_contains("id"); id && id->is_string())
            return std::string(id->get_string());
    return {};
}

/// `POST` (add) or `PUT` (replace) `/integrations/archive` (Oracle's "Import an Integration"):
/// `archive` as the `file` part of a `multipart/form-data` body, streamed as it is sent.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, imported_archive>, Executor>
import_archive(basic_client<Executor, Connector> client, http::body_source& archive, std::string filename,
               import_mode mode, transfer_options options, diagnostics& diag) {
    imported_archive out;
    http::multipart_source body(archive, "file", filename);
    http::request req{mode == import_mode::add ? boost::beast::http::verb::post : boost::beast::http::verb::put, "/",
                      11};
    req.set(boost::beast::http::field::content_type, body.content_type());
    // Named, not temporaries in the co_await expression: GCC 12 (see README).
    std::string path = std::string(api_item_traits<integration>::path) + "/archive";
    std::string query;
    auto [ec, url, answer] =
        co_await client.call(std::move(path), std::move(query), std::move(req), body, std::move(options), diag);
    if (!ec)
        ec = check_api_answer(answer, url, diag);
    if (ec == error::api_conflict && mode == import_mode::add)
        diag.message += ": it exists already (import it with import_mode::replace, CLI --replace)";
    else if (ec == error::api_not_found && mode == import_mode::replace)
        diag.message += ": there is none to replace (import it with import_mode::add, CLI without --replace)";
    if (!ec) {
        out.id = imported_id(answer);
        out.size = archive.size();
    }
    co_return std::tuple{ec, std::move(out)};
}

/// Connection `id`, with `expand` (`adapter`) when given.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, connection>, Executor>
get_connection_item(basic_client<Executor, Connector> client, std::string id, std::string expand, diagnostics& diag) {
    std::string query;
    if (!expand.empty())
        http::append_param(query, "expand", expand);
    return get_item<connection>(std::move(client), std::move(id), std::move(query), diag);
}

/// The archive in the file `from` (checked before any request: it exists, is a file, is readable).
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, imported_archive>, Executor>
import_archive_from_file(basic_client<Executor, Connector> client, std::filesystem::path from, import_mode mode,
                         transfer_options options, diagnostics& diag) {
    http::file_source file;
    if (auto ec = file.open(from, diag))
        co_return std::tuple{ec, imported_archive{}};
    co_return co_await import_archive(client, file, from.filename().string(), mode, std::move(options), diag);
}

} // namespace detail

/**
 * @name Typed calls
 * `get_connections` / `get_integrations`: one page of `GET /ic/api/integration/v1/connections`
 * (`/integrations`) for `query`. `get_all_connections` / `get_all_integrations`: every item
 * matching `query`, walking the pages (`hasMore`, `offset`) to the end, at most
 * `client_config::max_pages` pages (then `error::api_too_many_pages`). `get_connection` /
 * `get_integration`: one item by id (`HELLO_WORLD|01.00.0000` for an integration); the id is
 * encoded as one path segment (`.`, `..`, `/` and `|` included), so no id reaches another path,
 * and an empty id is `error::bad_config`; an unknown id is `api_not_found` (HTTP 404).
 *
 * These coroutines throw `error_with_diagnostics` (token errors, `api_*` errors naming the field
 * or the status). Each has an `async_` form below for any completion token, which reports
 * errors as values; inside the library, errors travel as values too.
 * @{
 */
template <class Executor, class Connector>
asio::awaitable<connections_page, Executor> get_connections(basic_client<Executor, Connector> client,
                                                            list_query query = {}) {
    return detail::value_or_throw<connections_page, Executor>(
        [=](diagnostics& d) { return detail::get_page<connection>(client, query, d); });
}
template <class Executor, class Connector>
asio::awaitable<std::vector<connection>, Executor> get_all_connections(basic_client<Executor, Connector> client,
                                                                       list_query query = {}) {
    return detail::value_or_throw<std::vector<connection>, Executor>(
        [=](diagnostics& d) { return detail::get_all<connection>(client, query, d); });
}
/// `expand`: `adapter` for the adapter's details.
template <class Executor, class Connector>
asio::awaitable<connection, Executor> get_connection(basic_client<Executor, Connector> client, std::string id,
                                                     std::string expand = {}) {
    return detail::value_or_throw<connection, Executor>(
        [=](diagnostics& d) { return detail::get_connection_item(client, id, expand, d); });
}
template <class Executor, class Connector>
asio::awaitable<integrations_page, Executor> get_integrations(basic_client<Executor, Connector> client,
                                                              list_query query = {}) {
    return detail::value_or_throw<integrations_page, Executor>(
        [=](diagnostics& d) { return detail::get_page<integration>(client, query, d); });
}
template <class Executor, class Connector>
asio::awaitable<std::vector<integration>, Executor> get_all_integrations(basic_client<Executor, Connector> client,
                                                                         list_query query = {}) {
    return detail::value_or_throw<std::vector<integration>, Executor>(
        [=](diagnostics& d) { return detail::get_all<integration>(client, query, d); });
}
template <class Executor, class Connector>
asio::awaitable<integration, Executor> get_integration(basic_client<Executor, Connector> client, std::string id) {
    return detail::value_or_throw<integration, Executor>(
        [=](diagnostics& d) { return detail::get_item<integration>(client, id, {}, d); });
}
/**
 * `activate_integration` / `deactivate_integration`: sets integration `id` (`CODE|VERSION`) to
 * `ACTIVATED` / `CONFIGURED` (Oracle's "Update(Activate/Deactivate) an Integration": `POST
 * /integrations/{id}` with `X-HTTP-Method-Override: PATCH` and `{"status": ...}`), and returns the
 * integration as the answer describes it. Through the runtime host, its 307 replays the POST and
 * its body to the design-time host, the token only where trusted. Never sent twice once written: a
 * 503 is the answer, not a retry. 412 (`api_http_status`) when it is already in that state.
 */
template <class Executor, class Connector>
asio::awaitable<integration, Executor> activate_integration(basic_client<Executor, Connector> client, std::string id,
                                                            activation_options options = {}) {
    return detail::value_or_throw<integration, Executor>(
        [=](diagnostics& d) { return detail::set_integration_status(client, id, "ACTIVATED", options, d); });
}
template <class Executor, class Connector>
asio::awaitable<integration, Executor> deactivate_integration(basic_client<Executor, Connector> client, std::string id,
                                                              activation_options options = {}) {
    return detail::value_or_throw<integration, Executor>(
        [=](diagnostics& d) { return detail::set_integration_status(client, id, "CONFIGURED", options, d); });
}
/**
 * `export_integration`: the archive (`.iar`) of integration `id` (`CODE|VERSION`), Oracle's
 * "Export an Integration" (`GET /integrations/{id}/archive`), streamed as it arrives. Into the file
 * `to`: written beside it under a temporary name and renamed into place once whole with a 2xx
 * status (after an fsync); whatever fails (the connection, a wrong length, a 423 when the
 * integration is locked, a full disk), nothing appears under `to` and the error names what failed.
 * Into a `sink` of the caller's: its bytes as they arrive. Memory stays bounded by the read buffer.
 */
template <class Executor, class Connector>
asio::awaitable<exported_archive, Executor> export_integration(basic_client<Executor, Connector> client, std::string id,
                                                               std::filesystem::path to,
                                                               transfer_options options = {}) {
    return detail::value_or_throw<exported_archive, Executor>(
        [=](diagnostics& d) { return detail::export_archive_to_file(client, id, to, options, d); });
}
template <class Executor, class Connector>
asio::awaitable<exported_archive, Executor> export_integration(basic_client<Executor, Connector> client, std::string id,
                                                               http::body_sink& sink, transfer_options options = {}) {
    return detail::value_or_throw<exported_archive, Executor>(
        [=, &sink](diagnostics& d) { return detail::export_archive(client, id, sink, options, d); });
}
/**
 * `import_integration`: an integration archive (`.iar`, as `export_integration` wrote it) into
 * this instance, Oracle's "Import(Add) an Integration" (`POST /integrations/archive`;
 * `error::api_conflict` when it exists) or, with `import_mode::replace`, "Import(Replace)" (`PUT`;
 * `error::api_not_found` when there is none). The archive is the `file` part of a
 * `multipart/form-data` body streamed from disk: memory stays bounded by one write buffer. Above
 * 1 MiB the request asks `Expect: 100-continue`, so the runtime host's redirect comes before the
 * body: through the runtime URL the body goes to the design host only (and with the hop
 * remembered, the next import goes there straight). A file that is missing, a folder or
 * unreadable fails before any request, naming it. A POST is never sent twice once written.
 */
template <class Executor, class Connector>
asio::awaitable<imported_archive, Executor>
import_integration(basic_client<Executor, Connector> client, std::filesystem::path from,
                   import_mode mode = import_mode::add, transfer_options options = {}) {
    return detail::value_or_throw<imported_archive, Executor>(
        [=](diagnostics& d) { return detail::import_archive_from_file(client, from, mode, options, d); });
}
/// As above, the archive read from `archive` (it must outlive the call) and sent as `filename`.
template <class Executor, class Connector>
asio::awaitable<imported_archive, Executor>
import_integration(basic_client<Executor, Connector> client, http::body_source& archive, std::string filename,
                   import_mode mode = import_mode::add, transfer_options options = {}) {
    return detail::value_or_throw<imported_archive, Executor>(
        [=, &archive](diagnostics& d) { return detail::import_archive(client, archive, filename, mode, options, d); });
}
/// @}

/**
 * @name Typed calls for any completion token
 * The calls above from any executor, with any completion token: handler `void(error_code, T)`
 * where `T` is what the coroutine form returns. With `diag`, failures also fill it (the HTTP status,
 * the server's code and message, the client's explanation; it must outlive the operation). The
 * default token is `asio::deferred`. With `asio::use_future` or `asio::use_awaitable`, the failure
 * is thrown as `error_with_diagnostics` with the whole explanation; other tokens get the
 * `error_code`, or wrapped in `with_diagnostics(token)`, an `exception_ptr` to one.
 *
 * @par Per-operation cancellation
 * Terminal: the call ends with `operation_aborted` at once, without retry or fallback; a token
 * fetch it started goes on for other callers; the connection it used is closed, not pooled;
 * remembered hops and the pool are left whole; a cancelled walk over pages returns nothing of the
 * pages it read. Partial and total cancellation are ignored.
 * @{
 */
/// `get_connections` for any completion token; handler `void(error_code, connections_page)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, connections_page)> CompletionToken = asio::deferred_t>
auto async_get_connections(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                           CompletionToken&& token = {}) {
    return detail::async_run<connections_page>(
        client.get_executor(), &diag, [=](diagnostics& d) { return detail::get_page<connection>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, connections_page)> CompletionToken = asio::deferred_t>
auto async_get_connections(basic_client<Executor, Connector> client, list_query query, CompletionToken&& token = {}) {
    return detail::async_run<connections_page>(
        client.get_executor(), nullptr, [=](diagnostics& d) { return detail::get_page<connection>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `get_all_connections` for any completion token; handler `void(error_code, std::vector<connection>)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, std::vector<connection>)> CompletionToken = asio::deferred_t>
auto async_get_all_connections(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                               CompletionToken&& token = {}) {
    return detail::async_run<std::vector<connection>>(
        client.get_executor(), &diag, [=](diagnostics& d) { return detail::get_all<connection>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, std::vector<connection>)> CompletionToken = asio::deferred_t>
auto async_get_all_connections(basic_client<Executor, Connector> client, list_query query,
                               CompletionToken&& token = {}) {
    return detail::async_run<std::vector<connection>>(
        client.get_executor(), nullptr, [=](diagnostics& d) { return detail::get_all<connection>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `get_connection` for any completion token; handler `void(error_code, connection)`. `expand`:
/// `adapter` for the adapter's details.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, connection)> CompletionToken = asio::deferred_t>
auto async_get_connection(basic_client<Executor, Connector> client, std::string id, std::string expand,
                          diagnostics& diag, CompletionToken&& token = {}) {
    return detail::async_run<connection>(
        client.get_executor(), &diag,
        [=](diagnostics& d) { return detail::get_connection_item(client, id, expand, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without `expand`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, connection)> CompletionToken = asio::deferred_t>
auto async_get_connection(basic_client<Executor, Connector> client, std::string id, diagnostics& diag,
                          CompletionToken&& token = {}) {
    return async_get_connection(std::move(client), std::move(id), std::string(), diag,
                                std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, connection)> CompletionToken = asio::deferred_t>
auto async_get_connection(basic_client<Executor, Connector> client, std::string id, std::string expand,
                          CompletionToken&& token = {}) {
    return detail::async_run<connection>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::get_connection_item(client, id, expand, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics or `expand`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, connection)> CompletionToken = asio::deferred_t>
auto async_get_connection(basic_client<Executor, Connector> client, std::string id, CompletionToken&& token = {}) {
    return async_get_connection(std::move(client), std::move(id), std::string(), std::forward<CompletionToken>(token));
}
/// `get_integrations` for any completion token; handler `void(error_code, integrations_page)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integrations_page)> CompletionToken = asio::deferred_t>
auto async_get_integrations(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                            CompletionToken&& token = {}) {
    return detail::async_run<integrations_page>(
        client.get_executor(), &diag, [=](diagnostics& d) { return detail::get_page<integration>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integrations_page)> CompletionToken = asio::deferred_t>
auto async_get_integrations(basic_client<Executor, Connector> client, list_query query, CompletionToken&& token = {}) {
    return detail::async_run<integrations_page>(
        client.get_executor(), nullptr, [=](diagnostics& d) { return detail::get_page<integration>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `get_all_integrations` for any completion token; handler `void(error_code, std::vector<integration>)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, std::vector<integration>)> CompletionToken = asio::deferred_t>
auto async_get_all_integrations(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                                CompletionToken&& token = {}) {
    return detail::async_run<std::vector<integration>>(
        client.get_executor(), &diag, [=](diagnostics& d) { return detail::get_all<integration>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, std::vector<integration>)> CompletionToken = asio::deferred_t>
auto async_get_all_integrations(basic_client<Executor, Connector> client, list_query query,
                                CompletionToken&& token = {}) {
    return detail::async_run<std::vector<integration>>(
        client.get_executor(), nullptr, [=](diagnostics& d) { return detail::get_all<integration>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `get_integration` for any completion token; handler `void(error_code, integration)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration)> CompletionToken = asio::deferred_t>
auto async_get_integration(basic_client<Executor, Connector> client, std::string id, diagnostics& diag,
                           CompletionToken&& token = {}) {
    return detail::async_run<integration>(
        client.get_executor(), &diag, [=](diagnostics& d) { return detail::get_item<integration>(client, id, {}, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration)> CompletionToken = asio::deferred_t>
auto async_get_integration(basic_client<Executor, Connector> client, std::string id, CompletionToken&& token = {}) {
    return detail::async_run<integration>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::get_item<integration>(client, id, {}, d); },
        std::forward<CompletionToken>(token));
}

namespace detail {
template <class Executor, class Connector, class CompletionToken>
auto start_set_integration_status(basic_client<Executor, Connector> client, std::string id, char const* status,
                                  activation_options options, diagnostics* diag, CompletionToken&& token) {
    return async_run<integration>(
        client.get_executor(), diag,
        [=](diagnostics& d) { return set_integration_status(client, id, status, options, d); },
        std::forward<CompletionToken>(token));
}
} // namespace detail

/// `activate_integration` for any completion token; handler `void(error_code, integration)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration)> CompletionToken = asio::deferred_t>
auto async_activate_integration(basic_client<Executor, Connector> client, std::string id, activation_options options,
                                diagnostics& diag, CompletionToken&& token = {}) {
    return detail::start_set_integration_status(std::move(client), std::move(id), "ACTIVATED", options, &diag,
                                                std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration)> CompletionToken = asio::deferred_t>
auto async_activate_integration(basic_client<Executor, Connector> client, std::string id,
                                activation_options options = {}, CompletionToken&& token = {}) {
    return detail::start_set_integration_status(std::move(client), std::move(id), "ACTIVATED", options, nullptr,
                                                std::forward<CompletionToken>(token));
}
/// `deactivate_integration` for any completion token; handler `void(error_code, integration)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration)> CompletionToken = asio::deferred_t>
auto async_deactivate_integration(basic_client<Executor, Connector> client, std::string id, activation_options options,
                                  diagnostics& diag, CompletionToken&& token = {}) {
    return detail::start_set_integration_status(std::move(client), std::move(id), "CONFIGURED", options, &diag,
                                                std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration)> CompletionToken = asio::deferred_t>
auto async_deactivate_integration(basic_client<Executor, Connector> client, std::string id,
                                  activation_options options = {}, CompletionToken&& token = {}) {
    return detail::start_set_integration_status(std::move(client), std::move(id), "CONFIGURED", options, nullptr,
                                                std::forward<CompletionToken>(token));
}
/// `export_integration` into a file for any completion token; handler `void(error_code, exported_archive)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, exported_archive)> CompletionToken = asio::deferred_t>
auto async_export_integration(basic_client<Executor, Connector> client, std::string id, std::filesystem::path to,
                              transfer_options options, diagnostics& diag, CompletionToken&& token = {}) {
    return detail::async_run<exported_archive>(
        client.get_executor(), &diag,
        [=](diagnostics& d) { return detail::export_archive_to_file(client, id, to, options, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, exported_archive)> CompletionToken = asio::deferred_t>
auto async_export_integration(basic_client<Executor, Connector> client, std::string id, std::filesystem::path to,
                              transfer_options options = {}, CompletionToken&& token = {}) {
    return detail::async_run<exported_archive>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::export_archive_to_file(client, id, to, options, d); },
        std::forward<CompletionToken>(token));
}
/// `import_integration` from a file for any completion token; handler `void(error_code, imported_archive)`.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, imported_archive)> CompletionToken = asio::deferred_t>
auto async_import_integration(basic_client<Executor, Connector> client, std::filesystem::path from, import_mode mode,
                              transfer_options options, diagnostics& diag, CompletionToken&& token = {}) {
    return detail::async_run<imported_archive>(
        client.get_executor(), &diag,
        [=](diagnostics& d) { return detail::import_archive_from_file(client, from, mode, options, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, imported_archive)> CompletionToken = asio::deferred_t>
auto async_import_integration(basic_client<Executor, Connector> client, std::filesystem::path from,
                              import_mode mode = import_mode::add, transfer_options options = {},
                              CompletionToken&& token = {}) {
    return detail::async_run<imported_archive>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::import_archive_from_file(client, from, mode, options, d); },
        std::forward<CompletionToken>(token));
}
/// @}

// ---------------------------------------------------------------------------------------------------
// Monitoring: errored instances, resubmitting them, instances (issue 21).
// ---------------------------------------------------------------------------------------------------

namespace detail {

/// `POST {path}` with `body` (JSON, or nothing when empty), its answer read as a `resubmit_result`.
/// A POST: never sent twice once written (RFC 9110 9.2.2), a 503 is the answer.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, resubmit_result>, Executor>
post_resubmit(basic_client<Executor, Connector> client, std::string path, std::string body, diagnostics& diag) {
    resubmit_result out;
    http::request req = http::make_request(boost::beast::http::verb::post);
    if (!body.empty()) {
        req.set(boost::beast::http::field::content_type, "application/json; charset=utf-8");
        req.body() = std::move(body);
    }
    // GCC 12: no temporary holding a string or a shared_ptr inside a co_await expression; the
    // operation is made first, then awaited.
    std::string query;
    auto call = client.call(std::move(path), std::move(query), std::move(req), diag);
    auto [ec, url, answer] = co_await std::move(call);
    if (!ec)
        ec = check_api_answer(answer, url, diag);
    if (!ec) {
        std::string what;
        if (auto pec = read_resubmit(std::move(answer.message.body()), out, what))
            ec = parse_error(pec, std::move(what), answer, url, diag);
        out.http_status = answer.message.result_int();
    }
    co_return std::tuple{ec, std::move(out)};
}

/// Oracle's "Resubmit an Errored Integration Instance": `POST /monitoring/errors/{id}/resubmit`.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, resubmit_result>, Executor>
resubmit_one(basic_client<Executor, Connector> client, std::string id, resubmit_options options, diagnostics& diag) {
    if (id.empty())
        co_return std::tuple{report(diag, error::bad_config, "errored instance id is empty"), resubmit_result{}};
    std::string body;
    if (!options.recovery_trace_level.empty())
        body = boost::json::serialize(boost::json::object{{"recoveryTraceLevel", options.recovery_trace_level}});
    std::string path =
        std::string(api_item_traits<errored_instance>::path) + "/" + http::path_segment(id) + "/resubmit";
    auto post = post_resubmit(std::move(client), std::move(path), std::move(body), diag);
    co_return co_await std::move(post);
}

/// Oracle's "Resubmit Errored Integration Instances": `POST /monitoring/errors/resubmit` with
/// `{"ids": [...]}`.
template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, resubmit_result>, Executor>
resubmit_many(basic_client<Executor, Connector> client, std::vector<std::string> ids, diagnostics& diag) {
    if (ids.empty())
        co_return std::tuple{report(diag, error::bad_config, "no errored instance ids to resubmit"), resubmit_result{}};
    boost::json::array list;
    for (auto const& id : ids) {
        if (id.empty())
            co_return std::tuple{report(diag, error::bad_config, "an errored instance id to resubmit is empty"),
                                 resubmit_result{}};
        list.emplace_back(id);
    }
    std::string body = boost::json::serialize(boost::json::object{{"ids", std::move(list)}});
    std::string path = std::string(api_item_traits<errored_instance>::path) + "/resubmit";
    auto post = post_resubmit(std::move(client), std::move(path), std::move(body), diag);
    co_return co_await std::move(post);
}

} // namespace detail

/**
 * @name Monitoring calls
 * `get_errored_instances`: one page of `GET /ic/api/integration/v1/monitoring/errors` (Oracle's
 * "Retrieve Errored Instances"); `get_all_errored_instances`: every page, as `get_all_connections`
 * does. `query.q` is Oracle's filter, e.g. `{timewindow: '1d', code: 'HELLO_WORLD'}` (the service
 * looks at the past hour unless `timewindow` says otherwise); `query.expand` may be `integration`
 * or `connection`.
 *
 * `get_integration_instances` / `get_all_integration_instances`: `GET .../monitoring/instances`
 * ("Retrieve Integration Instances"), `q` e.g. `{timewindow: '1d', status: 'FAILED', code: 'X'}`.
 *
 * `resubmit_errored_instance`: `POST .../monitoring/errors/{id}/resubmit` ("Resubmit an Errored
 * Integration Instance"); the id travels as one percent-encoded path segment. An unknown id is
 * `api_not_found` (404), one that cannot be resubmitted (not recoverable, or no longer errored) 412.
 * `resubmit_errored_instances`: `POST .../monitoring/errors/resubmit` with `{"ids": [...]}`
 * ("Resubmit Errored Integration Instances"); the answer sorts the ids into accepted, invalid and
 * non-recoverable ones. Both are POSTs: through the runtime host its 307 replays them to the
 * design-time host (the token only where trusted), and once written they are never sent again (a
 * 503 is the answer, not a retry: resubmitting twice would run an integration twice).
 *
 * These throw `error_with_diagnostics`; each has an `async_` form below for any completion token.
 * @{
 */
/// One page of errored instances (Oracle's "Retrieve Errored Instances").
template <class Executor, class Connector>
asio::awaitable<errored_instances_page, Executor> get_errored_instances(basic_client<Executor, Connector> client,
                                                                        list_query query = {}) {
    return detail::value_or_throw<errored_instances_page, Executor>(
        [=](diagnostics& d) { return detail::get_page<errored_instance>(client, query, d); });
}
/// Every page of errored instances, in order.
template <class Executor, class Connector>
asio::awaitable<std::vector<errored_instance>, Executor>
get_all_errored_instances(basic_client<Executor, Connector> client, list_query query = {}) {
    return detail::value_or_throw<std::vector<errored_instance>, Executor>(
        [=](diagnostics& d) { return detail::get_all<errored_instance>(client, query, d); });
}
/// One page of integration instances (Oracle's "Retrieve Integration Instances").
template <class Executor, class Connector>
asio::awaitable<integration_instances_page, Executor>
get_integration_instances(basic_client<Executor, Connector> client, list_query query = {}) {
    return detail::value_or_throw<integration_instances_page, Executor>(
        [=](diagnostics& d) { return detail::get_page<integration_instance>(client, query, d); });
}
/// Every page of integration instances, in order.
template <class Executor, class Connector>
asio::awaitable<std::vector<integration_instance>, Executor>
get_all_integration_instances(basic_client<Executor, Connector> client, list_query query = {}) {
    return detail::value_or_throw<std::vector<integration_instance>, Executor>(
        [=](diagnostics& d) { return detail::get_all<integration_instance>(client, query, d); });
}
/// Resubmits errored instance `id` (Oracle's "Resubmit an Errored Integration Instance").
template <class Executor, class Connector>
asio::awaitable<resubmit_result, Executor> resubmit_errored_instance(basic_client<Executor, Connector> client,
                                                                     std::string id, resubmit_options options = {}) {
    return detail::value_or_throw<resubmit_result, Executor>(
        [=](diagnostics& d) { return detail::resubmit_one(client, id, options, d); });
}
/// Resubmits the errored instances `ids` in one call (Oracle's "Resubmit Errored Integration Instances").
template <class Executor, class Connector>
asio::awaitable<resubmit_result, Executor> resubmit_errored_instances(basic_client<Executor, Connector> client,
                                                                      std::vector<std::string> ids) {
    return detail::value_or_throw<resubmit_result, Executor>(
        [=](diagnostics& d) { return detail::resubmit_many(client, ids, d); });
}
/// @}

/**
 * @name Monitoring calls for any completion token
 * As the typed calls for any completion token above: handler `void(error_code, T)`, `diag` filled
 * on failure, default token `asio::deferred`, terminal cancellation.
 * @{
 */
/// `get_errored_instances` for any completion token.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, errored_instances_page)> CompletionToken = asio::deferred_t>
auto async_get_errored_instances(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                                 CompletionToken&& token = {}) {
    return detail::async_run<errored_instances_page>(
        client.get_executor(), &diag,
        [=](diagnostics& d) { return detail::get_page<errored_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, errored_instances_page)> CompletionToken = asio::deferred_t>
auto async_get_errored_instances(basic_client<Executor, Connector> client, list_query query,
                                 CompletionToken&& token = {}) {
    return detail::async_run<errored_instances_page>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::get_page<errored_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `get_all_errored_instances` for any completion token.
template <
    class Executor, class Connector,
    asio::completion_token_for<void(error_code, std::vector<errored_instance>)> CompletionToken = asio::deferred_t>
auto async_get_all_errored_instances(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                                     CompletionToken&& token = {}) {
    return detail::async_run<std::vector<errored_instance>>(
        client.get_executor(), &diag,
        [=](diagnostics& d) { return detail::get_all<errored_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <
    class Executor, class Connector,
    asio::completion_token_for<void(error_code, std::vector<errored_instance>)> CompletionToken = asio::deferred_t>
auto async_get_all_errored_instances(basic_client<Executor, Connector> client, list_query query,
                                     CompletionToken&& token = {}) {
    return detail::async_run<std::vector<errored_instance>>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::get_all<errored_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `get_integration_instances` for any completion token.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration_instances_page)> CompletionToken = asio::deferred_t>
auto async_get_integration_instances(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                                     CompletionToken&& token = {}) {
    return detail::async_run<integration_instances_page>(
        client.get_executor(), &diag,
        [=](diagnostics& d) { return detail::get_page<integration_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, integration_instances_page)> CompletionToken = asio::deferred_t>
auto async_get_integration_instances(basic_client<Executor, Connector> client, list_query query,
                                     CompletionToken&& token = {}) {
    return detail::async_run<integration_instances_page>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::get_page<integration_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `get_all_integration_instances` for any completion token.
template <
    class Executor, class Connector,
    asio::completion_token_for<void(error_code, std::vector<integration_instance>)> CompletionToken = asio::deferred_t>
auto async_get_all_integration_instances(basic_client<Executor, Connector> client, list_query query, diagnostics& diag,
                                         CompletionToken&& token = {}) {
    return detail::async_run<std::vector<integration_instance>>(
        client.get_executor(), &diag,
        [=](diagnostics& d) { return detail::get_all<integration_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <
    class Executor, class Connector,
    asio::completion_token_for<void(error_code, std::vector<integration_instance>)> CompletionToken = asio::deferred_t>
auto async_get_all_integration_instances(basic_client<Executor, Connector> client, list_query query,
                                         CompletionToken&& token = {}) {
    return detail::async_run<std::vector<integration_instance>>(
        client.get_executor(), nullptr,
        [=](diagnostics& d) { return detail::get_all<integration_instance>(client, query, d); },
        std::forward<CompletionToken>(token));
}
/// `resubmit_errored_instance` for any completion token.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, resubmit_result)> CompletionToken = asio::deferred_t>
auto async_resubmit_errored_instance(basic_client<Executor, Connector> client, std::string id, resubmit_options options,
                                     diagnostics& diag, CompletionToken&& token = {}) {
    return detail::async_run<resubmit_result>(
        client.get_executor(), &diag, [=](diagnostics& d) { return detail::resubmit_one(client, id, options, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, resubmit_result)> CompletionToken = asio::deferred_t>
auto async_resubmit_errored_instance(basic_client<Executor, Connector> client, std::string id,
                                     resubmit_options options = {}, CompletionToken&& token = {}) {
    return detail::async_run<resubmit_result>(
        client.get_executor(), nullptr, [=](diagnostics& d) { return detail::resubmit_one(client, id, options, d); },
        std::forward<CompletionToken>(token));
}
/// `resubmit_errored_instances` for any completion token.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, resubmit_result)> CompletionToken = asio::deferred_t>
auto async_resubmit_errored_instances(basic_client<Executor, Connector> client, std::vector<std::string> ids,
                                      diagnostics& diag, CompletionToken&& token = {}) {
    return detail::async_run<resubmit_result>(
        client.get_executor(), &diag, [=](diagnostics& d) { return detail::resubmit_many(client, ids, d); },
        std::forward<CompletionToken>(token));
}
/// As above, without diagnostics.
template <class Executor, class Connector,
          asio::completion_token_for<void(error_code, resubmit_result)> CompletionToken = asio::deferred_t>
auto async_resubmit_errored_instances(basic_client<Executor, Connector> client, std::vector<std::string> ids,
                                      CompletionToken&& token = {}) {
    return detail::async_run<resubmit_result>(
        client.get_executor(), nullptr, [=](diagnostics& d) { return detail::resubmit_many(client, ids, d); },
        std::forward<CompletionToken>(token));
}
/// @}

#ifdef OIC_SEPARATE_COMPILATION // compiled once, by <oic/src.hpp> (see oic/detail/config.hpp)
OIC_INSTANTIATE class basic_client<asio::any_io_executor>;
namespace detail {
OIC_INSTANTIATE void start_run<connections_page, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, connections_page>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, connections_page)>);
OIC_INSTANTIATE void start_run<std::vector<connection>, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, std::vector<connection>>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, std::vector<connection>)>);
OIC_INSTANTIATE void
start_run<connection, asio::any_io_executor>(asio::any_io_executor, diagnostics*,
                                             asio::awaitable<std::tuple<error_code, connection>, asio::any_io_executor>,
                                             asio::any_completion_handler<void(error_code, connection)>);
OIC_INSTANTIATE void start_run<integrations_page, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, integrations_page>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, integrations_page)>);
OIC_INSTANTIATE void start_run<std::vector<integration>, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, std::vector<integration>>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, std::vector<integration>)>);
OIC_INSTANTIATE void start_run<integration, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*, asio::awaitable<std::tuple<error_code, integration>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, integration)>);
OIC_INSTANTIATE void start_run<exported_archive, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, exported_archive>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, exported_archive)>);
OIC_INSTANTIATE void start_run<imported_archive, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, imported_archive>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, imported_archive)>);
OIC_INSTANTIATE void start_run<errored_instances_page, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, errored_instances_page>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, errored_instances_page)>);
OIC_INSTANTIATE void start_run<std::vector<errored_instance>, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, std::vector<errored_instance>>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, std::vector<errored_instance>)>);
OIC_INSTANTIATE void start_run<integration_instances_page, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, integration_instances_page>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, integration_instances_page)>);
OIC_INSTANTIATE void start_run<std::vector<integration_instance>, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, std::vector<integration_instance>>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, std::vector<integration_instance>)>);
OIC_INSTANTIATE void start_run<resubmit_result, asio::any_io_executor>(
    asio::any_io_executor, diagnostics*,
    asio::awaitable<std::tuple<error_code, resubmit_result>, asio::any_io_executor>,
    asio::any_completion_handler<void(error_code, resubmit_result)>);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, connections_page>, asio::any_io_executor>
get_page<connection, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, std::vector<connection>>, asio::any_io_executor>
get_all<connection, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, integrations_page>, asio::any_io_executor>
get_page<integration, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, std::vector<integration>>, asio::any_io_executor>
get_all<integration, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, errored_instances_page>, asio::any_io_executor>
get_page<errored_instance, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, std::vector<errored_instance>>, asio::any_io_executor>
get_all<errored_instance, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, integration_instances_page>, asio::any_io_executor>
get_page<integration_instance, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, std::vector<integration_instance>>, asio::any_io_executor>
get_all<integration_instance, asio::any_io_executor>(client, list_query, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, connection>, asio::any_io_executor>
get_item<connection, asio::any_io_executor>(client, std::string, std::string, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, integration>, asio::any_io_executor>
get_item<integration, asio::any_io_executor>(client, std::string, std::string, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, connection>, asio::any_io_executor>
get_connection_item<asio::any_io_executor>(client, std::string, std::string, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, integration>, asio::any_io_executor>
set_integration_status<asio::any_io_executor>(client, std::string, std::string, activation_options, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, exported_archive>, asio::any_io_executor>
export_archive<asio::any_io_executor>(client, std::string, http::body_sink&, transfer_options, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, exported_archive>, asio::any_io_executor>
export_archive_to_file<asio::any_io_executor>(client, std::string, std::filesystem::path, transfer_options,
                                              diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, imported_archive>, asio::any_io_executor>
import_archive<asio::any_io_executor>(client, http::body_source&, std::string, import_mode, transfer_options,
                                      diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, imported_archive>, asio::any_io_executor>
import_archive_from_file<asio::any_io_executor>(client, std::filesystem::path, import_mode, transfer_options,
                                                diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, resubmit_result>, asio::any_io_executor>
resubmit_one<asio::any_io_executor>(client, std::string, resubmit_options, diagnostics&);
OIC_INSTANTIATE asio::awaitable<std::tuple<error_code, resubmit_result>, asio::any_io_executor>
resubmit_many<asio::any_io_executor>(client, std::vector<std::string>, diagnostics&);
} // namespace detail
OIC_INSTANTIATE asio::awaitable<connections_page, asio::any_io_executor>
    get_connections<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<std::vector<connection>, asio::any_io_executor>
    get_all_connections<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<connection, asio::any_io_executor>
    get_connection<asio::any_io_executor>(client, std::string, std::string);
OIC_INSTANTIATE asio::awaitable<integrations_page, asio::any_io_executor>
    get_integrations<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<std::vector<integration>, asio::any_io_executor>
    get_all_integrations<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<integration, asio::any_io_executor> get_integration<asio::any_io_executor>(client,
                                                                                                           std::string);
OIC_INSTANTIATE asio::awaitable<integration, asio::any_io_executor>
    activate_integration<asio::any_io_executor>(client, std::string, activation_options);
OIC_INSTANTIATE asio::awaitable<integration, asio::any_io_executor>
    deactivate_integration<asio::any_io_executor>(client, std::string, activation_options);
OIC_INSTANTIATE asio::awaitable<exported_archive, asio::any_io_executor>
    export_integration<asio::any_io_executor>(client, std::string, std::filesystem::path, transfer_options);
OIC_INSTANTIATE asio::awaitable<exported_archive, asio::any_io_executor>
export_integration<asio::any_io_executor>(client, std::string, http::body_sink&, transfer_options);
OIC_INSTANTIATE asio::awaitable<imported_archive, asio::any_io_executor>
    import_integration<asio::any_io_executor>(client, std::filesystem::path, import_mode, transfer_options);
OIC_INSTANTIATE asio::awaitable<imported_archive, asio::any_io_executor>
import_integration<asio::any_io_executor>(client, http::body_source&, std::string, import_mode, transfer_options);
OIC_INSTANTIATE asio::awaitable<errored_instances_page, asio::any_io_executor>
    get_errored_instances<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<std::vector<errored_instance>, asio::any_io_executor>
    get_all_errored_instances<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<integration_instances_page, asio::any_io_executor>
    get_integration_instances<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<std::vector<integration_instance>, asio::any_io_executor>
    get_all_integration_instances<asio::any_io_executor>(client, list_query);
OIC_INSTANTIATE asio::awaitable<resubmit_result, asio::any_io_executor>
    resubmit_errored_instance<asio::any_io_executor>(client, std::string, resubmit_options);
OIC_INSTANTIATE asio::awaitable<resubmit_result, asio::any_io_executor>
    resubmit_errored_instances<asio::any_io_executor>(client, std::vector<std::string>);
#endif

} // namespace oic
