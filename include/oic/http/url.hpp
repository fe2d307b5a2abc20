#pragma once
/// @file
/// Origins, loopback detection and query encoding on top of Boost.URL.

#include <boost/asio/ip/address.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oic::http {

namespace urls = boost::urls;

/**
 * @brief scheme + host + port: the unit of trust for credentials and of connection reuse.
 *
 * An origin is checked once, by `origin_of`, and then carried as a value: the redirect policy
 * judges it, and the pool, the resolver, SNI, the certificate check and the `Host` header all use
 * this very value. Nothing downstream re-parses a URL to find out where to connect.
 */
struct origin {
    std::string scheme;     ///< "http" or "https"
    std::string host;       ///< lower-case DNS name, dotted IPv4, or IPv6 without brackets
    std::uint16_t port = 0; ///< always explicit: the scheme's default when the URL names none

    bool tls() const noexcept { return scheme == "https"; }                    ///< https
    bool ipv6() const noexcept { return host.find(':') != std::string::npos; } ///< an IPv6 address
    /// The host as it stands in a URL or a `Host` header: IPv6 in brackets.
    std::string url_host() const { return ipv6() ? "[" + host + "]" : host; }
    /// The `Host` header's value: the port only where it is not the scheme's default.
    std::string authority() const { return port == (tls() ? 443 : 80) ? url_host() : host_port(); }
    /// `host:port`, the port always written: what `trusted_hosts` (and the CLI's `--trust-host`) take.
    std::string host_port() const { return url_host() + ":" + std::to_string(port); }
    /// `scheme://host:port`, the port always written (for messages).
    std::string to_string() const { return scheme + "://" + host_port(); }
    friend bool operator==(origin const&, origin const&) = default;  ///< same scheme, host and port
    friend auto operator<=>(origin const&, origin const&) = default; ///< any order: the pool's maps use it
};

namespace detail {

inline char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// True when `label` is a number to inet_aton and to the WHATWG URL parser (`127`, `0x7f`, `017`).
inline bool numeric_label(std::string_view label) {
    auto const all = [](std::string_view s, int (*pred)(int)) {
        return std::all_of(s.begin(), s.end(), [pred](char c) { return pred(static_cast<unsigned char>(c)) != 0; });
    };
    if (label.size() >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X'))
        return all(label.substr(2), std::isxdigit);
    return !label.empty() && all(label, std::isdigit);
}

/**
 * A DNS host name that every layer reads the same way: letters, digits, `-` and `.` only (no
 * percent-encoding, no NUL, nothing a resolver or certificate check could read differently), no
 * empty label, at most 253 characters, and a last label that is not a number (`127.1` and `0x7f.1`
 * are IPv4 addresses to getaddrinfo, not names).
 */
inline bool plain_host_name(std::string_view h) {
    if (h.empty() || h.size() > 253)
        return false;
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= h.size(); ++i) {
        if (i == h.size() || h[i] == '.') {
            auto const len = i - label_start;
            if (len == 0 || len > 63)
                return false;
            label_start = i + 1;
            continue;
        }
        char const c = h[i];
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
            return false;
    }
    auto const last = h.substr(h.rfind('.') == std::string_view::npos ? 0 : h.rfind('.') + 1);
    return !numeric_label(last);
}

/// After an authority a path starts with '/'. Boost.URL 1.81 reads `https://127.0.0.2.example/` as
/// host 127.0.0.2 with path `.example/`, where every other parser sees a DNS name: such a URL (or
/// `Location` reference) is refused, since its host would mean different things to different readers.
inline bool path_follows_authority(urls::url_view u) {
    return !u.has_authority() || u.encoded_path().empty() || u.encoded_path().starts_with('/');
}

} // namespace detail

/**
 * @brief The origin of an absolute http(s) URL; nullopt for anything this library will not connect to.
 *
 * Refused: other schemes, no host, port 0 or out of range, IPvFuture, an authority not followed by
 * `/`, and reg-name hosts that are not plain host names (see `detail::plain_host_name`):
 * `evil.example%2F.ocp.oraclecloud.com` or a
 * `%00` in the host never become an origin, so no policy ever judges them.
 */
inline std::optional<origin> origin_of(urls::url_view u) {
    auto const id = u.scheme_id();
    if (id != urls::scheme::http && id != urls::scheme::https)
        return std::nullopt;
    if (!detail::path_follows_authority(u))
        return std::nullopt;
    origin o;
    o.scheme = id == urls::scheme::https ? "https" : "http";
    switch (u.host_type()) {
    case urls::host_type::ipv4: o.host = u.host_ipv4_address().to_string(); break;
    case urls::host_type::ipv6: {
        boost::system::error_code ec; // canonical text, so that one address is one origin
        auto const a = boost::asio::ip::make_address_v6(u.host_ipv6_address().to_string(), ec);
        if (ec)
            return std::nullopt;
        o.host = a.to_string();
        break;
    }
    case urls::host_type::name:
        if (!detail::plain_host_name(u.encoded_host()))
            return std::nullopt;
        o.host = u.encoded_host();
        for (auto& c : o.host)
            c = detail::ascii_lower(c);
        break;
    default: return std::nullopt;
    }
    o.port = u.has_port() ? u.port_number() : (o.tls() ? 443 : 80);
    if (o.port == 0)
        return std::nullopt;
    return o;
}

/// `u` with its scheme, host and port replaced by `o` (set from the value, never parsed from text).
inline urls::url with_origin(urls::url_view u, origin const& o) {
    urls::url r(u);
    r.set_scheme(o.scheme);
    if (o.ipv6())
        r.set_host_ipv6(urls::ipv6_address(boost::asio::ip::make_address_v6(o.host).to_bytes()));
    else
        r.set_encoded_host(o.host);
    r.set_port_number(o.port);
    return r;
}

/**
 * True for hosts whose traffic never leaves the machine: 127.0.0.0/8 and ::1 as IP literals, and
 * the names `localhost` and `*.localhost`, which the pool then connects only to loopback addresses
 * (so the name that was judged and the address that is used agree).
 */
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

/// `s` as one path segment: percent-encoded, and `.` or `..` encoded too, so that no server reads it
/// as a step up the path.
inline std::string path_segment(std::string_view s) {
    if (s == "." || s == "..")
        return s.size() == 1 ? "%2E" : "%2E%2E";
    return percent_encode(s);
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
    urls::encode(key, urls::unreserved_chars, {}, urls::string_token::append_to(query)); // no temporary
    query += '=';
    urls::encode(value, urls::unreserved_chars, {}, urls::string_token::append_to(query));
}

/// The URL without userinfo and query, for error messages: never echoes what could be a secret.
inline std::string redacted(urls::url_view u) {
    std::string s; // scheme ":" ["//" host [":" port]] path, written once
    s.reserve(u.scheme().size() + 3 + u.encoded_host_and_port().size() + u.encoded_path().size());
    if (u.has_scheme())
        s.append(u.scheme()).append(":");
    if (u.has_authority())
        s.append("//").append(u.encoded_host_and_port());
    s.append(u.encoded_path());
    return s; // not `return s.append(...)`: a reference, copied
}

} // namespace oic::http
