// libFuzzer target: a connection's response reader (Beast's parser fed by the connection's read
// loop, with its limits and interim answers) on any bytes a server could send. The bytes wait in a
// socket pair, then the server's side is closed. Besides not crashing or hanging: an accepted
// answer is within the body limit, and the read buffer never holds more than its size.

#include <oic/http/detail/connection.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <tuple>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    namespace asio = boost::asio;
    namespace http = oic::http;
    using connection = http::detail::connection<asio::io_context::executor_type>;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return 0;
    for (std::size_t written = 0; written < size;) { // all of it fits in the pair's buffer (max_len 64 KiB)
        auto const n = ::write(fds[1], data + written, size - written);
        if (n <= 0)
            break;
        written += static_cast<std::size_t>(n);
    }
    ::shutdown(fds[1], SHUT_WR); // the server is done: the end of the stream follows its bytes

    asio::io_context ioc;
    connection::transport_type::socket_type socket(ioc.get_executor());
    socket.assign(asio::ip::tcp::v4(), fds[0]); // a stream is a stream: the reader does not look further
    connection c(http::origin{"http", "fuzz.example", 80}, connection::transport_type(std::move(socket), nullptr),
                 4096);
    http::request req{boost::beast::http::verb::get, "/ic/api/integration/v1/connections", 11};
    req.set(boost::beast::http::field::host, "fuzz.example");
    http::detail::read_limits const limits{.body = 8192, .header = 2048};
    bool ended = false;
    asio::co_spawn(ioc, c.exchange(req, limits, http::clock::now() + std::chrono::seconds(5)),
                   [&](std::exception_ptr e, std::tuple<oic::error_code, http::response> result) {
                       if (e)
                           std::abort(); // errors are values here, never exceptions
                       auto const& [ec, res] = result;
                       if (!ec && res.body().size() > limits.body)
                           std::abort();
                       ended = true;
                   });
    ioc.run();
    if (!ended)
        std::abort(); // the exchange must end, with an answer or an error
    ::close(fds[1]);
    return 0;
}
