#pragma once
/// @file Origins, loopback detection and query encoding on top of Boost.URL.

#include <boost/asio/ip/address.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oic::http {

namespace urls = boost::urls;

/// scheme + host + port: the unit of trust for credentials and of connection reuse.
struct origin {
    std::string scheme; ///< "http" or "https"
    std::string host;   ///< lower case; IPv6 without brackets
    std::uint16_t port = 0;

    bool tls() const noexcept { return scheme == "https"; }
    std::string to_string() const {
        bool const v6 = host.find(':') != std::string::npos;
        return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
    friend bool operator==(origin const&, origin const&) = default;
};

/// The origin of an absolute http(s) URL with a host; nullopt for anything else.
inline std::optional<origin> origin_of(urls::url_view u) {
    auto const id = u.scheme_id();
    if ((id != urls::scheme::http && id != urls::scheme::https) || u.encoded_host().empty())
        return std::nullopt;
    origin o;
    o.scheme = id == urls::scheme::https ? "https" : "http";
    o.host = u.host_address();
    for (auto& c : o.host)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    o.port = u.has_port() ? u.port_number() : (o.tls() ? 443 : 80);
    if (u.has_port() && o.port == 0)
        return std::nullopt;
    return o;
}

/// True for `localhost`, 127.0.0.0/8 and ::1: hosts whose traffic never leaves the machine.
inline bool is_loopback(std::string_view host) {
    if (host == "localhost" || host.ends_with(".localhost"))
        return true;
    boost::system::error_code ec;
    auto const a = boost::asio::ip::make_address(std::string(host), ec);
    return !ec && a.is_loopback();
}

/// Percent-encodes everything but RFC 3986 unreserved characters (safe in any query or form).
inline std::string percent_encode(std::string_view s) {
    return urls::encode(s, urls::unreserved_chars);
}

/// application/x-www-form-urlencoded, as RFC 6749 section 2.3.1 asks for client id and secret.
inline std::string form_encode(std::string_view s) {
    urls::encoding_opts opts;
    opts.space_as_plus = true;
    return urls::encode(s, urls::unreserved_chars, opts);
}

/// Appends `key=value` to a query string, encoding both.
inline void append_param(std::string& query, std::string_view key, std::string_view value) {
    if (!query.empty())
        query += '&';
    query += percent_encode(key);
    query += '=';
    query += percent_encode(value);
}

/// The URL without userinfo and query, for error messages: never echoes what could be a secret.
inline std::string redacted(urls::url_view u) {
    urls::url r(u);
    r.remove_userinfo();
    r.remove_query();
    r.remove_fragment();
    return std::string(r.buffer());
}

} // namespace oic::http
