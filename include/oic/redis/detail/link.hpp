#pragma once
/// @file One connection to Redis for one store operation: TCP, TLS when asked, AUTH, and commands
/// in RESP (hiredis's reader and formatter) with a deadline on every step.

#include <oic/detail/tls.hpp>
#include <oic/error.hpp>
#include <oic/http/detail/loopback.hpp>
#include <oic/secret.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <openssl/crypto.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace oic::redis::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using clock = std::chrono::steady_clock;

/// A Redis reply, as far as a token store needs one.
struct value {
    enum class kind { nil, string, status, error, integer, array };
    kind type = kind::nil;
    std::string str; ///< string, status or error text
    long long integer = 0;
    std::vector<value> elements;

    bool is_ok() const { return type == kind::status && str == "OK"; }
};

/// A RESP2 reply as a `value` (a store never asks for RESP3).
inline value from_reply(redisReply const* r) {
    value v;
    switch (r->type) {
    case REDIS_REPLY_STRING: v.type = value::kind::string; break;
    case REDIS_REPLY_STATUS: v.type = value::kind::status; break;
    case REDIS_REPLY_ERROR: v.type = value::kind::error; break;
    case REDIS_REPLY_INTEGER: v.type = value::kind::integer; break;
    case REDIS_REPLY_ARRAY: v.type = value::kind::array; break;
    default: v.type = value::kind::nil; break;
    }
    if (r->str)
        v.str.assign(r->str, r->len);
    v.integer = r->integer;
    for (std::size_t i = 0; i < r->elements; ++i)
        v.elements.push_back(from_reply(r->element[i]));
    return v;
}

/// Where a store finds Redis and how it proves who it is.
struct endpoint {
    std::string host;
    unsigned short port;
    std::string username;                    ///< ACL user; empty: AUTH with the password alone
    secret password;                         ///< empty: no AUTH
    std::shared_ptr<asio::ssl::context> tls; ///< null: plain TCP
    std::string resolve_to;                  ///< an IP address used for `host` instead of the resolver's
};

/**
 * One connection for one store operation (a token store asks Redis rarely: on a miss, once per
 * token lifetime; a fresh connection each time needs no reconnect logic). Not thread-safe: one
 * coroutine uses it.
 */
template <class Executor>
class link {
public:
    link(Executor ex, endpoint const& e)
        : e_(e), stream_(beast::basic_stream<asio::ip::tcp, Executor>(ex), *ssl_ctx(e)) {}

    /// Connects (TLS with host name verification when asked) and authenticates, before `deadline`.
    /// On failure `what` says which step failed, without any secret.
    asio::awaitable<error_code, Executor> open(clock::time_point deadline, std::string& what) {
        auto token = asio::as_tuple(asio::use_awaitable_t<Executor>{});
        auto& tcp = stream_.next_layer();
        std::vector<asio::ip::tcp::endpoint> endpoints;
        if (!e_.resolve_to.empty()) {
            boost::system::error_code bad;
            auto const address = asio::ip::make_address(e_.resolve_to, bad);
            if (bad) {
                what = "resolve_to is not an IP address";
                co_return error_code(error::bad_config);
            }
            endpoints = http::detail::allowed_endpoints(e_.host,
                                                        std::vector<asio::ip::tcp::endpoint>{{address, e_.port}}, what);
        } else {
            asio::ip::tcp::resolver resolver(tcp.get_executor());
            auto [rec, results] = co_await resolver.async_resolve(e_.host, std::to_string(e_.port), token);
            if (rec) {
                what = "cannot resolve " + e_.host + ": " + rec.message();
                co_return rec;
            }
            endpoints = http::detail::allowed_endpoints(e_.host, results, what);
        }
        if (endpoints.empty()) // the password would go to whoever answers there
            co_return error_code(error::insecure_transport);
        tcp.expires_at(deadline);
        auto [cec, ep] = co_await tcp.async_connect(endpoints, token);
        if (cec) {
            what = "cannot connect to " + where() + ": " + cec.message();
            co_return oic::detail::map_transport_error(cec);
        }
        tcp.socket().set_option(asio::ip::tcp::no_delay(true));
        if (e_.tls) {
            // The same check as the HTTP session's, on the host the endpoints were resolved for.
            if (auto vec = oic::detail::verify_server(stream_.native_handle(), e_.host)) {
                what = "TLS setup for " + where() + " failed: " + vec.message();
                co_return vec;
            }
            tcp.expires_at(deadline);
            auto [hec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, token);
            if (hec) {
                what = "TLS handshake with " + where() + " failed: " + hec.message();
                co_return oic::detail::map_transport_error(hec);
            }
        }
        if (!e_.password.empty()) {
            // One co_await per statement: GCC 12 destroys the result of a co_await inside ?: twice.
            std::tuple<error_code, value> r;
            if (e_.username.empty())
                r = co_await exec(deadline, "AUTH", e_.password.reveal());
            else
                r = co_await exec(deadline, "AUTH", e_.username, e_.password.reveal());
            auto& [ec, v] = r;
            if (!ec && v.type == value::kind::error)
                ec = error::store_refused;
            if (ec) {
                what = "AUTH at " + where() +
                       " failed: " + (v.type == value::kind::error ? v.str.substr(0, 80) : ec.message());
                co_return ec;
            }
        }
        co_return error_code{};
    }

    /// Sends the command `args` (each converts to a string_view) and reads its reply, before
    /// `deadline`. A reply that is not RESP, or larger than 64 KiB, is `error::store_bad_reply`.
    template <class... Args>
    asio::awaitable<std::tuple<error_code, value>, Executor> exec(clock::time_point deadline, Args const&... args) {
        std::array<char const*, sizeof...(Args)> argv{std::string_view(args).data()...};
        std::array<std::size_t, sizeof...(Args)> lengths{std::string_view(args).size()...};
        char* raw = nullptr;
        long long const n = redisFormatCommandArgv(&raw, static_cast<int>(argv.size()), argv.data(), lengths.data());
        std::string command;
        if (n > 0)
            command.assign(raw, static_cast<std::size_t>(n));
        if (raw) {
            OPENSSL_cleanse(raw, n > 0 ? static_cast<std::size_t>(n) : 0); // AUTH carries the password
            redisFreeCommand(raw);
        }
        return send(std::move(command), deadline);
    }

    std::string where() const { return e_.host + ":" + std::to_string(e_.port); }

private:
    asio::awaitable<std::tuple<error_code, value>, Executor> send(std::string command, clock::time_point deadline) {
        if (command.empty())
            co_return std::tuple{error_code(error::store_bad_reply), value{}};
        auto token = asio::as_tuple(asio::use_awaitable_t<Executor>{});
        stream_.next_layer().expires_at(deadline);
        std::tuple<error_code, std::size_t> w;
        if (e_.tls)
            w = co_await asio::async_write(stream_, asio::buffer(command), token);
        else
            w = co_await asio::async_write(stream_.next_layer(), asio::buffer(command), token);
        auto const wec = std::get<0>(w);
        OPENSSL_cleanse(command.data(), command.size());
        if (wec)
            co_return std::tuple{oic::detail::map_transport_error(wec), value{}};
        std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(), &redisReaderFree);
        if (!reader)
            co_return std::tuple{error_code(error::store_bad_reply), value{}};
        std::size_t total = 0;
        for (;;) {
            void* reply = nullptr;
            if (redisReaderGetReply(reader.get(), &reply) != REDIS_OK)
                co_return std::tuple{error_code(error::store_bad_reply), value{}};
            if (reply) {
                std::unique_ptr<redisReply, decltype(&freeReplyObject)> owned(static_cast<redisReply*>(reply),
                                                                              &freeReplyObject);
                co_return std::tuple{error_code{}, from_reply(owned.get())};
            }
            char buffer[4096];
            std::tuple<error_code, std::size_t> r;
            if (e_.tls)
                r = co_await stream_.async_read_some(asio::buffer(buffer), token);
            else
                r = co_await stream_.next_layer().async_read_some(asio::buffer(buffer), token);
            auto const [rec, got] = r;
            if (rec)
                co_return std::tuple{oic::detail::map_transport_error(rec), value{}};
            total += got;
            if (total > 64 * 1024 || redisReaderFeed(reader.get(), buffer, got) != REDIS_OK)
                co_return std::tuple{error_code(error::store_bad_reply), value{}};
        }
    }

    /// asio::ssl::stream needs a context even for plain TCP, where it is never used.
    static std::shared_ptr<asio::ssl::context> ssl_ctx(endpoint const& e) {
        if (e.tls)
            return e.tls;
        static auto const unused = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        return unused;
    }

    endpoint const& e_;
    asio::ssl::stream<beast::basic_stream<asio::ip::tcp, Executor>> stream_;
};

} // namespace oic::redis::detail
