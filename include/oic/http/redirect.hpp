#pragma once
/**
 * @file
 * Redirect policies and the rules no policy can switch off.
 *
 * Following a redirect is not forwarding credentials. A policy is asked once per hop and answers
 * three questions independently: follow it? send the credentials along? remember it for later
 * calls? `plan_redirect` applies the fixed safety rules around that answer; it does no I/O so the
 * whole decision table is unit-tested without sockets.
 */

#include <oic/error.hpp>
#include <oic/http/url.hpp>

#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <cctype>
#include <concepts>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace oic::http {

namespace beast_http = boost::beast::http;

/// What a policy sees of one redirect.
struct redirect_hop {
    urls::url_view original;   ///< the URL the caller asked for
    urls::url_view current;    ///< the URL that answered with the redirect
    urls::url_view target;     ///< `Location`, resolved against `current`
    origin original_origin;    ///< where the call started
    origin target_origin;      ///< where the hop goes: the very value the connection will use; judge this
    beast_http::status status; ///< 301, 302, 303, 307 or 308
    beast_http::verb method;   ///< method of the request that was redirected
    int hop;                   ///< 1 for the first redirect of a request
    bool credentials;          ///< the request carries credentials that this hop may forward or withhold
};

/// A policy's answer. The defaults follow without credentials and remember nothing.
struct redirect_decision {
    bool follow = true;               ///< false: the 3xx answer becomes an `error::redirect_refused`
    bool forward_credentials = false; ///< send Authorization/Proxy-Authorization/Cookie to the target
    bool remember = false;            ///< later calls to this origin go straight to the target origin
};

/// Anything callable with a hop that answers a decision: the built-ins, a lambda, your struct.
template <class P>
concept redirect_policy = std::copy_constructible<P> && requires(P const& p, redirect_hop const& h) {
    { p(h) } -> std::convertible_to<redirect_decision>;
};

/// Type-erased policy, as sessions and clients store it.
using any_redirect_policy = std::function<redirect_decision(redirect_hop const&)>;

/// Follow, never forward credentials: what `curl -L` and Python requests do across hosts.
struct never_forward {
    redirect_decision operator()(redirect_hop const&) const { return {}; } ///< follow, credentials dropped
};

/// Forward only when the target has the original request's scheme, host and port (httpx).
struct same_origin {
    /// Follow; credentials only when the target's origin is the original's.
    redirect_decision operator()(redirect_hop const& h) const {
        return {.forward_credentials = h.target_origin == h.original_origin};
    }
};

/**
 * @brief Forward only to listed hosts: exact names, `*.suffix` patterns, each with an optional
 * `:port`. What curl users asked for instead of `--location-trusted`.
 *
 * `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
 */
class trusted_hosts {
public:
    trusted_hosts() = default;
    trusted_hosts(std::initializer_list<std::string> patterns) : patterns_(patterns) {}           ///< these patterns
    explicit trusted_hosts(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {} ///< these patterns

    void add(std::string pattern) { patterns_.push_back(std::move(pattern)); } ///< one more pattern
    /// Trusts exactly this origin's host on this origin's port.
    void add(origin const& o) { add(o.host_port()); }

    /// Whether a pattern matches `o`'s host (case-insensitively) and port (any, when it names none).
    bool trusts(origin const& o) const {
        for (auto const& p : patterns_)
            if (matches(p, o))
                return true;
        return false;
    }

    /// Follow; credentials only to a trusted target.
    redirect_decision operator()(redirect_hop const& h) const {
        return {.forward_credentials = trusts(h.target_origin)};
    }

private:
    static bool iequals(std::string_view a, std::string_view b) {
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
                return false;
        return true;
    }
    static bool matches(std::string_view pattern, origin const& o) {
        // "host", "host:port", "*.suffix", "*.suffix:port", "[v6]", "[v6]:port" or a bare "v6".
        std::string_view host = pattern;
        std::string_view port;
        if (pattern.starts_with('[')) {
            auto const close = pattern.find(']');
            host = pattern.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
            if (close != std::string_view::npos && pattern.substr(close + 1).starts_with(':'))
                port = pattern.substr(close + 2);
        } else if (auto const colon = pattern.find(':');
                   colon != std::string_view::npos && pattern.find(':', colon + 1) == std::string_view::npos) {
            host = pattern.substr(0, colon);
            port = pattern.substr(colon + 1);
        }
        if (!port.empty() && port != std::to_string(o.port))
            return false;
        if (host.starts_with("*.")) {
            auto const suffix = host.substr(1); // ".example.com"
            return o.host.size() > suffix.size() &&
                   iequals(std::string_view(o.host).substr(o.host.size() - suffix.size()), suffix);
        }
        return iequals(host, o.host);
    }
    std::vector<std::string> patterns_;
};

/// Forward to whatever host the server names: curl's `--location-trusted`.
/// Unsafe: a compromised or misconfigured server receives your token. Prefer `trusted_hosts`.
struct always_forward {
    /// Follow, credentials included.
    redirect_decision operator()(redirect_hop const&) const { return {.forward_credentials = true}; }
};

/**
 * @brief The design-time host that serves the Developer API for an OIC host of a region:
 * `design.integration.{region}.ocp.oraclecloud.com` on 443 for
 * `https://{instance}.integration.{region}.ocp.oraclecloud.com` (or the design host itself).
 * nullopt for any other host, and for runtime hosts without a region part.
 */
inline std::optional<origin> design_host_of(origin const& o) {
    constexpr std::string_view suffix = ".ocp.oraclecloud.com";
    std::string_view h = o.host;
    if (!o.tls() || !h.ends_with(suffix))
        return std::nullopt;
    h.remove_suffix(suffix.size()); // "<instance>.integration.<region>"
    auto const dot = h.rfind('.');
    if (dot == std::string_view::npos || !h.substr(0, dot).ends_with(".integration"))
        return std::nullopt;
    auto const region = h.substr(dot + 1);
    if (region == "integration")
        return std::nullopt;
    return origin{"https", "design.integration." + std::string(region) + std::string(suffix), 443};
}

/**
 * @brief The client's default: credentials go only over https (or to loopback) to trusted origins;
 * a redirect of a credentialed request anywhere else is not followed (`error::redirect_refused`
 * names the host), so an answer from an untrusted host is never taken for the API's answer.
 * Hops to a trusted origin are remembered (runtime host -> design-time host), so later calls skip
 * the round trip.
 *
 * `for_instance` builds what the client uses: the configured base URL and token URL origins, each
 * on its own port, plus the design-time host of the base URL's region. Widen it with more
 * `trusted_hosts` patterns (`host`, `host:port`, `*.suffix`).
 */
class oic_default {
public:
    /// Trusting the hosts `trusted_patterns` names (as `trusted_hosts` reads them), over TLS or on loopback.
    explicit oic_default(std::vector<std::string> trusted_patterns = {}) : trusted_(std::move(trusted_patterns)) {}

    /// What a client uses: `configured`'s origins, their regions' design-time hosts, and `more`.
    static oic_default for_instance(std::vector<origin> const& configured, std::vector<std::string> more = {}) {
        oic_default p(std::move(more));
        for (auto const& o : configured) {
            p.trusted_.add(o);
            if (auto design = design_host_of(o))
                p.trusted_.add(*design);
        }
        return p;
    }

    /// Whether credentials may go to `o`: trusted, and over TLS unless `o` is loopback.
    bool trusts(origin const& o) const { return (o.tls() || is_loopback(o.host)) && trusted_.trusts(o); }

    /// Credentials and memory for a trusted target; an untrusted one is followed only without credentials to drop.
    redirect_decision operator()(redirect_hop const& h) const {
        bool const forward = trusts(h.target_origin);
        return {.follow = forward || !h.credentials, .forward_credentials = forward, .remember = forward};
    }

private:
    trusted_hosts trusted_;
};

static_assert(redirect_policy<never_forward> && redirect_policy<same_origin> && redirect_policy<trusted_hosts> &&
              redirect_policy<always_forward> && redirect_policy<oic_default>);

/// The kinds of credential this library sends; each has its own rule (see `may_send`).
enum class credential_kind {
    bearer,         ///< the API's token (and any `Authorization`/`Cookie` a caller sets): where the policy trusts
    client_secret,  ///< `Authorization: Basic` or a `client_secret_post` body: the token URL's origin only
    redis_password, ///< Redis AUTH: the configured Redis host only
};

/**
 * @brief The one answer to "may a credential of `kind`, configured for `home`, go to `to` over
 * this connection": the session asks it for a call's first request and for each redirect hop, the
 * Redis store for its host; nothing else decides.
 *
 * Never over plaintext to a host that is not loopback (the scheme `https` stands for any TLS
 * connection; a loopback name then connects to loopback addresses only, see
 * `detail::allowed_endpoints`). A bearer token goes where `policy_trusts` (the redirect policy's
 * answer for `to`; true for the URL the caller asked for). A client secret and the Redis password go
 * only to `home`, whatever the policy says.
 */
inline bool may_send(credential_kind kind, origin const& home, origin const& to, bool policy_trusts) {
    if (!to.tls() && !is_loopback(to.host))
        return false;
    return kind == credential_kind::bearer ? policy_trusts : to == home;
}

namespace detail {

// The redirect engine: what `basic_session` runs for each 3xx answer. Not part of the API: the
// policy objects above are how a program decides.

/// The state of one request's redirect chain.
struct redirect_chain {
    /// A chain starting at `url`, whose origin is `o` (see `origin_of`).
    redirect_chain(urls::url url, origin o, beast_http::verb m)
        : original(std::move(url)), original_origin(std::move(o)), current(original), current_origin(original_origin),
          method(m) {}

    /// @throws error_with_diagnostics (`error::bad_url`) when `url` has no origin this library connects to.
    explicit redirect_chain(urls::url url, beast_http::verb m = beast_http::verb::get)
        : redirect_chain(url, checked_origin(url), m) {}

    urls::url original;
    origin original_origin;
    urls::url current;
    origin current_origin; ///< where the next request goes
    beast_http::verb method;
    bool has_credentials = true;       ///< the request carries credentials (headers or body)
    bool body_has_credentials = false; ///< client_secret_post: the body must not cross origins
    bool credentials_pinned = false;   ///< a client secret: the credentials never leave `original_origin`
    bool may_remember = true;          ///< false for token requests: their hops are followed per call
    bool credentials_withheld = false; ///< once withheld on a hop, withheld for the rest of the chain
    int hops = 0;
    std::vector<std::string> visited{}; ///< every URL of the chain, to detect loops

private:
    static origin checked_origin(urls::url_view u) {
        if (auto o = origin_of(u))
            return *o;
        fail(error::bad_url, "not an http(s) URL with a plain host name or IP address: " + redacted(u));
    }
};

/// What to do next after a 3xx answer.
struct redirect_step {
    urls::url target;
    origin to;
    beast_http::verb method = beast_http::verb::get;
    bool keep_body = false;
    bool send_credentials = false;
    bool remember = false; ///< remember `chain.original_origin -> to` once `to` has answered
};

/// True for the statuses this library follows.
inline bool is_redirect(beast_http::status s) {
    using beast_http::status;
    return s == status::moved_permanently || s == status::found || s == status::see_other ||
           s == status::temporary_redirect || s == status::permanent_redirect;
}

/**
 * @brief Applies the fixed rules and the policy to one redirect; advances `chain` on success.
 *
 * Rules no policy can switch off: the hop limit; loop detection; a bad `Location` (missing,
 * unparsable, userinfo, a scheme other than http/https, a host that is not a plain host name or IP
 * literal) is an error; https -> http is an error; 303, and 301/302 after POST, become GET without
 * a body; 307/308 keep method and body; a body with credentials never goes to another origin;
 * pinned credentials (a client secret, `chain.credentials_pinned`) never go to another origin in
 * any form, whatever the policy: a 307/308 there is an error, a 303 goes without them; credentials never go over
 * plaintext http to a non-loopback host; once withheld on a hop, they stay withheld for the rest of the chain. A hop is
 * remembered only when the policy asks, it leaves the original origin, keeps path and query, and the request may be
 * remembered (not a token request, no credentials in the body).
 *
 * @return an error, with `diag` filled, for any refusal (`step` is then unspecified).
 */
inline error_code plan_redirect(redirect_chain& chain, beast_http::status status, std::string_view location,
                                any_redirect_policy const& policy, int max_redirects, redirect_step& step,
                                diagnostics& diag) {
    auto const code = static_cast<unsigned>(status);
    auto refuse = [&](error e, std::string why) {
        return oic::detail::report(diag, e, diagnostics{.message = std::move(why), .http_status = code});
    };
    if (chain.hops >= max_redirects)
        return refuse(error::too_many_redirects,
                      "more than " + std::to_string(max_redirects) + " redirects from " + redacted(chain.original));
    if (location.empty())
        return refuse(error::redirect_bad_location,
                      "redirect without a Location header from " + redacted(chain.current));
    auto const ref = urls::parse_uri_reference(location);
    if (!ref || !detail::path_follows_authority(*ref))
        return refuse(error::redirect_bad_location, "unparsable Location in redirect from " + redacted(chain.current));
    urls::url target;
    if (auto r = urls::resolve(chain.current, *ref, target); !r)
        return refuse(error::redirect_bad_location,
                      "Location cannot be resolved in redirect from " + redacted(chain.current));
    target.remove_fragment();
    target.normalize_scheme();
    if (target.has_userinfo())
        return refuse(error::redirect_bad_location,
                      "Location with userinfo in redirect from " + redacted(chain.current));
    auto const to = origin_of(target);
    if (!to)
        return refuse(error::redirect_bad_location,
                      "Location is not an http(s) URL with a plain host name or IP address, in redirect from " +
                          redacted(chain.current));
    if (chain.current_origin.tls() && !to->tls())
        return refuse(error::redirect_downgrade,
                      "redirect from " + redacted(chain.current) + " to plaintext " + redacted(target));
    if (chain.visited.empty())
        chain.visited.emplace_back(chain.original.buffer());
    std::string const key(target.buffer());
    for (auto const& seen : chain.visited)
        if (seen == key)
            return refuse(error::redirect_loop, "redirect loop at " + redacted(target));

    redirect_decision const d = policy(redirect_hop{chain.original, chain.current, target, chain.original_origin, *to,
                                                    status, chain.method, chain.hops + 1, chain.has_credentials});
    if (!d.follow) {
        std::string const host_port = to->host_port();
        auto ec =
            refuse(error::redirect_refused,
                   std::string(beast_http::obsolete_reason(status)) + " from " + redacted(chain.current) + " to " +
                       to->to_string() + " not followed: the redirect policy does not trust " + host_port +
                       (chain.has_credentials ? " with credentials (to send them there, add it to "
                                                "client_config::trusted_hosts; to follow without them, use "
                                                "http::never_forward)"
                                              : ""));
        diag.redirect_to = host_port;
        return ec;
    }

    using beast_http::verb;
    bool const to_get = status == beast_http::status::see_other ? chain.method != verb::head
                                                                : (status == beast_http::status::moved_permanently ||
                                                                   status == beast_http::status::found) &&
                                                                      chain.method == verb::post;
    auto const kind = chain.credentials_pinned ? credential_kind::client_secret : credential_kind::bearer;
    bool const send = !chain.credentials_withheld && may_send(kind, chain.original_origin, *to, d.forward_credentials);
    bool const origin_only = target.encoded_path() == chain.current.encoded_path() &&
                             target.encoded_query() == chain.current.encoded_query();
    step = redirect_step{.target = std::move(target),
                         .to = *to,
                         .method = to_get ? verb::get : chain.method,
                         .keep_body = !to_get,
                         .send_credentials = send,
                         .remember = d.remember && chain.may_remember && !chain.body_has_credentials && origin_only &&
                                     chain.current_origin == chain.original_origin && *to != chain.original_origin};
    if (step.keep_body && chain.body_has_credentials && *to != chain.original_origin)
        return refuse(error::redirect_body_credentials,
                      "redirect would re-send client credentials in the body to " + to->to_string());
    if (step.keep_body && chain.has_credentials && kind == credential_kind::client_secret &&
        !may_send(kind, chain.original_origin, *to, true))
        return refuse(error::redirect_body_credentials,
                      "redirect would re-send the client secret to " + to->to_string() +
                          ": it goes only to the token URL's origin, " + chain.original_origin.to_string() +
                          ", whatever the redirect policy trusts (set token_url to the endpoint that answers)");

    chain.hops += 1;
    chain.method = step.method;
    chain.current = step.target;
    chain.current_origin = *to;
    chain.credentials_withheld = chain.credentials_withheld || !send;
    chain.visited.push_back(key);
    return {};
}

} // namespace detail

} // namespace oic::http
