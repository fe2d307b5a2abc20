#pragma once
/**
 * @file The HTTP/1.1 plumbing of the mock server: a router and an accept/serve loop over plain TCP
 * or TLS. It knows nothing of OAuth or OIC; `mock_server.hpp` plugs its routes into it.
 *
 * Everything here runs on one io_context thread. A listener is a router plus a TLS context (or none),
 * and optionally an interceptor that may answer a request before the routes see it; adding a host to
 * the mock is one more listener with its own routes, bound with
 * @ref oic::testing::detail::bind_acceptor and started with @ref oic::testing::detail::accept_loop.
 *
 * Request bodies: ordinary routes get theirs whole, at most 1 MiB; streamed routes (uploads) get a
 * `multipart/form-data` body read piece by piece and never held (see `multipart_reader.hpp`). What
 * can be answered on the header alone (the interceptor, a missing route, an upload's admission, a
 * body too large) is answered before the body is read: see `serve_requests`.
 */

#include <oic/testing/detail/faults.hpp>
#include <oic/testing/detail/multipart_reader.hpp>

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
#include <boost/beast/http/buffer_body.hpp>
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

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
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
    http_request const& request; ///< For a streamed route: the header, with an empty body.
    urls::url_view target;       ///< The parsed origin-form request target (path and query).
    route_params params;
    /// For a streamed route, the form its body held (read in full and accepted); null otherwise.
    multipart_upload const* upload = nullptr;
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
 * Looks at a streamed route's request on its header alone (`upload` is null), before its body is
 * read: the answer that refuses it, or nothing to go on. Called on the server thread; exceptions it
 * throws become a 500 answer.
 */
using route_admission = std::function<std::optional<http_response>(route_context const&)>;

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

    /**
     * Adds a streamed route for one method: an upload whose `multipart/form-data` body is read as
     * it arrives and never held. `admit` sees the header before any byte of the body is read (a
     * refusal is sent at once); `handler` gets the form (`route_context::upload`) once the whole
     * body was read and accepted. A body the multipart reader refuses gets 400 without the handler.
     */
    router& add_streamed(http::verb method, std::string_view pattern, route_admission admit, route_handler handler) {
        routes_.push_back(route{method, split_pattern(pattern), std::move(handler), std::move(admit), true});
        return *this;
    }

    struct match_result {
        route_handler const* handler = nullptr; ///< Null when nothing matched.
        route_params params;
        std::vector<http::verb> allowed;        ///< Methods that would match this path, when `handler` is null.
        bool streamed = false;                  ///< The route is a streamed one (`add_streamed`).
        route_admission const* admit = nullptr; ///< Its admission check, when it has one.
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
                result.streamed = r.streamed;
                result.admit = r.admit ? &r.admit : nullptr;
                return result;
            }
            if (std::find(result.allowed.begin(), result.allowed.end(), *r.method) == result.allowed.end())
                result.allowed.push_back(*r.method);
        }
        return result;
    }

private:
    struct route {
        std::optional<http::verb> method; ///< Empty: any method.
        std::vector<std::string> segments;
        route_handler handler;
        route_admission admit{}; ///< Streamed routes only.
        bool streamed = false;
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
    /// Called on the server thread as a TLS handshake begins (`true`, with how long to wait before
    /// it) and as it ends (`false`, whatever its outcome). Empty: no wait.
    std::function<std::chrono::milliseconds(bool begins)> on_handshake;
    /// Called on the server thread for every request whose header was read, before its body is read
    /// and before it is dispatched (even one whose target is malformed); the request passed has the
    /// header and an empty body. Must not throw.
    std::function<void(http_request const&)> on_request;
    /// Called on the server thread with the number of request body bytes (the payload, without
    /// chunk framing) each time some arrive from the peer, whether the body is kept, streamed or
    /// read only to be dropped. Must not throw.
    std::function<void(std::uint64_t)> on_body_bytes;
    request_interceptor intercept; ///< Consulted before `routes`, when set.
    /// The fault to inject into the answer to a request (by its path), when set. Must not throw.
    std::function<std::optional<fault>(std::string_view path)> pick_fault;
    /// Whether a request with `Expect: 100-continue` gets `100 Continue` before its body is read;
    /// when false the server ignores `Expect`, as some do. Empty: true. Must not throw.
    std::function<bool()> honour_expect;
};

/// The answer to a request no route matched: 405 with `Allow` when its path matches with other
/// methods, 404 otherwise.
inline http_response no_route_answer(http_request const& req, urls::url_view target,
                                     router::match_result const& match) {
    if (match.allowed.empty())
        return error_response(404, "NotFound", "No resource at " + std::string(target.encoded_path()) + ".");
    http_response res =
        error_response(405, "MethodNotAllowed", std::string(req.method_string()) + " is not allowed here.");
    std::string allow;
    for (http::verb v : match.allowed)
        allow.append(allow.empty() ? "" : ", ").append(http::to_string(v));
    res.set(http::field::allow, allow);
    return res;
}

/// Awaits a route handler; what it throws becomes a 500 answer.
inline asio::awaitable<http_response> call_handler(route_handler const& handler, route_context const& ctx) {
    try {
        co_return co_await handler(ctx);
    } catch (std::exception const& e) {
        co_return error_response(500, "InternalServerError", e.what());
    } catch (...) {
        co_return error_response(500, "InternalServerError", "unknown exception");
    }
}

/**
 * Answers `req`: with `intercept`'s answer if it gives one, otherwise through `routes`.
 * Never throws: failures become 4xx/5xx answers. Streamed routes are not served here (see
 * `serve_requests`): one reached here is a 500.
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
        if (!match.handler)
            co_return no_route_answer(req, *target, match);
        if (match.streamed)
            co_return error_response(500, "InternalServerError", "A streamed route was dispatched without its body.");
        route_context const ctx{req, *target, std::move(match.params)};
        co_return co_await call_handler(*match.handler, ctx);
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
 * What a request gets before its body is read, or nothing to read the body: the interceptor's
 * answer, 400 for a malformed target, 404/405 when no route matches, and for a streamed route its
 * admission's refusal or 400/415 for a `Content-Type` without a usable boundary (which `boundary`
 * receives otherwise); 413 for a body over 1 MiB on another route. Never throws.
 */
inline std::optional<http_response> answer_before_body(listener const& l, http_request const& req,
                                                       std::optional<urls::url_view> const& target,
                                                       router::match_result& match, bool too_large,
                                                       std::string& boundary) {
    try {
        if (!target)
            return error_response(400, "BadRequest", "The request target is not an origin-form URI.");
        if (l.intercept) {
            if (auto answer = l.intercept(req, *target))
                return answer;
        }
        if (!match.handler)
            return no_route_answer(req, *target, match);
        if (match.streamed) {
            if (match.admit) {
                route_context const ctx{req, *target, match.params};
                if (auto refusal = (*match.admit)(ctx))
                    return refusal;
            }
            auto found = form_data_boundary(req[http::field::content_type]);
            if (auto const* refusal = std::get_if<multipart_refusal>(&found))
                return error_response(refusal->status, refusal->status == 415 ? "UnsupportedMediaType" : "BadRequest",
                                      refusal->message);
            boundary = std::move(std::get<std::string>(found));
            return std::nullopt;
        }
        if (too_large)
            return answer_read_error(http::error::body_limit);
        return std::nullopt;
    } catch (std::exception const& e) {
        return error_response(500, "InternalServerError", e.what());
    } catch (...) {
        return error_response(500, "InternalServerError", "unknown exception");
    }
}

/// Waits as a delay fault says, unless `delayed` says it was done already.
inline asio::awaitable<void> wait_for_delay_fault(std::optional<fault> const& injected, bool& delayed) {
    if (!injected || injected->kind != fault_kind::delay || std::exchange(delayed, true))
        co_return;
    asio::steady_timer pause(co_await asio::this_coro::executor, injected->delay);
    beast::error_code ignored;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

/// How much of a body `read_body_piece` reads at most at once.
inline constexpr std::size_t body_piece_size = 64 * 1024;

/**
 * Reads the next piece of `body`'s payload (what one read from the peer brought, or what was
 * buffered already) into `scratch` (allocated on first use), tells `l.on_body_bytes`, and returns
 * it; `ec` is set on failure (the piece may still hold bytes that arrived before it).
 */
template <class Stream>
asio::awaitable<std::string_view>
read_body_piece(Stream& stream, beast::flat_buffer& buffer, http::request_parser<http::buffer_body>& body,
                std::unique_ptr<char[]>& scratch, listener const& l, beast::error_code& ec) {
    if (!scratch)
        scratch = std::make_unique<char[]>(body_piece_size);
    body.get().body().data = scratch.get();
    body.get().body().size = body_piece_size;
    co_await http::async_read_some(stream, buffer, body, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer)
        ec = {};
    std::size_t const n = body_piece_size - body.get().body().size;
    if (n > 0 && l.on_body_bytes)
        l.on_body_bytes(n);
    co_return std::string_view(scratch.get(), n);
}

/**
 * Sends `res`, an answer given before the request's body was read in full, with `Connection:
 * close` (and `injected`, if any); then reads and drops what the client sends of the body anyway
 * (counted as received), until it ends, the client leaves or the idle timeout has passed since
 * the answer, so that closing does not reset the connection under the answer.
 */
template <class Stream>
asio::awaitable<session_end> answer_then_drop_body(Stream& stream, beast::flat_buffer& buffer,
                                                   http::request_parser<http::buffer_body>& body, http_response res,
                                                   std::optional<fault> const& injected,
                                                   std::unique_ptr<char[]>& scratch, listener const& l) {
    beast::error_code ec;
    res.keep_alive(false);
    if (injected && !is_written_fault(injected->kind))
        spoil(res, *injected);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(l.idle_timeout);
    if (injected && is_written_fault(injected->kind)) {
        switch (co_await write_faulty(stream, res, *injected)) {
        case fault_end::keep: break;
        case fault_end::close: co_return session_end::server_closing;
        case fault_end::reset: co_return session_end::abandoned;
        }
    } else {
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return session_end::abandoned;
    }
    beast::get_lowest_layer(stream).expires_after(l.idle_timeout); // one deadline for the whole rest
    while (!body.is_done()) {
        co_await read_body_piece(stream, buffer, body, scratch, l, ec);
        if (ec)
            co_return session_end::abandoned;
    }
    co_return session_end::server_closing;
}

/**
 * Serves HTTP/1.1 requests on `stream` until the peer closes, asks to close, misbehaves or idles
 * for longer than the listener's `idle_timeout`. Requests on one connection are answered in order.
 *
 * A request's body is read only once it is known to be wanted. When the route is a streamed one,
 * when the request has `Expect: 100-continue` (and the listener honours it) or when its
 * `Content-Length` exceeds 1 MiB, the interceptor, the route's admission and the limits look at
 * the header first (`answer_before_body`): an answer from them goes out at once, without `100
 * Continue` and with `Connection: close`, and the body is then dropped (`answer_then_drop_body`).
 * Otherwise a request with `Expect: 100-continue` gets `100 Continue`; a streamed route's body goes
 * through a @ref multipart_reader piece by piece, any other body (at most 1 MiB) is read whole and
 * dispatched.
 */
template <class Stream>
asio::awaitable<session_end> serve_requests(Stream& stream, listener const& l) {
    auto const use_ec = [](beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); };
    beast::flat_buffer buffer;
    std::unique_ptr<char[]> scratch; // for bodies read in pieces
    for (;;) {
        beast::error_code ec;
        http::request_parser<http::empty_body> head;
        head.body_limit(boost::none); // the limit depends on the route; see below

        beast::get_lowest_layer(stream).expires_after(l.idle_timeout);
        co_await http::async_read_header(stream, buffer, head, use_ec(ec));

        std::optional<http_response> res;
        std::optional<fault> injected;
        bool keep_alive = false;
        if (ec) {
            res = answer_read_error(ec);
            if (!res)
                co_return session_end::abandoned;
        } else {
            http_request req{static_cast<http::request_header<> const&>(head.get())};
            if (l.on_request)
                l.on_request(req);
            if (l.pick_fault)
                injected = l.pick_fault(std::string_view(req.target()).substr(0, req.target().find('?')));
            bool delayed = false; // a delay fault waits once, before the request is answered

            bool const has_body = !head.is_done();
            bool const expects = has_body && beast::iequals(req[http::field::expect], "100-continue") &&
                                 (!l.honour_expect || l.honour_expect());
            std::optional<urls::url_view> target;
            if (auto parsed = urls::parse_origin_form(req.target()))
                target = *parsed;
            router::match_result match;
            if (target)
                match = l.routes.match(req.method(), target->segments());
            bool const streamed = match.handler && match.streamed;
            bool const too_large = !streamed && head.content_length() && *head.content_length() > max_request_body;
            bool const early = streamed || (has_body && (expects || too_large));

            std::string boundary;
            if (early) {
                co_await wait_for_delay_fault(injected, delayed);
                if (auto answer = answer_before_body(l, req, target, match, too_large, boundary)) {
                    http::request_parser<http::buffer_body> rest(std::move(head));
                    co_return co_await answer_then_drop_body(stream, buffer, rest, std::move(*answer), injected,
                                                             scratch, l);
                }
            }
            if (expects) {
                http::response<http::empty_body> proceed{http::status::continue_, 11};
                co_await http::async_write(stream, proceed, use_ec(ec));
                if (ec)
                    co_return session_end::abandoned;
            }

            keep_alive = req.keep_alive();
            if (streamed) {
                http::request_parser<http::buffer_body> body(std::move(head));
                multipart_reader reader(boundary);
                while (!body.is_done()) {
                    beast::get_lowest_layer(stream).expires_after(l.idle_timeout);
                    auto const piece = co_await read_body_piece(stream, buffer, body, scratch, l, ec);
                    if (ec)
                        break;
                    if (!reader.feed(piece))
                        co_return co_await answer_then_drop_body(stream, buffer, body,
                                                                 error_response(400, "BadRequest", reader.error()),
                                                                 injected, scratch, l);
                }
                if (ec) {
                    res = answer_read_error(ec);
                    if (!res)
                        co_return session_end::abandoned;
                    keep_alive = false;
                } else if (!reader.finish()) {
                    res = error_response(400, "BadRequest", reader.error());
                } else {
                    route_context const ctx{req, *target, std::move(match.params), &reader.upload()};
                    res = co_await call_handler(*match.handler, ctx);
                }
            } else {
                http::request_parser<http::string_body> body(std::move(head));
                body.body_limit(max_request_body);
                if (!body.is_done())
                    co_await http::async_read(stream, buffer, body, use_ec(ec));
                if (!body.get().body().empty() && l.on_body_bytes)
                    l.on_body_bytes(body.get().body().size());
                if (ec) {
                    res = answer_read_error(ec);
                    if (!res)
                        co_return session_end::abandoned;
                    keep_alive = false;
                } else {
                    req.body() = std::move(body.get().body());
                    co_await wait_for_delay_fault(injected, delayed);
                    // Consulted already when early: it had nothing to say.
                    res = co_await dispatch(l.routes, req, early ? request_interceptor{} : l.intercept);
                }
            }
            if (injected && !is_written_fault(injected->kind))
                spoil(*res, *injected); // handled and counted as usual; only the answer changes
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
    auto const pause = l.on_handshake ? l.on_handshake(true) : std::chrono::milliseconds(0);
    if (pause > std::chrono::milliseconds(0)) {
        asio::steady_timer wait(stream.get_executor(), pause);
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    stream.next_layer().expires_after(l.idle_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (l.on_handshake)
        l.on_handshake(false);
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
