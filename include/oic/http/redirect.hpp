#pragma once
/**
 * @file Redirect policies and the rules no policy can switch off.
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
#include <string>
#include <vector>

namespace oic::http {

namespace beast_http = boost::beast::http;

/// What a policy sees of one redirect.
struct redirect_hop {
    urls::url_view original;   ///< the URL the caller asked for
    urls::url_view current;    ///< the URL that answered with the redirect
    urls::url_view target;     ///< `Location`, resolved against `current`
    beast_http::status status; ///< 301, 302, 303, 307 or 308
    beast_http::verb method;   ///< method of the request that was redirected
    int hop;                   ///< 1 for the first redirect of a request
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
    redirect_decision operator()(redirect_hop const&) const { return {}; }
};

/// Forward only when the target has the original request's scheme, host and port (httpx).
struct same_origin {
    redirect_decision operator()(redirect_hop const& h) const {
        return {.forward_credentials = origin_of(h.target) == origin_of(h.original)};
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
    trusted_hosts(std::initializer_list<std::string> patterns) : patterns_(patterns) {}
    explicit trusted_hosts(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}

    void add(std::string pattern) { patterns_.push_back(std::move(pattern)); }

    bool trusts(origin const& o) const {
        for (auto const& p : patterns_)
            if (matches(p, o))
                return true;
        return false;
    }

    redirect_decision operator()(redirect_hop const& h) const {
        auto const o = origin_of(h.target);
        return {.forward_credentials = o && trusts(*o)};
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
    redirect_decision operator()(redirect_hop const&) const { return {.forward_credentials = true}; }
};

/**
 * @brief The client's default: forward only over https (or to loopback) to the configured hosts
 * and to `*.ocp.oraclecloud.com`, and remember a hop that only changes the origin (runtime host ->
 * design-time host), so later calls skip the round trip.
 */
class oic_default {
public:
    explicit oic_default(std::vector<std::string> configured_hosts = {}) : trusted_(std::move(configured_hosts)) {
        trusted_.add("*.ocp.oraclecloud.com");
    }

    redirect_decision operator()(redirect_hop const& h) const {
        auto const o = origin_of(h.target);
        bool const forward = o && (o->tls() || is_loopback(o->host)) && trusted_.trusts(*o);
        bool const origin_only = h.target.encoded_path() == h.current.encoded_path() &&
                                 h.target.encoded_query() == h.current.encoded_query();
        return {.forward_credentials = forward, .remember = forward && origin_only};
    }

private:
    trusted_hosts trusted_;
};

static_assert(redirect_policy<never_forward> && redirect_policy<same_origin> &&
              redirect_policy<trusted_hosts> && redirect_policy<always_forward> && redirect_policy<oic_default>);

/// The state of one request's redirect chain.
struct redirect_chain {
    urls::url original;
    urls::url current;
    beast_http::verb method = beast_http::verb::get;
    bool body_has_credentials = false; ///< client_secret_post: the body must not cross origins
    int hops = 0;
    std::vector<std::string> visited{}; ///< every URL of the chain, to detect loops
};

/// What to do next after a 3xx answer.
struct redirect_step {
    urls::url target;
    beast_http::verb method;
    bool keep_body;
    bool send_credentials;
    bool remember;
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
 * unparsable, userinfo, a scheme other than http/https) is an error; https -> http is an error;
 * 303, and 301/302 after POST, become GET without a body; 307/308 keep method and body; a body with
 * credentials never goes to another origin; credentials never go over plaintext http to a
 * non-loopback host.
 *
 * @throws error_with_diagnostics on any refusal.
 */
inline redirect_step plan_redirect(redirect_chain& chain, beast_http::status status, std::string_view location,
                                   any_redirect_policy const& policy, int max_redirects) {
    auto const code = static_cast<unsigned>(status);
    auto refuse = [&](error e, std::string why) {
        fail(e, diagnostics{.message = std::move(why), .http_status = code});
    };
    if (chain.hops >= max_redirects)
        refuse(error::too_many_redirects, "more than " + std::to_string(max_redirects) + " redirects from " +
                                              redacted(chain.original));
    if (location.empty())
        refuse(error::redirect_bad_location, "redirect without a Location header from " + redacted(chain.current));
    auto const ref = urls::parse_uri_reference(location);
    if (!ref)
        refuse(error::redirect_bad_location, "unparsable Location in redirect from " + redacted(chain.current));
    urls::url target;
    if (auto r = urls::resolve(chain.current, *ref, target); !r)
        refuse(error::redirect_bad_location, "Location cannot be resolved in redirect from " + redacted(chain.current));
    target.remove_fragment();
    target.normalize_scheme();
    if (target.has_userinfo())
        refuse(error::redirect_bad_location, "Location with userinfo in redirect from " + redacted(chain.current));
    auto const to = origin_of(target);
    if (!to)
        refuse(error::redirect_bad_location, "Location is not an http(s) URL with a host, in redirect from " +
                                                 redacted(chain.current));
    if (origin_of(chain.current)->tls() && !to->tls())
        refuse(error::redirect_downgrade, "redirect from " + redacted(chain.current) + " to plaintext " + redacted(target));
    if (chain.visited.empty())
        chain.visited.emplace_back(chain.original.buffer());
    std::string const key(target.buffer());
    for (auto const& seen : chain.visited)
        if (seen == key)
            refuse(error::redirect_loop, "redirect loop at " + redacted(target));

    redirect_decision const d =
        policy(redirect_hop{chain.original, chain.current, target, status, chain.method, chain.hops + 1});
    if (!d.follow)
        refuse(error::redirect_refused, "redirect to " + redacted(target) + " not followed by policy");

    using beast_http::verb;
    bool const to_get = status == beast_http::status::see_other
                            ? chain.method != verb::head
                            : (status == beast_http::status::moved_permanently || status == beast_http::status::found) &&
                                  chain.method == verb::post;
    redirect_step step{.target = std::move(target),
                       .method = to_get ? verb::get : chain.method,
                       .keep_body = !to_get,
                       .send_credentials = d.forward_credentials && (to->tls() || is_loopback(to->host)),
                       .remember = d.remember};
    if (step.keep_body && chain.body_has_credentials && *to != *origin_of(chain.original))
        refuse(error::redirect_body_credentials,
               "redirect would re-send client credentials in the body to " + to->to_string());

    chain.hops += 1;
    chain.method = step.method;
    chain.current = step.target;
    chain.visited.push_back(key);
    return step;
}

} // namespace oic::http
