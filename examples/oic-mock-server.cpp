/**
 * @file oic-mock-server: the test double of `oic/testing/mock_server.hpp` as a process, for scripts,
 * benchmarks and trying the library by hand.
 *
 * Prints one line of JSON (URLs, CA file, credentials) on stdout once it listens, then serves until
 * SIGINT or SIGTERM and exits 0. A bad command line gets one line on stderr and exit status 2.
 */

#include <oic/testing/mock_server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view usage = R"(usage: oic-mock-server [options]

Emulates an OCI identity domain token endpoint, the OIC design-time and runtime hosts, and a
foreign host that clients must not trust (it counts the Authorization headers it receives).
Prints one line of JSON (token_url, design_url, runtime_url, foreign_url, ca_file, client_id,
client_secret, scope, integration_instance, counters_url) when listening; serves until SIGINT or
SIGTERM.

  --token-port N          token endpoint port (default 0: ephemeral)
  --design-port N         design-time host port (default 0: ephemeral)
  --runtime-port N        runtime host port (default 0: ephemeral)
  --address A             address of the token, design-time and runtime hosts (default 127.0.0.1)
  --foreign-port N        foreign host port (default 0: ephemeral)
  --foreign-address A     address of the foreign host (default 127.0.0.2)
  --plain                 plain HTTP instead of TLS
  --token-lifetime SECS   lifetime of issued tokens, may be fractional (default 3600)
  --token-latency MS      the token endpoint answers this many milliseconds late (default 0)
  --connections N         size of the connection data set (default 120)
  --archive-size BYTES    size of every integration's archive, at least 256 (default 65536)
  --no-expect             ignore Expect: 100-continue (never send 100 Continue)
  --redirect-status N     status of the runtime host's redirects, 300-399 (default 307)
  --ca-dir DIR            where to write the test CA file (default: a temporary directory)
  --help                  show this help and exit
)";

/// A command-line mistake; `what` is the one line shown to the user.
struct usage_error {
    std::string what;
};

template <class Number>
Number parse_number(std::string_view option, std::string_view text, Number min, Number max) {
    Number value{};
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
        std::ostringstream message;
        message << option << ": '" << text << "' is not a number from " << min << " to " << max;
        throw usage_error{message.str()};
    }
    return value;
}

unsigned short parse_port(std::string_view option, std::string_view text) {
    return static_cast<unsigned short>(parse_number<unsigned>(option, text, 0, 65535));
}

/// Parses the command line into `options`; returns false when --help was asked for.
bool parse_command_line(int argc, char** argv, oic::testing::mock_options& options,
                        std::chrono::milliseconds& token_latency) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::optional<std::string_view> inline_value;
        if (auto const eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            inline_value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        auto const value = [&]() -> std::string_view {
            if (inline_value)
                return *inline_value;
            if (i + 1 >= argc)
                throw usage_error{std::string(arg) + " needs a value"};
            return argv[++i];
        };
        auto const flag = [&] {
            if (inline_value)
                throw usage_error{std::string(arg) + " takes no value"};
        };

        if (arg == "--help" || arg == "-h") {
            flag();
            return false;
        } else if (arg == "--plain") {
            flag();
            options.tls = false;
        } else if (arg == "--token-port") {
            options.token_port = parse_port(arg, value());
        } else if (arg == "--design-port") {
            options.design_port = parse_port(arg, value());
        } else if (arg == "--runtime-port") {
            options.runtime_port = parse_port(arg, value());
        } else if (arg == "--address") {
            options.address = value();
        } else if (arg == "--foreign-port") {
            options.foreign_port = parse_port(arg, value());
        } else if (arg == "--foreign-address") {
            options.foreign_address = value();
        } else if (arg == "--token-lifetime") {
            double const seconds = parse_number<double>(arg, value(), 0.0, 1e8);
            options.token_lifetime = std::chrono::milliseconds(std::llround(seconds * 1000));
        } else if (arg == "--token-latency") {
            token_latency = std::chrono::milliseconds(parse_number<long>(arg, value(), 0, 600000));
        } else if (arg == "--connections") {
            options.connections = parse_number<std::size_t>(arg, value(), 0, 1000000);
        } else if (arg == "--archive-size") {
            options.archive_size =
                parse_number<std::size_t>(arg, value(), oic::testing::min_archive_size, std::size_t{4} << 30);
        } else if (arg == "--no-expect") {
            flag();
            options.honour_expect = false;
        } else if (arg == "--redirect-status") {
            options.redirect_status = parse_number<unsigned>(arg, value(), 300, 399);
        } else if (arg == "--ca-dir") {
            options.ca_dir = value();
            if (options.ca_dir.empty())
                throw usage_error{"--ca-dir needs a non-empty directory"};
        } else {
            throw usage_error{"unknown option '" + std::string(arg) + "'"};
        }
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    oic::testing::mock_options options;
    std::chrono::milliseconds token_latency{0};
    try {
        if (!parse_command_line(argc, argv, options, token_latency)) {
            std::cout << usage;
            return 0;
        }
    } catch (usage_error const& e) {
        std::cerr << "oic-mock-server: " << e.what << " (see --help)\n";
        return 2;
    }

    try {
        // Catch signals before announcing readiness, so that a script may stop us right after.
        boost::asio::io_context signals_context;
        boost::asio::signal_set signals(signals_context, SIGINT, SIGTERM);
        signals.async_wait([](boost::system::error_code const&, int) {});

        oic::testing::mock_server server(options);
        server.set_token_latency(token_latency);
        std::cout << server.ready_json() << std::endl;
        signals_context.run();
        server.stop();
        return 0;
    } catch (std::exception const& e) {
        std::cerr << "oic-mock-server: " << e.what() << '\n';
        return 1;
    }
}
