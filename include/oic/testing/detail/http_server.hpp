#pragma once
/**
 * @file The HTTP/1.1 plumbing of the mock server: a router and an accept/serve loop over plain TCP
 * or TLS. It knows nothing of OAuth or OIC; `mock_server.hpp` plugs its routes into it.
 *
 * Everything here runs on one io_context thread. A listener is a router plus a TLS context (or none),
 * and optionally an interceptor that may answer a request before the routes see it; adding a host to
 * the mock is one more listener with its own routes, bound with
 * @ref oic::testing::detail::bind_acceptor and started with @ref oic::testing::detail::accept_loop.
 */

#include <oic/testing/detail/faults.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/segments_view.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/evp.h>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oic::testing::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace urls = boost::urls;
using tcp = boost::asio::ip::tcp;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// Largest request body any mock listener reads; larger ones get 413.
inline constexpr std::size_t max_request_body = 1024 * 1024;

/// A response with `status`, the mock's `Server` header and no body.
inline http_response make_response(unsigned status) {
    http_response res;
    res.version(11);
    res.result(status);
    res.set(http::field::server, "oic-mock");
    return res;
}

/// A response with `status` and `body` serialized as `application/json`.
inline http_response json_response(unsigned status, json::value const& body) {
    http_response res = make_response(status);
    res.set(http::field::content_type, "application/json");
    res.body() = json::serialize(body);
    return res;
}

/// An Oracle-style error answer: `{"code": code, "message": message}`.
inline http_response error_response(unsigned status, std::string_view code, std::string_view message) {
    return json_response(status, json::object{{"code", code}, {"message", message}});
}

/// SHA-256 of `bytes` as lowercase hex.
inline std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("oic::testing: SHA-256 failed");
    std::string hex;
    for (unsigned i = 0; i < n; ++i) {
        constexpr char digits[] = "0123456789abcdef";
        hex += digits[digest[i] >> 4];
        hex += digits[digest[i] & 15];
    }
    return hex;
}

/// Path segments captured by `{name}` placeholders of a route pattern, percent-decoded.
class route_params {
public:
    void add(std::string name, std::string value) { values_.emplace_back(std::move(name), std::move(value)); }

    /// The captured value, or an empty view when the pattern has no placeholder `name`.
    std::string_view operator[](std::string_view name) const {
        for (auto const& [key, value] : values_)
            if (key == name)
                return value;
        return {};
    }

private:
    std::vector<std::pair<std::string, std::string>> values_;
};

/// What a route handler gets. Valid until the handler's awaitable completes.
struct route_context {
    http_request const& request;
    urls::url_view target; ///< The parsed origin-form request target (path and query).
    route_params params;
};

/**
 * A route handler. It is called and awaited on the server thread; the `route_context` reference
 * stays valid until the returned awaitable completes. Exceptions it throws become a 500 answer.
 *
 * Write handlers as member coroutines and register them through a small non-coroutine lambda
 * (`[this](route_context const& c) { return handle_x(c); }`): a coroutine lambda with captures
 * would read its captures from the lambda object, which the caller does not keep alive.
 */
using route_handler = std::function<asio::awaitable<http_response>(route_context const&)>;

/**
 * Maps (method, path) to handlers. Patterns are absolute paths whose segments are literals,
 * `{name}` (captures exactly one segment) or, as the last segment only, `*` (one or more segments).
 * The first route matching both method and path wins; a path that only matches with other methods
 * gets 405 with `Allow`, anything else 404.
 */
class router {
public:
    /// Adds a route for one method.
    router& add(http::verb method, std::string_view pattern, route_handler handler) {
        routes_.push_back(route{method, split_pattern(pattern), std::move(handler)});
        return *this;
    }

    /// Adds a route for every method.
    router& add_any_method(std::string_view pattern, route_handler handler) {
        routes_.push_back(route{std::nullopt, split_pattern(pattern), std::move(handler)});
        return *this;
    }

    struct match_result {
        route_handler const* handler = nullptr; ///< Null when nothing matched.
        route_params params;
        std::vector<http::verb> allowed; ///< Methods that would match this path, when `handler` is null.
    };

    match_result match(http::verb method, urls::segments_view path) const {
        match_result result;
        for (route const& r : routes_) {
            route_params params;
            if (!match_path(r.segments, path, params))
                continue;
            if (!r.method || *r.method == method) {
                result.handler = &r.handler;
                result.params = std::move(params);
                return result;
            }
            result.allowed.push_back(*r.method);
        }
        return result;
    }

private:
    struct route {
        std::optional<http::verb> method; ///< Empty: any method.
        std::vector<std::string> segments;
        route_handler handler;
    };

    static std::vector<std::string> split_pattern(std::string_view pattern) {
        std::vector<std::string> segments;
        if (pattern.starts_with('/'))
            pattern.remove_prefix(1);
        while (!pattern.empty()) {
            auto const slash = pattern.find('/');
            segments.emplace_back(pattern.substr(0, slash));
            pattern = slash == std::string_view::npos ? std::string_view{} : pattern.substr(slash + 1);
        }
        return segments;
    }

    static bool is_placeholder(std::string_view segment) {
        return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
    }

    static bool match_path(std::vector<std::string> const& pattern, urls::segments_view path, route_params& params) {
        auto it = path.begin();
        for (std::string const& expected : pattern) {
            if (expected == "*")
                return it != path.end();
            if (it == path.end())
                return false;
            std::string segment = *it++;
            if (is_placeholder(expected))
                params.add(expected.substr(1, expected.size() - 2), std::move(segment));
            else if (segment != expected)
                return false;
        }
        return it == path.end();
    }

    std::vector<route> routes_;
};

/**
 * Looks at a request (with its parsed origin-form target) before any route does, and either answers
 * it or returns nothing to let the routes answer. Called on the server thread; exceptions it throws
 * become a 500 answer.
 */
using request_interceptor = std::function<std::optional<http_response>(http_request const&, urls::url_view)>;

/// One listening host of the mock: its routes and how it speaks.
struct listener {
    std::string name;                              ///< For diagnostics: "token", "design", "runtime", ...
    router routes;                                 ///< What it serves.
    asio::ssl::context* tls = nullptr;             ///< TLS context, or null for plain HTTP.
    std::chrono::milliseconds idle_timeout{30000}; ///< Longest wait for a request (and for each I/O).
    std::function<void()> on_accept;               ///< Called on the server thread for every accepted connection.
    /// Called on the server thread for every request read in full, before it is dispatched (even one
    /// whose target is malformed). Must not throw.
    std::function<void(http_request const&)> on_request;
    request_interceptor intercept; ///< Consulted before `routes`, when set.
    /// The fault to inject into the answer to a request (by its path), when set. Must not throw.
    std::function<std::optional<fault>(std::string_view path)> pick_fault;
};

/**
 * Answers `req`: with `intercept`'s answer if it gives one, otherwise through `routes`.
 * Never throws: failures become 4xx/5xx answers.
 */
inline asio::awaitable<http_response> dispatch(router const& routes, http_request const& req,
                                               request_interceptor const& intercept = {}) {
    try {
        auto const target = urls::parse_origin_form(req.target());
        if (!target)
            co_return error_response(400, "BadRequest", "The request target is not an origin-form URI.");
        if (intercept) {
            if (auto answer = intercept(req, *target))
                co_return std::move(*answer);
        }
        auto match = routes.match(req.method(), target->segments());
        if (!match.handler) {
            if (match.allowed.empty())
                co_return error_response(404, "NotFound",
                                         "No resource at " + std::string(target->encoded_path()) + ".");
            http_response res =
                error_response(405, "MethodNotAllowed", std::string(req.method_string()) + " is not allowed here.");
            std::string allow;
            for (http::verb v : match.allowed)
                allow.append(allow.empty() ? "" : ", ").append(http::to_string(v));
            res.set(http::field::allow, allow);
            co_return res;
        }
        route_context const ctx{req, *target, std::move(match.params)};
        co_return co_await (*match.handler)(ctx);
    } catch (std::exception const& e) {
        co_return error_response(500, "InternalServerError", e.what());
    } catch (...) {
        co_return error_response(500, "InternalServerError", "unknown exception");
    }
}

/// The answer to a request that could not be read, or nothing when the connection should just close.
inline std::optional<http_response> answer_read_error(beast::error_code const& ec) {
    if (ec.category() != http::make_error_code(http::error::end_of_stream).category())
        return std::nullopt; // socket, TLS or timeout error: nobody to answer
    switch (static_cast<http::error>(ec.value())) {
    case http::error::end_of_stream:   // closed between requests
    case http::error::partial_message: // closed in the middle of one
        return std::nullopt;
    case http::error::body_limit: return error_response(413, "PayloadTooLarge", "The request body exceeds 1 MiB.");
    case http::error::header_limit:
        return error_response(431, "RequestHeaderFieldsTooLarge", "The request header is too large.");
    default: return error_response(400, "BadRequest", "Malformed HTTP request: " + ec.message() + ".");
    }
}

/// How a connection's request loop ended.
enum class session_end {
    abandoned,     ///< The peer left, or an I/O error or timeout: just close.
    server_closing ///< We answered with `Connection: close`: shut the connection down politely.
};

/**
 * Serves HTTP/1.1 requests on `stream` until the peer closes, asks to close, misbehaves or idles
 * for longer than the listener's `idle_timeout`. Requests on one connection are answered in order.
 */
template <class Stream>
asio::awaitable<session_end> serve_requests(Stream& stream, listener const& l) {
    auto const use_ec = [](beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); };
    beast::flat_buffer buffer;
    for (;;) {
        beast::error_code ec;
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_request_body);

        beast::get_lowest_layer(stream).expires_after(l.idle_timeout);
        co_await http::async_read_header(stream, buffer, parser, use_ec(ec));
        if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
            // Clients such as curl otherwise wait a second before sending larger bodies.
            http::response<http::empty_body> proceed{http::status::continue_, 11};
            co_await http::async_write(stream, proceed, use_ec(ec));
        }
        if (!ec && !parser.is_done())
            co_await http::async_read(stream, buffer, parser, use_ec(ec));

        std::optional<http_response> res;
        std::optional<fault> injected;
        bool keep_alive = false;
        if (ec) {
            res = answer_read_error(ec);
            if (!res)
                co_return session_end::abandoned;
        } else {
            http_request const req = parser.release();
            if (l.on_request)
                l.on_request(req);
            if (l.pick_fault)
                injected = l.pick_fault(std::string_view(req.target()).substr(0, req.target().find('?')));
            if (injected && injected->kind == fault_kind::delay) {
                asio::steady_timer pause(co_await asio::this_coro::executor, injected->delay);
                co_await pause.async_wait(use_ec(ec));
            }
            res = co_await dispatch(l.routes, req, l.intercept);
            if (injected && !is_written_fault(injected->kind))
                spoil(*res, *injected); // handled and counted as usual; only the answer changes
            keep_alive = req.keep_alive();
        }

        res->keep_alive(keep_alive && res->keep_alive());
        res->prepare_payload();
        beast::get_lowest_layer(stream).expires_after(l.idle_timeout);
        if (injected && is_written_fault(injected->kind)) {
            switch (co_await write_faulty(stream, *res, *injected)) {
            case fault_end::keep: break;
            case fault_end::close: co_return session_end::server_closing;
            case fault_end::reset: co_return session_end::abandoned;
            }
            if (!res->keep_alive())
                co_return session_end::server_closing;
            continue;
        }
        co_await http::async_write(stream, *res, use_ec(ec));
        if (ec)
            co_return session_end::abandoned;
        if (!res->keep_alive())
            co_return session_end::server_closing;
    }
}

/// Serves one accepted connection: TLS handshake when the listener has TLS, requests, shutdown.
inline asio::awaitable<void> serve_connection(tcp::socket socket, listener const& l) {
    beast::error_code ec;
    beast::tcp_stream tcp(std::move(socket));
    if (!l.tls) {
        if (co_await serve_requests(tcp, l) == session_end::server_closing)
            tcp.socket().shutdown(tcp::socket::shutdown_send, ec);
        co_return;
    }

    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *l.tls);
    stream.next_layer().expires_after(l.idle_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
        co_return;
    if (co_await serve_requests(stream, l) == session_end::server_closing) {
        // Send close_notify, but don't wait long for the peer's.
        stream.next_layer().expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    }
}

/// Completion handler for detached server coroutines: a connection's failure is not the server's.
struct ignore_exception {
    void operator()(std::exception_ptr const&) const noexcept {}
};

/// Opens, binds and starts listening on `endpoint` (port 0: ephemeral). Throws on failure.
inline tcp::acceptor bind_acceptor(asio::io_context& ioc, tcp::endpoint const& endpoint) {
    tcp::acceptor acceptor(ioc);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor;
}

/// Accepts connections on `acceptor` and serves each with `l` until the acceptor is closed.
/// `l` must outlive the io_context's work.
inline asio::awaitable<void> accept_loop(tcp::acceptor acceptor, listener const& l) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor.is_open())
            co_return;
        if (ec) {
            // Out of descriptors or similar: back off instead of spinning.
            asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        if (l.on_accept)
            l.on_accept();
        asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), l), ignore_exception{});
    }
}

} // namespace oic::testing::detail
