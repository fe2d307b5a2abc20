/**
 * @file bench-slow-server: a TLS server on 127.0.0.1 that holds API calls open, for the
 * inflight_memory scenario of bench-oic.
 *
 * - `POST` (the token endpoint, any path): a fresh random token at once (never printed).
 * - `GET` (any path): the first one is answered at once (the client's warm-up); the later ones are
 *   held until --hold of them are open at once, then all get --page (200, keep-alive). If they are
 *   not all there within --hold-timeout seconds of the first, the held ones are closed unanswered;
 *   with --answer-after, the answers go that long after the last one arrived.
 *
 * Prints {"port": N} once it listens; serves until SIGTERM or SIGINT. One thread.
 */

#include "bench.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cctype>
#include <iostream>
#include <iterator>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using tls_stream = asio::ssl::stream<tcp::socket>;

constexpr std::string_view usage = R"(usage: bench-slow-server --cert FILE --key FILE --page FILE [options]

  --hold N          GETs held open until N of them are (default 1000)
  --hold-timeout S  seconds to wait for them after the first (default 30)
  --answer-after S  seconds between the last of them and the answers (default 0)
  --port N          port on 127.0.0.1 (default 0: any free one)
)";

struct server {
    std::string page;
    std::string token_body;
    std::size_t hold = 1000;
    std::chrono::steady_clock::duration hold_timeout{};
    std::chrono::steady_clock::duration answer_after{}; // between the last GET held and the answers
    std::uint64_t gets = 0;
    std::size_t held = 0;
    bool released = false;
    asio::steady_timer release; // cancelled on release; expiring means the hold timed out
};

std::string read_file(std::string const& path) {
    std::ifstream in(path, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof())
        throw std::runtime_error("cannot read " + path);
    return s;
}

/// The Content-Length of a request head, 0 if it has none.
std::size_t content_length(std::string_view head) {
    std::string lower(head);
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto const at = lower.find("\r\ncontent-length:");
    return at == std::string::npos ? 0 : std::strtoul(lower.c_str() + at + 17, nullptr, 10);
}

asio::awaitable<void> serve(tls_stream s, server& srv) {
    auto const token = asio::as_tuple(asio::use_awaitable);
    if (auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::server, token); ec)
        co_return;
    std::string buf;
    for (;;) {
        auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(buf, 64 * 1024), "\r\n\r\n", token);
        if (ec)
            co_return;
        auto const total = n + content_length(std::string_view(buf).substr(0, n));
        if (buf.size() < total) {
            auto [bec, got] = co_await asio::async_read(s, asio::dynamic_buffer(buf, 1024 * 1024),
                                                        asio::transfer_exactly(total - buf.size()), token);
            if (bec)
                co_return;
        }
        bool const post = buf.starts_with("POST ");
        buf.erase(0, total);
        if (!post && srv.gets++ > 0 && !srv.released) {
            if (++srv.held == 1)
                srv.release.expires_after(srv.hold_timeout);
            if (srv.held >= srv.hold) {
                if (srv.answer_after > std::chrono::steady_clock::duration::zero()) {
                    asio::steady_timer pause(s.get_executor(), srv.answer_after);
                    co_await pause.async_wait(token);
                }
                srv.released = true;
                srv.release.cancel();
            } else {
                co_await srv.release.async_wait(token);
                if (!srv.released)
                    co_return; // timed out: close unanswered
            }
        }
        std::string_view const body = post ? srv.token_body : srv.page;
        std::string const head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n";
        std::array const buffers{asio::buffer(head), asio::buffer(body)};
        if (auto [wec, written] = co_await asio::async_write(s, buffers, token); wec)
            co_return;
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::ssl::context& tls, server& srv) {
    for (;;) {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), serve(tls_stream(std::move(socket), tls), srv), asio::detached);
    }
}

} // namespace

int main(int argc, char** argv) {
    try {
        bench::options const o(argc, argv, {"cert", "key", "page", "hold", "hold-timeout", "answer-after", "port"});
        if (o.help()) {
            std::cout << usage;
            return 0;
        }
        asio::io_context ioc(1);
        server srv{.page = read_file(o.required("page")),
                   .token_body = "{\"access_token\":\"" + bench::random_token() +
                                 "\",\"token_type\":\"Bearer\",\"expires_in\":3600}",
                   .hold = static_cast<std::size_t>(o.number("hold", 1000, 1, 100000)),
                   .hold_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(o.number("hold-timeout", 30, 1, 600))),
                   .answer_after = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(o.number("answer-after", 0, 0, 60))),
                   .release = asio::steady_timer(ioc)};
        asio::ssl::context tls(asio::ssl::context::tls_server);
        tls.use_certificate_chain_file(o.required("cert"));
        tls.use_private_key_file(o.required("key"), asio::ssl::context::pem);
        bench::raise_fd_limit();
        auto const port = static_cast<unsigned short>(o.number("port", 0, 0, 65535));
        tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), port}); // listens, backlog SOMAXCONN
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](auto, int) { ioc.stop(); });
        asio::co_spawn(ioc, accept_loop(acceptor, tls, srv), asio::detached);
        std::cout << "{\"port\": " << acceptor.local_endpoint().port() << "}" << std::endl;
        ioc.run();
        return 0;
    } catch (bench::usage_error const& e) {
        std::cerr << "bench-slow-server: " << e.what() << " (see --help)\n";
        return 2;
    } catch (std::exception const& e) {
        std::cerr << "bench-slow-server: " << e.what() << '\n';
        return 1;
    }
}
