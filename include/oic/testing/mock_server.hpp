#pragma once
/**
 * @file A mock of the three hosts an OIC client talks to, over real sockets and (by default) TLS:
 * an OCI identity domain token endpoint, the OIC design-time host serving the Developer API, and
 * the runtime host that redirects Developer API calls to the design-time host; plus a fourth,
 * "foreign" host that a client must not trust, which records whether credentials reached it.
 *
 * It is a test double: every behaviour follows `docs/oic-facts.md`, and the knobs tests need
 * (token revocation, token failures, token latency, a redirect table, design-time failures,
 * request counters) are public.
 */

#include <oic/testing/detail/connection_catalog.hpp>
#include <oic/testing/detail/http_server.hpp>
#include <oic/testing/test_ca.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/pct_string_view.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace oic::testing {

/// How a @ref mock_server is set up. Every field has a usable default.
struct mock_options {
    bool tls = true;                   ///< false: plain HTTP, and the URLs say `http://`.
    std::string address = "127.0.0.1"; ///< Where the token, design and runtime listeners bind (IP literal).
    unsigned short token_port = 0;     ///< 0: an ephemeral port.
    unsigned short design_port = 0;    ///< 0: an ephemeral port.
    unsigned short runtime_port = 0;   ///< 0: an ephemeral port.
    /// Where the foreign host binds (IPv4 or IPv6 literal): another address than `address`, so that
    /// it is another host to a client, not only another port. The test certificate names it too.
    std::string foreign_address = "127.0.0.2";
    unsigned short foreign_port = 0; ///< 0: an ephemeral port.
    std::string client_id = "oic-mock-client";
    /// Contains `!`, which RFC 6749 section 2.3.1 form-encoding changes before Basic encoding.
    std::string client_secret = "mock-secret-Zq7!x";
    /// The only scope the token endpoint grants.
    std::string scope =
        "https://mockinstance.integration.ocp.oraclecloud.com:443urn:opc:resource:consumer::all";
    /// The `integrationInstance` every design-time API call must carry.
    std::string integration_instance = "mockinstance-abc123-fr";
    /// How long issued tokens stay valid; `expires_in` is this, rounded up to whole seconds.
    std::chrono::milliseconds token_lifetime{3600000};
    std::size_t connections = 120;  ///< Size of the generated connection data set.
    unsigned redirect_status = 307; ///< What the runtime host answers API calls with (300..399).
    /// Directory for the CA file. Empty: a fresh directory under the system temp directory, removed
    /// again by the server's destructor. A given directory is created if needed and left in place.
    std::string ca_dir;
    /// How long a connection may sit idle before the server closes it; also bounds each read/write.
    std::chrono::milliseconds idle_timeout{30000};
};

/// A snapshot of what a @ref mock_server has seen since it started or since `reset_counters()`.
struct counters {
    std::uint64_t token_requests = 0;                ///< POSTs to the token endpoint.
    std::uint64_t tokens_issued = 0;                 ///< ...answered 200 with a token.
    std::uint64_t token_failures = 0;                ///< ...answered with an error (including injected ones).
    std::uint64_t design_api_requests = 0;           ///< Developer API calls on the design-time host.
    std::uint64_t runtime_api_requests = 0;          ///< `/ic/api/...` calls on the runtime host.
    /// Redirects sent: the runtime host's own, plus answers from the redirect table on any host.
    std::uint64_t redirects = 0;
    std::uint64_t unauthorized = 0;                  ///< Design-time calls refused with 401.
    std::uint64_t design_authorization_headers = 0;  ///< Design-time API calls carrying `Authorization`.
    std::uint64_t runtime_authorization_headers = 0; ///< Runtime API calls carrying `Authorization`.
    std::uint64_t connections_accepted = 0;          ///< TCP connections accepted, all listeners.
    std::uint64_t foreign_requests = 0;              ///< Requests the foreign host received, any path or method.
    std::uint64_t foreign_authorization_headers = 0; ///< ...carrying `Authorization`, whatever its value.

    friend bool operator==(counters const&, counters const&) = default;
};

/// `c` as a JSON object with the member names of @ref counters.
inline boost::json::object to_json(counters const& c) {
    return {
        {"token_requests", c.token_requests},
        {"tokens_issued", c.tokens_issued},
        {"token_failures", c.token_failures},
        {"design_api_requests", c.design_api_requests},
        {"runtime_api_requests", c.runtime_api_requests},
        {"redirects", c.redirects},
        {"unauthorized", c.unauthorized},
        {"design_authorization_headers", c.design_authorization_headers},
        {"runtime_authorization_headers", c.runtime_authorization_headers},
        {"connections_accepted", c.connections_accepted},
        {"foreign_requests", c.foreign_requests},
        {"foreign_authorization_headers", c.foreign_authorization_headers},
    };
}

namespace detail {

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
    int const n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
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
        fields.emplace_back(p.key.decode(urls::encoding_opts(true)),
                            p.value.decode(urls::encoding_opts(true)));
    }
    return fields;
}

/// The value of the only field `name`; nothing if absent. `duplicate` is set when it occurs twice.
inline std::optional<std::string> form_field(form_fields const& fields, std::string_view name,
                                             bool& duplicate) {
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

/// `scheme://host:port`, with IPv6 hosts in brackets.
inline std::string base_url(bool tls, asio::ip::address const& address, unsigned short port) {
    std::string const host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return (tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

/// Whether `path` is under `/ic/api/` (at least one segment after it), as the Developer API is.
inline bool is_developer_api_path(urls::segments_view path) {
    auto it = path.begin();
    for (std::string_view const expected : {"ic", "api"}) {
        if (it == path.end() || *it != expected)
            return false;
        ++it;
    }
    return it != path.end();
}

/// `text` with every occurrence of `pattern` (not empty) replaced by `replacement`.
inline std::string replace_all(std::string_view text, std::string_view pattern, std::string_view replacement) {
    std::string out;
    for (;;) {
        auto const at = text.find(pattern);
        out.append(text.substr(0, at));
        if (at == std::string_view::npos)
            return out;
        out.append(replacement);
        text.remove_prefix(at + pattern.size());
    }
}

/// An Oracle-style error `code` for an HTTP status: its reason phrase without spaces ("NotFound").
inline std::string status_code_name(unsigned status) {
    if (http::int_to_status(status) == http::status::unknown)
        return "Error";
    std::string name;
    for (char ch : http::obsolete_reason(http::int_to_status(status)))
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
            name.push_back(ch);
    return name;
}

/// A directory that is removed on destruction if this object created it.
class scratch_directory {
public:
    /// Uses `requested` (created if missing), or creates a fresh one under the temp directory if empty.
    explicit scratch_directory(std::string const& requested) {
        if (!requested.empty()) {
            path_ = requested;
            std::filesystem::create_directories(path_);
            return;
        }
        for (int attempt = 0;; ++attempt) {
            path_ = std::filesystem::temp_directory_path() / ("oic-mock-" + random_hex(8));
            if (std::filesystem::create_directory(path_))
                break;
            if (attempt == 10)
                throw std::runtime_error("oic::testing: cannot create a directory under " +
                                         std::filesystem::temp_directory_path().string());
        }
        owned_ = true;
    }

    ~scratch_directory() {
        if (owned_) {
            std::error_code ignored;
            std::filesystem::remove_all(path_, ignored);
        }
    }

    scratch_directory(scratch_directory const&) = delete;
    scratch_directory& operator=(scratch_directory const&) = delete;

    std::filesystem::path const& path() const { return path_; }

private:
    std::filesystem::path path_;
    bool owned_ = false;
};

} // namespace detail

/**
 * @brief Token endpoint, design-time host and runtime host of Oracle Integration, and a foreign host,
 * on local sockets.
 *
 * The constructor binds all four listeners and starts serving on a thread of its own, so tests in
 * the same process reach it over real sockets; `stop()` or the destructor stops and joins it.
 *
 * - Token host: `POST /oauth2/v1/token` (client credentials grant, client authentication by
 *   `Authorization: Basic` per RFC 6749 section 2.3.1 or by `client_id`/`client_secret` form fields).
 * - Design-time host: `GET /ic/api/integration/v1/connections[/{id}]` with a Bearer token from the
 *   token host and `integrationInstance`; the data set is `options().connections` generated items.
 * - Runtime host: every `/ic/api/...` request is redirected (`redirect_status`) to the same path and
 *   query on the design-time host. It never serves data.
 * - Foreign host (`foreign_address`, another host than the others): a host the client must not
 *   trust. It answers every `GET /ic/api/...` with 200 and an empty page
 *   (`{"items":[],"hasMore":false,"totalResults":0}`), so that a client that follows a redirect
 *   there succeeds, and counts every request it receives (`foreign_requests`) and those carrying an
 *   `Authorization` header (`foreign_authorization_headers`).
 * - All four: `GET /mock/counters` (no auth) answers @ref counters as JSON, and the redirect table
 *   (`add_redirect()`) is consulted before any route.
 *
 * TLS uses a fresh test CA (see @ref make_test_certificates); clients trust `ca_file()` or `ca_pem()`.
 *
 * @par Thread safety
 * The accessors and knobs (`get_counters`, `revoke_tokens`, `set_token_failure`, `add_redirect`, ...) may be called
 * from any thread while the server runs. `stop()` and destruction must not race with other calls.
 */
class mock_server {
public:
    /// Starts listening and serving. Throws if the options are invalid or a port cannot be bound.
    explicit mock_server(mock_options options = {})
        : options_(validated(std::move(options))), certificates_(make_test_certificates()),
          ca_dir_(options_.ca_dir) {
        options_.ca_dir = ca_dir_.path().string();
        write_ca_file();
        if (options_.tls)
            tls_.emplace(make_test_server_context(certificates_));

        ioc_.emplace(1);
        auto const address = detail::asio::ip::make_address(options_.address);
        auto const foreign_address = detail::asio::ip::make_address(options_.foreign_address);
        auto token = detail::bind_acceptor(*ioc_, {address, options_.token_port});
        auto design = detail::bind_acceptor(*ioc_, {address, options_.design_port});
        auto runtime = detail::bind_acceptor(*ioc_, {address, options_.runtime_port});
        auto foreign = detail::bind_acceptor(*ioc_, {foreign_address, options_.foreign_port});
        options_.token_port = token.local_endpoint().port();
        options_.design_port = design.local_endpoint().port();
        options_.runtime_port = runtime.local_endpoint().port();
        options_.foreign_port = foreign.local_endpoint().port();
        token_url_ = detail::base_url(options_.tls, address, options_.token_port) + "/oauth2/v1/token";
        design_url_ = detail::base_url(options_.tls, address, options_.design_port);
        runtime_url_ = detail::base_url(options_.tls, address, options_.runtime_port);
        foreign_url_ = detail::base_url(options_.tls, foreign_address, options_.foreign_port);
        catalog_.emplace(options_.connections, design_url_);

        set_up_token_listener();
        set_up_design_listener();
        set_up_runtime_listener();
        set_up_foreign_listener();
        start(std::move(token), token_listener_, host::token);
        start(std::move(design), design_listener_, host::design);
        start(std::move(runtime), runtime_listener_, host::runtime);
        start(std::move(foreign), foreign_listener_, host::foreign);
        thread_ = std::thread([this] { run(); });
    }

    /// Stops serving; see `stop()`.
    ~mock_server() { stop(); }

    mock_server(mock_server const&) = delete;
    mock_server& operator=(mock_server const&) = delete;

    /// Stops serving: closes every connection, drops pending requests and joins the thread. Idempotent.
    void stop() {
        if (!thread_.joinable())
            return;
        ioc_->stop();
        thread_.join();
        // Destroys the acceptors, connections and pending handlers while the listeners still exist.
        ioc_.reset();
    }

    /// The token endpoint, e.g. `https://127.0.0.1:40123/oauth2/v1/token`.
    std::string token_url() const { return token_url_; }
    /// The design-time host, e.g. `https://127.0.0.1:40124` (no trailing slash).
    std::string design_url() const { return design_url_; }
    /// The runtime host, e.g. `https://127.0.0.1:40125` (no trailing slash).
    std::string runtime_url() const { return runtime_url_; }
    /// The foreign host, e.g. `https://127.0.0.2:40126` (no trailing slash).
    std::string foreign_url() const { return foreign_url_; }
    /// Path of a PEM file holding the test CA certificate.
    std::string ca_file() const { return ca_file_; }
    /// The test CA certificate, PEM.
    std::string const& ca_pem() const { return certificates_.ca_pem; }
    /// The options in effect: ports are the bound ones and `ca_dir` the directory actually used.
    mock_options const& options() const { return options_; }

    counters get_counters() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }

    void reset_counters() {
        std::lock_guard lock(mutex_);
        stats_ = counters{};
    }

    /// Forgets every issued token: API calls presenting them get 401 from now on.
    void revoke_tokens() {
        std::lock_guard lock(mutex_);
        tokens_.clear();
    }

    /**
     * Makes the token endpoint answer every request with `status` and an RFC 6749 error body
     * (`temporarily_unavailable`); 0 restores normal behaviour.
     * @throws std::invalid_argument unless `status` is 0 or 400..599.
     */
    void set_token_failure(unsigned status) {
        if (status != 0 && (status < 400 || status > 599))
            throw std::invalid_argument("oic::testing::mock_server: token failure status must be 4xx or 5xx");
        std::lock_guard lock(mutex_);
        token_failure_ = status;
    }

    /// Makes the token endpoint wait `latency` (on a timer) before answering, so concurrent callers pile up.
    void set_token_latency(std::chrono::milliseconds latency) {
        std::lock_guard lock(mutex_);
        token_latency_ = latency;
    }

    /// Makes every design-time list call wait `latency` (on a timer) before answering, after its token
    /// check: a slow server that keeps calls in flight.
    void set_design_latency(std::chrono::milliseconds latency) {
        std::lock_guard lock(mutex_);
        design_latency_ = latency;
    }

    /**
     * Adds a redirect-table entry, replacing any for the same `path`. On every host, before any route
     * and before any authentication check, a request (any method) whose path equals `path` exactly
     * (compared as sent, percent-encoding included, without the query) is answered `status` with
     * `Location: location` and an empty body. Every `{query}` in `location` is replaced by the
     * request's raw query string (without `?`; empty when there is none), so that
     * `".../connections?{query}"` keeps `integrationInstance`. An empty `location` sends no `Location`
     * header at all. `location` is sent as given: absolute, relative or malformed.
     *
     * The answer counts in `redirects`. The request still counts as received by its host: on the
     * runtime host (`/ic/api/...`) in `runtime_api_requests` and `runtime_authorization_headers`, on
     * the design-time host (`/ic/api/...`) in `design_api_requests` and
     * `design_authorization_headers`, on the token host (`POST /oauth2/v1/token`) in
     * `token_requests`, and on the foreign host in its counters as every request does.
     * @throws std::invalid_argument unless `path` starts with `/` and has no `?` or `#`, `status` is
     *         300..399 and `location` has no CR, LF or NUL.
     */
    void add_redirect(std::string path, unsigned status, std::string location) {
        if (!path.starts_with('/') || path.find_first_of("?#") != std::string::npos)
            throw std::invalid_argument("oic::testing::mock_server: a redirect path must start with '/' and "
                                        "have no query or fragment, not '" + path + "'");
        if (status < 300 || status > 399)
            throw std::invalid_argument("oic::testing::mock_server: a redirect status must be 3xx, not " +
                                        std::to_string(status));
        if (location.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            throw std::invalid_argument("oic::testing::mock_server: a redirect Location must not contain "
                                        "CR, LF or NUL");
        std::lock_guard lock(mutex_);
        redirects_[std::move(path)] = redirect_entry{status, std::move(location)};
    }

    /// Removes every redirect-table entry.
    void clear_redirects() {
        std::lock_guard lock(mutex_);
        redirects_.clear();
    }

    /**
     * Makes the next `count` design-time Developer API calls that pass the token check answer `status`
     * with an Oracle-style body (`{"code":"MisdirectedRequest","message":...}` for 421) instead of
     * their result. They count in `design_api_requests` as usual. `count` 0 cancels what is left of
     * an earlier call (`status` is then ignored).
     * @throws std::invalid_argument if `count` is negative, or positive with `status` outside 400..599.
     */
    void set_design_failure(unsigned status, int count) {
        if (count < 0)
            throw std::invalid_argument("oic::testing::mock_server: design failure count must not be negative");
        if (count > 0 && (status < 400 || status > 599))
            throw std::invalid_argument("oic::testing::mock_server: design failure status must be 4xx or 5xx");
        std::lock_guard lock(mutex_);
        design_failure_status_ = status;
        design_failures_left_ = count;
    }

    /// One line of JSON with everything a client or script needs to talk to this server.
    std::string ready_json() const {
        return boost::json::serialize(boost::json::object{
            {"token_url", token_url_},
            {"design_url", design_url_},
            {"runtime_url", runtime_url_},
            {"foreign_url", foreign_url_},
            {"ca_file", ca_file_},
            {"client_id", options_.client_id},
            {"client_secret", options_.client_secret},
            {"scope", options_.scope},
            {"integration_instance", options_.integration_instance},
            {"counters_url", design_url_ + "/mock/counters"},
        });
    }

private:
    using http_request = detail::http_request;
    using http_response = detail::http_response;
    using route_context = detail::route_context;
    template <class T> using awaitable = detail::asio::awaitable<T>;

    /// Which of the four listeners.
    enum class host { token, design, runtime, foreign };

    /// What `add_redirect` stores.
    struct redirect_entry {
        unsigned status = 307;
        std::string location; ///< Empty: no `Location` header.
    };

    static mock_options validated(mock_options options) {
        if (options.redirect_status < 300 || options.redirect_status > 399)
            throw std::invalid_argument("oic::testing::mock_server: redirect_status must be 3xx, not " +
                                        std::to_string(options.redirect_status));
        return options;
    }

    void write_ca_file() {
        ca_file_ = (ca_dir_.path() / "oic-mock-ca.pem").string();
        std::ofstream out(ca_file_, std::ios::binary | std::ios::trunc);
        out << certificates_.ca_pem;
        out.close();
        if (!out)
            throw std::runtime_error("oic::testing::mock_server: cannot write " + ca_file_);
    }

    void start(detail::tcp::acceptor acceptor, detail::listener& l, host h) {
        l.tls = tls_ ? &*tls_ : nullptr;
        l.idle_timeout = options_.idle_timeout;
        l.on_accept = [this] {
            std::lock_guard lock(mutex_);
            ++stats_.connections_accepted;
        };
        l.intercept = [this, h](http_request const& req, detail::urls::url_view target) {
            return answer_from_redirect_table(h, req, target);
        };
        l.routes.add(detail::http::verb::get, "/mock/counters",
                     [this](route_context const& c) { return handle_counters(c); });
        detail::asio::co_spawn(*ioc_, detail::accept_loop(std::move(acceptor), l),
                               detail::ignore_exception{});
    }

    void run() {
        for (;;) {
            try {
                ioc_->run();
                return;
            } catch (...) {
                // Handlers don't throw by design; if one ever does, keep serving the others.
            }
        }
    }

    // Routes. To add a host, add a listener member, give it routes in a set_up_* function, and bind
    // and start it in the constructor.

    void set_up_token_listener() {
        token_listener_.name = "token";
        token_listener_.routes.add(detail::http::verb::post, "/oauth2/v1/token",
                                   [this](route_context const& c) { return handle_token(c); });
    }

    void set_up_design_listener() {
        design_listener_.name = "design";
        design_listener_.routes
            .add(detail::http::verb::get, "/ic/api/integration/v1/connections",
                 [this](route_context const& c) { return handle_list_connections(c); })
            .add(detail::http::verb::get, "/ic/api/integration/v1/connections/{id}",
                 [this](route_context const& c) { return handle_get_connection(c); });
    }

    void set_up_runtime_listener() {
        runtime_listener_.name = "runtime";
        runtime_listener_.routes.add_any_method(
            "/ic/api/*", [this](route_context const& c) { return handle_runtime_api(c); });
    }

    void set_up_foreign_listener() {
        foreign_listener_.name = "foreign";
        // Every request counts, whatever answers it (route, redirect table, 404 or 400).
        foreign_listener_.on_request = [this](http_request const& req) { record_foreign_request(req); };
        foreign_listener_.routes.add(detail::http::verb::get, "/ic/api/*",
                                     [this](route_context const& c) { return handle_foreign_api(c); });
    }

    // Token host.

    awaitable<http_response> handle_token(route_context const& ctx) {
        std::chrono::milliseconds latency;
        {
            std::lock_guard lock(mutex_);
            ++stats_.token_requests;
            latency = token_latency_;
        }
        if (latency.count() > 0) {
            detail::asio::steady_timer timer(co_await detail::asio::this_coro::executor, latency);
            co_await timer.async_wait(detail::asio::as_tuple(detail::asio::use_awaitable));
        }
        http_response res = answer_token_request(ctx.request);
        {
            std::lock_guard lock(mutex_);
            ++(res.result_int() == 200 ? stats_.tokens_issued : stats_.token_failures);
        }
        res.set(detail::http::field::cache_control, "no-store");
        res.set(detail::http::field::pragma, "no-cache");
        co_return res;
    }

    static http_response oauth_error(unsigned status, std::string_view error, std::string_view description) {
        http_response res = detail::json_response(
            status, boost::json::object{{"error", error}, {"error_description", description}});
        if (status == 401)
            res.set(detail::http::field::www_authenticate, "Basic realm=\"oic-mock\"");
        return res;
    }

    http_response answer_token_request(http_request const& req) {
        if (unsigned const failure = injected_token_failure(); failure != 0)
            return oauth_error(failure, "temporarily_unavailable",
                               "The mock server was told to fail token requests with HTTP " +
                                   std::to_string(failure) + ".");

        auto const content_type = req[detail::http::field::content_type];
        if (!detail::istarts_with(content_type, "application/x-www-form-urlencoded"))
            return oauth_error(400, "invalid_request",
                               "Content-Type must be application/x-www-form-urlencoded.");
        auto const form = detail::parse_form(req.body());
        if (!form)
            return oauth_error(400, "invalid_request",
                               "The body is not valid application/x-www-form-urlencoded.");
        bool duplicate = false;
        auto const grant_type = detail::form_field(*form, "grant_type", duplicate);
        auto const scope = detail::form_field(*form, "scope", duplicate);
        auto const body_id = detail::form_field(*form, "client_id", duplicate);
        auto const body_secret = detail::form_field(*form, "client_secret", duplicate);
        if (duplicate)
            return oauth_error(400, "invalid_request", "A parameter appears more than once.");

        // Client authentication: exactly one of client_secret_basic and client_secret_post.
        std::string id, secret;
        if (auto const it = req.find(detail::http::field::authorization); it != req.end()) {
            auto credentials = detail::basic_client_credentials(it->value());
            if (!credentials)
                return oauth_error(
                    401, "invalid_client",
                    "The Authorization header is not Basic with form-encoded client credentials.");
            if (body_secret)
                return oauth_error(400, "invalid_request",
                                   "The client authenticated with more than one method.");
            std::tie(id, secret) = std::move(*credentials);
        } else if (body_id) {
            id = *body_id;
            secret = body_secret.value_or("");
        } else {
            return oauth_error(401, "invalid_client", "Client authentication is required.");
        }
        if (id != options_.client_id || secret != options_.client_secret)
            return oauth_error(401, "invalid_client", "Client authentication failed.");

        if (!grant_type)
            return oauth_error(400, "invalid_request", "grant_type is required.");
        if (*grant_type != "client_credentials")
            return oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.");
        if (scope != options_.scope)
            return oauth_error(400, "invalid_scope",
                               "The requested scope is invalid, unknown, or malformed.");

        return issue_token();
    }

    unsigned injected_token_failure() const {
        std::lock_guard lock(mutex_);
        return token_failure_;
    }

    http_response issue_token() {
        std::string token = detail::random_hex(32);
        auto const now = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(mutex_);
            if (tokens_.size() >= 1024)
                std::erase_if(tokens_, [now](auto const& entry) { return entry.second <= now; });
            tokens_[token] = now + options_.token_lifetime;
        }
        std::int64_t const lifetime_ms = std::max<std::int64_t>(options_.token_lifetime.count(), 0);
        return detail::json_response(200, boost::json::object{
                                              {"access_token", std::move(token)},
                                              {"token_type", "Bearer"},
                                              {"expires_in", (lifetime_ms + 999) / 1000},
                                          });
    }

    // Design-time host.

    /// Counts a Developer API call and checks its token and instance; returns the refusal, if any.
    std::optional<http_response> admit_design_request(route_context const& ctx) {
        auto const authorization = ctx.request.find(detail::http::field::authorization);
        bool const has_authorization = authorization != ctx.request.end();
        std::optional<std::string_view> const token =
            has_authorization ? detail::auth_credentials(authorization->value(), "Bearer") : std::nullopt;
        bool authorized = false;
        unsigned injected_failure = 0;
        {
            std::lock_guard lock(mutex_);
            ++stats_.design_api_requests;
            if (has_authorization)
                ++stats_.design_authorization_headers;
            if (token) {
                auto const it = tokens_.find(std::string(*token));
                authorized = it != tokens_.end() && std::chrono::steady_clock::now() < it->second;
            }
            if (!authorized) {
                ++stats_.unauthorized;
            } else if (design_failures_left_ > 0) {
                --design_failures_left_;
                injected_failure = design_failure_status_;
            }
        }
        if (!authorized) {
            http_response res = detail::error_response(
                401, "NotAuthenticated",
                "The required information to complete authentication was not provided or was incorrect.");
            res.set(detail::http::field::www_authenticate,
                    token ? "Bearer error=\"invalid_token\"" : "Bearer");
            return res;
        }
        if (injected_failure != 0)
            return detail::error_response(injected_failure, detail::status_code_name(injected_failure),
                                          "The mock server was told to fail this request with HTTP " +
                                              std::to_string(injected_failure) + ".");

        auto const instance = detail::query_value(query_params(ctx), "integrationInstance");
        if (!instance)
            return detail::error_response(400, "BadRequest",
                                          "integrationInstance query parameter is required.");
        if (*instance != options_.integration_instance)
            return detail::error_response(400, "BadRequest",
                                          "integrationInstance '" + *instance + "' is not this instance ('" +
                                              options_.integration_instance + "').");
        return std::nullopt;
    }

    /// The decoded query parameters; `+` decodes to a space, as servlet containers do.
    static detail::urls::params_view query_params(route_context const& ctx) {
        return ctx.target.params(detail::urls::encoding_opts(true));
    }

    awaitable<http_response> handle_list_connections(route_context const& ctx) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        std::chrono::milliseconds latency;
        {
            std::lock_guard lock(mutex_);
            latency = design_latency_;
        }
        if (latency.count() > 0) {
            detail::asio::steady_timer timer(co_await detail::asio::this_coro::executor, latency);
            co_await timer.async_wait(detail::asio::as_tuple(detail::asio::use_awaitable));
        }
        auto request = detail::parse_list_request(query_params(ctx));
        if (auto const* error = std::get_if<detail::query_error>(&request))
            co_return detail::error_response(400, "BadRequest", error->message);
        co_return detail::json_response(200, catalog_->list(std::get<detail::list_request>(request)));
    }

    awaitable<http_response> handle_get_connection(route_context const& ctx) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        std::string_view const id = ctx.params["id"];
        if (auto const* connection = catalog_->find(id))
            co_return detail::json_response(200, connection->json);
        co_return detail::error_response(404, "NotFound",
                                         "Connection '" + std::string(id) + "' was not found.");
    }

    // Runtime host.

    awaitable<http_response> handle_runtime_api(route_context const& ctx) {
        {
            std::lock_guard lock(mutex_);
            ++stats_.runtime_api_requests;
            ++stats_.redirects;
            if (ctx.request.find(detail::http::field::authorization) != ctx.request.end())
                ++stats_.runtime_authorization_headers;
        }
        http_response res = detail::make_response(options_.redirect_status);
        res.set(detail::http::field::location, design_url_ + std::string(ctx.request.target()));
        co_return res;
    }

    // Foreign host.

    void record_foreign_request(http_request const& req) {
        std::lock_guard lock(mutex_);
        ++stats_.foreign_requests;
        if (req.find(detail::http::field::authorization) != req.end())
            ++stats_.foreign_authorization_headers;
    }

    awaitable<http_response> handle_foreign_api(route_context const&) {
        co_return detail::json_response(200, boost::json::object{
                                                 {"items", boost::json::array{}},
                                                 {"hasMore", false},
                                                 {"totalResults", 0},
                                             });
    }

    // Every host.

    awaitable<http_response> handle_counters(route_context const&) {
        co_return detail::json_response(200, to_json(get_counters()));
    }

    /// The redirect table's answer to `req` on host `h`, or nothing when no entry has its path.
    std::optional<http_response> answer_from_redirect_table(host h, http_request const& req,
                                                           detail::urls::url_view target) {
        redirect_entry entry;
        {
            std::lock_guard lock(mutex_);
            if (redirects_.empty())
                return std::nullopt;
            auto const it = redirects_.find(std::string(target.encoded_path()));
            if (it == redirects_.end())
                return std::nullopt;
            entry = it->second;

            // The host received the request even though its routes never see it.
            bool const has_authorization = req.find(detail::http::field::authorization) != req.end();
            bool const api = detail::is_developer_api_path(target.segments());
            ++stats_.redirects;
            switch (h) {
            case host::token:
                if (req.method() == detail::http::verb::post && std::string_view(target.encoded_path()) == "/oauth2/v1/token")
                    ++stats_.token_requests;
                break;
            case host::design:
                if (api) {
                    ++stats_.design_api_requests;
                    if (has_authorization)
                        ++stats_.design_authorization_headers;
                }
                break;
            case host::runtime:
                if (api) {
                    ++stats_.runtime_api_requests;
                    if (has_authorization)
                        ++stats_.runtime_authorization_headers;
                }
                break;
            case host::foreign:
                break; // record_foreign_request() counted it already
            }
        }
        http_response res = detail::make_response(entry.status);
        if (!entry.location.empty())
            res.set(detail::http::field::location,
                    detail::replace_all(entry.location, "{query}", std::string_view(target.encoded_query())));
        return res;
    }

    // Fixed after construction; the server thread reads them without locking.
    mock_options options_;
    test_certificates certificates_;
    detail::scratch_directory ca_dir_;
    std::string ca_file_;
    std::string token_url_, design_url_, runtime_url_, foreign_url_;
    std::optional<detail::connection_catalog> catalog_;
    std::optional<detail::asio::ssl::context> tls_;
    detail::listener token_listener_, design_listener_, runtime_listener_, foreign_listener_;

    // Shared between the server thread and callers.
    mutable std::mutex mutex_;
    counters stats_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> tokens_;
    unsigned token_failure_ = 0;
    std::chrono::milliseconds token_latency_{0};
    std::chrono::milliseconds design_latency_{0};
    std::unordered_map<std::string, redirect_entry> redirects_;
    unsigned design_failure_status_ = 0;
    int design_failures_left_ = 0;

    // Last, so that stop() can destroy it while everything above is alive.
    std::optional<detail::asio::io_context> ioc_;
    std::thread thread_;
};

} // namespace oic::testing
