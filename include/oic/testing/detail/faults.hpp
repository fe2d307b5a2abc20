#pragma once
/// @file The mock's fault injection: which answers get a fault (`fault_table`), and how a faulty
/// answer is spoiled or written (`spoil`, `write_faulty`).

#include <oic/testing/mock_options.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace oic::testing::detail {

/// The faults added to a mock, by path prefix, in the order added. Thread-safe.
class fault_table {
public:
    explicit fault_table(unsigned seed) : random_(seed) {}

    void add(std::string path_prefix, fault f) {
        std::lock_guard lock(mutex_);
        rules_.push_back({std::move(path_prefix), std::move(f)});
    }
    void clear() {
        std::lock_guard lock(mutex_);
        rules_.clear();
    }

    /// The fault for a request to `path`: the first rule whose prefix matches, that has uses left
    /// and whose chance comes up.
    std::optional<fault> pick(std::string_view path) {
        std::lock_guard lock(mutex_);
        for (auto& r : rules_) {
            if (!path.starts_with(r.prefix) || r.f.count == 0)
                continue;
            if (r.f.probability < 1.0 && std::uniform_real_distribution<double>(0, 1)(random_) >= r.f.probability)
                continue;
            if (r.f.count > 0)
                --r.f.count;
            return r.f;
        }
        return std::nullopt;
    }

private:
    struct rule {
        std::string prefix;
        fault f;
    };
    std::mutex mutex_;
    std::mt19937 random_;
    std::vector<rule> rules_;
};

/// Whether `kind` is carried out by `write_faulty` rather than by changing the answer.
inline bool is_written_fault(fault_kind kind) {
    return kind == fault_kind::reset_before_answer || kind == fault_kind::reset_mid_body ||
           kind == fault_kind::truncated_body || kind == fault_kind::bad_chunking || kind == fault_kind::slow_body;
}

/// Each top-level member of a JSON object as another type.
inline void swap_json_types(boost::json::object& o) {
    for (auto& m : o) {
        auto& v = m.value();
        if (v.is_string())
            v = 42;
        else if (v.is_number() || v.is_bool() || v.is_null())
            v = boost::json::serialize(v);
        else if (v.is_array())
            v = boost::json::object{};
        else
            v = boost::json::array{};
    }
}

/// Applies the faults that only change the answer's status or body.
template <class Response>
void spoil(Response& res, fault const& f) {
    namespace http = boost::beast::http;
    switch (f.kind) {
    case fault_kind::status:
        res = Response(static_cast<http::status>(f.status), res.version());
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"code":"InjectedFault","message":"The mock server injected this answer."})";
        if (!f.retry_after.empty())
            res.set(http::field::retry_after, f.retry_after);
        break;
    case fault_kind::malformed_json: res.body().resize(res.body().size() / 2); break;
    case fault_kind::wrong_types: {
        boost::system::error_code ec;
        auto v = boost::json::parse(res.body(), ec);
        if (!ec && v.is_object()) {
            swap_json_types(v.as_object());
            res.body() = boost::json::serialize(v);
        }
        break;
    }
    default: break;
    }
    res.prepare_payload();
}

/// The status line and header fields of `res`, as sent.
template <class Response>
std::string header_text(Response const& res) {
    std::string out = "HTTP/1.1 " + std::to_string(res.result_int()) + " " + std::string(res.reason()) + "\r\n";
    for (auto const& field : res)
        out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    return out + "\r\n";
}

/// How `write_faulty` left the connection.
enum class fault_end {
    keep,  ///< the answer went out whole: the connection may serve the next request
    close, ///< close politely (FIN, TLS close_notify)
    reset, ///< the connection was reset: nothing more to do
};

/// Writes `res` with one of the faults `is_written_fault` names, on `stream` (TCP or TLS over TCP).
template <class Stream, class Response>
boost::asio::awaitable<fault_end> write_faulty(Stream& stream, Response& res, fault const& f) {
    namespace asio = boost::asio;
    boost::system::error_code ec;
    auto use_ec = [&ec] { return asio::redirect_error(asio::use_awaitable, ec); };
    auto reset = [&] {
        auto& socket = boost::beast::get_lowest_layer(stream).socket();
        boost::system::error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored); // close sends RST, not FIN
        socket.close(ignored);
        return fault_end::reset;
    };
    if (f.kind == fault_kind::reset_before_answer)
        co_return reset();
    res.prepare_payload();
    std::string const& body = res.body();
    if (f.kind == fault_kind::bad_chunking) {
        res.erase(boost::beast::http::field::content_length);
        res.set(boost::beast::http::field::transfer_encoding, "chunked");
        std::string const bytes = header_text(res) + "zz\r\n" + body + "\r\n0\r\n\r\n";
        co_await asio::async_write(stream, asio::buffer(bytes), use_ec());
        co_return fault_end::close;
    }
    std::string const head = header_text(res);
    if (f.kind == fault_kind::slow_body) {
        std::string const all = head + body;
        asio::steady_timer pause(co_await asio::this_coro::executor);
        for (std::size_t at = 0; at < all.size() && !ec; at += 16) {
            co_await asio::async_write(
                stream, asio::buffer(all.data() + at, std::min<std::size_t>(16, all.size() - at)), use_ec());
            pause.expires_after(f.delay);
            co_await pause.async_wait(use_ec());
        }
        co_return ec ? fault_end::reset : fault_end::keep;
    }
    // reset_mid_body, truncated_body: the header says the whole length, half of it follows.
    std::string const half = head + body.substr(0, body.size() / 2);
    co_await asio::async_write(stream, asio::buffer(half), use_ec());
    if (f.kind == fault_kind::reset_mid_body) {
        // Time for the client to read the half: a reset that arrives first discards it unread.
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_ec());
        co_return reset();
    }
    co_return fault_end::close;
}

} // namespace oic::testing::detail
