#pragma once
/**
 * @file The mock's OAuth 2.0 token endpoint as a plain function of the request: client
 * authentication (RFC 6749 section 2.3.1), the client credentials grant, and the store of issued
 * tokens the API hosts check. No sockets: the server routes `POST /oauth2/v1/token` here.
 */

#include <oic/testing/detail/http_server.hpp>
#include <oic/testing/test_ca.hpp>

#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/pct_string_view.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace oic::testing::detail {

/// `bytes` cryptographically random bytes as lower-case hex.
inline std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
        throw_openssl_error("RAND_bytes");
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * bytes);
    for (unsigned char b : raw) {
        hex.push_back(digits[b >> 4]);
        hex.push_back(digits[b & 0xF]);
    }
    return hex;
}

/// Decodes padded standard base64, or returns nothing when `text` is not valid base64.
inline std::optional<std::string> base64_decode(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0)
        return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    int const n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<unsigned char const*>(text.data()), static_cast<int>(text.size()));
    if (n < 0)
        return std::nullopt;
    // EVP_DecodeBlock counts the bytes '=' padding stands for; drop them.
    std::size_t const padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space), or nothing if malformed.
inline std::optional<std::string> form_decode(std::string_view text) {
    auto const pct = urls::make_pct_string_view(text);
    if (!pct)
        return std::nullopt;
    return pct->decode(urls::encoding_opts(true));
}

using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Parses an `application/x-www-form-urlencoded` body, or returns nothing if it is malformed.
inline std::optional<form_fields> parse_form(std::string_view body) {
    auto const params = urls::parse_query(body);
    if (!params)
        return std::nullopt;
    form_fields fields;
    for (auto const& p : *params) {
        if (p.key.empty() && !p.has_value)
            continue; // "a=1&&b=2"
        fields.emplace_back(p.key.decode(urls::encoding_opts(true)), p.value.decode(urls::encoding_opts(true)));
    }
    return fields;
}

/// The value of the only field `name`; nothing if absent. `duplicate` is set when it occurs twice.
inline std::optional<std::string> form_field(form_fields const& fields, std::string_view name, bool& duplicate) {
    std::optional<std::string> value;
    for (auto const& [key, v] : fields) {
        if (key != name)
            continue;
        duplicate = duplicate || value.has_value();
        value = v;
    }
    return value;
}

/// Whether `text` starts with `prefix`, ignoring ASCII case.
inline bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && beast::iequals(text.substr(0, prefix.size()), prefix);
}

/// The credentials after `scheme` in an `Authorization` value (scheme case-insensitive), or nothing.
inline std::optional<std::string_view> auth_credentials(std::string_view header, std::string_view scheme) {
    if (!istarts_with(header, scheme) || header.size() == scheme.size() || header[scheme.size()] != ' ')
        return std::nullopt;
    header.remove_prefix(scheme.size());
    while (header.starts_with(' '))
        header.remove_prefix(1);
    while (header.ends_with(' '))
        header.remove_suffix(1);
    return header;
}

/// Client id and secret from `Basic base64(form(id) ":" form(secret))` (RFC 6749 section 2.3.1).
inline std::optional<std::pair<std::string, std::string>> basic_client_credentials(std::string_view header) {
    auto const encoded = auth_credentials(header, "Basic");
    if (!encoded)
        return std::nullopt;
    auto const decoded = base64_decode(*encoded);
    if (!decoded)
        return std::nullopt;
    auto const colon = decoded->find(':');
    if (colon == std::string::npos)
        return std::nullopt;
    auto id = form_decode(std::string_view(*decoded).substr(0, colon));
    auto secret = form_decode(std::string_view(*decoded).substr(colon + 1));
    if (!id || !secret)
        return std::nullopt;
    return std::pair{std::move(*id), std::move(*secret)};
}

/// Who may get a token, for which scope, for how long.
struct token_policy {
    std::string client_id;
    std::string client_secret;
    std::string scope;
    std::chrono::milliseconds lifetime;
};

/**
 * Answers token requests and remembers the tokens it issued until they expire or are revoked.
 * Thread-safe: the server thread answers while tests revoke tokens or inject failures.
 */
class token_endpoint {
public:
    explicit token_endpoint(token_policy policy) : policy_(std::move(policy)) {}

    /// The answer to one `POST /oauth2/v1/token`: a token, or an RFC 6749 error.
    http_response answer(http_request const& req) {
        if (unsigned const failure = injected_failure(); failure != 0)
            return oauth_error(failure, "temporarily_unavailable",
                               "The mock server was told to fail token requests with HTTP " + std::to_string(failure) +
                                   ".");

        auto const content_type = req[http::field::content_type];
        if (!istarts_with(content_type, "application/x-www-form-urlencoded"))
            return oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.");
        auto const form = parse_form(req.body());
        if (!form)
            return oauth_error(400, "invalid_request", "The body is not valid application/x-www-form-urlencoded.");
        bool duplicate = false;
        auto const grant_type = form_field(*form, "grant_type", duplicate);
        auto const scope = form_field(*form, "scope", duplicate);
        auto const body_id = form_field(*form, "client_id", duplicate);
        auto const body_secret = form_field(*form, "client_secret", duplicate);
        if (duplicate)
            return oauth_error(400, "invalid_request", "A parameter appears more than once.");

        // Client authentication: exactly one of client_secret_basic and client_secret_post.
        std::string id, secret;
        if (auto const it = req.find(http::field::authorization); it != req.end()) {
            auto credentials = basic_client_credentials(it->value());
            if (!credentials)
                return oauth_error(401, "invalid_client",
                                   "The Authorization header is not Basic with form-encoded client credentials.");
            if (body_secret)
                return oauth_error(400, "invalid_request", "The client authenticated with more than one method.");
            std::tie(id, secret) = std::move(*credentials);
        } else if (body_id) {
            id = *body_id;
            secret = body_secret.value_or("");
        } else {
            return oauth_error(401, "invalid_client", "Client authentication is required.");
        }
        if (id != policy_.client_id || secret != policy_.client_secret)
            return oauth_error(401, "invalid_client", "Client authentication failed.");

        if (!grant_type)
            return oauth_error(400, "invalid_request", "grant_type is required.");
        if (*grant_type != "client_credentials")
            return oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.");
        if (scope != policy_.scope)
            return oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.");
        return issue();
    }

    /// Whether `token` was issued here, is not revoked and has not expired.
    bool is_valid(std::string_view token) const {
        std::lock_guard lock(mutex_);
        auto const it = tokens_.find(std::string(token));
        return it != tokens_.end() && std::chrono::steady_clock::now() < it->second;
    }

    /// Forgets every issued token.
    void revoke_all() {
        std::lock_guard lock(mutex_);
        tokens_.clear();
    }

    /// From now on every request is answered `status` (0: normal service).
    void set_failure(unsigned status) {
        std::lock_guard lock(mutex_);
        failure_ = status;
    }

private:
    static http_response oauth_error(unsigned status, std::string_view error, std::string_view description) {
        http_response res = json_response(status, json::object{{"error", error}, {"error_description", description}});
        if (status == 401)
            res.set(http::field::www_authenticate, "Basic realm=\"oic-mock\"");
        return res;
    }

    unsigned injected_failure() const {
        std::lock_guard lock(mutex_);
        return failure_;
    }

    http_response issue() {
        std::string token = random_hex(32);
        auto const now = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(mutex_);
            if (tokens_.size() >= 1024)
                std::erase_if(tokens_, [now](auto const& entry) { return entry.second <= now; });
            tokens_[token] = now + policy_.lifetime;
        }
        std::int64_t const lifetime_ms = std::max<std::int64_t>(policy_.lifetime.count(), 0);
        return json_response(200, json::object{
                                      {"access_token", std::move(token)},
                                      {"token_type", "Bearer"},
                                      {"expires_in", (lifetime_ms + 999) / 1000},
                                  });
    }

    token_policy const policy_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> tokens_;
    unsigned failure_ = 0;
};

} // namespace oic::testing::detail
