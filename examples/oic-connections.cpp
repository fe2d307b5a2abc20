// oic-connections: list the connections of an Oracle Integration instance.
//
// Works against a real instance and against oic-mock-server. The client secret is read only from
// OIC_CLIENT_SECRET or --client-secret-file, never from a flag value (flags end up in shell history
// and in `ps`), and nothing that may be a secret is echoed in an error. Text from servers is printed
// with control characters escaped. Exit codes: 0 ok, 2 bad usage or config, 3 token endpoint
// refused, 4 API error, 5 network, TLS or timeout.

#include <oic/oic.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;

constexpr char usage[] = R"(usage: oic-connections [options]

Connection settings (each also from the environment variable shown):
  --token-url URL             OIC_TOKEN_URL   identity domain token endpoint (.../oauth2/v1/token)
  --client-id ID              OIC_CLIENT_ID   confidential application client id
  --client-secret-file FILE   (or OIC_CLIENT_SECRET) the client secret; never given as a flag value.
                              The file must be readable by its owner only (chmod 600), as ssh
                              asks of keys, unless --allow-readable-secret-file is given
  --scope SCOPE               OIC_SCOPE       e.g. https://<id>.integration.ocp.oraclecloud.com:443urn:opc:resource:consumer::all
  --base-url URL              OIC_BASE_URL    design-time or runtime host
  --integration-instance NAME OIC_INTEGRATION_INSTANCE
  --client-auth basic|post    how to send the client credentials (default basic)
  --cacert FILE               trust this CA (PEM) besides the system store
  --timeout SECONDS           limit for the whole call (default 60)
  --trust-host HOST[:PORT]    also forward the token to HOST on redirects (repeatable, *.suffix
                              allowed; without :PORT any port)
  --redirect-auth never|same-origin|trusted|always
                              who gets the token on a redirect (default trusted: the base URL's
                              and token URL's hosts on their ports, the design-time host of the
                              base URL's region and --trust-host, https only; a redirect to any
                              other host is refused)
  --max-redirects N           hop limit (default 5)

Query:
  --q EXPR                    e.g. "{name: /Oracle/, status: 'CONFIGURED'}"
  --limit N  --offset N  --order-by name|time|type
  --all                       walk every page
  --output table|json         json: an array of the connection objects as the API returned them

Exit codes: 0 ok, 2 bad usage or config, 3 token endpoint refused, 4 API error, 5 network/TLS/timeout.
)";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    oic::client_config config;
    oic::connections_query query;
    bool all = false;
    bool json = false;
    std::string redirect_auth = "trusted";
    bool allow_readable_secret_file = false;
};

int parse_int(std::string const& flag, std::string const& v, int min) {
    int n = 0;
    auto const [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < min)
        throw usage_error(flag + " expects an integer >= " + std::to_string(min) + ", got '" + oic::printable(v) + "'");
    return n;
}

std::string env(char const* name) {
    char const* v = std::getenv(name);
    return v ? v : "";
}

/// Reads the secret file, refusing one that others can read. Errors never name the path: a user who
/// mistakes the flag for --client-secret passes the secret itself as the path.
std::string read_secret_file(std::string const& path, bool allow_readable) {
    constexpr std::size_t max_size = 64 * 1024;
    auto fail = [](std::string why) { throw usage_error("--client-secret-file: " + why); };
    int const fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        fail(std::string("cannot open the file: ") + std::strerror(errno));
    std::unique_ptr<int, void (*)(int*)> const closer(new int(fd), [](int* f) {
        ::close(*f);
        delete f;
    });
    struct stat st {}; // of the opened file, so nothing can swap it between the check and the read
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        fail("not a regular file");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && !allow_readable)
        fail("the file can be read or written by group or others (mode " + std::to_string((st.st_mode >> 6) & 7) +
             std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
             "); run chmod 600 on it, or pass --allow-readable-secret-file");
    if (static_cast<std::size_t>(st.st_size) > max_size)
        fail("the file is larger than 64 KiB");
    std::string s(max_size + 1, '\0');
    std::size_t n = 0;
    for (ssize_t r; n < s.size() && (r = ::read(fd, s.data() + n, s.size() - n)) != 0; n += static_cast<std::size_t>(r))
        if (r < 0)
            fail(std::string("cannot read the file: ") + std::strerror(errno));
    if (n > max_size)
        fail("the file is larger than 64 KiB");
    s.resize(n);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    if (s.empty())
        fail("the file is empty");
    return s;
}

/// An option name safe to echo: never a value after '=', nothing that mentions a secret.
std::string shown(std::string const& arg) {
    std::string lower = arg;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.find("secret") != std::string::npos || lower.find("password") != std::string::npos)
        return "(not shown: it may hold a secret)";
    return "'" + oic::printable(arg.substr(0, arg.find('='))) + "'";
}

options parse_options(int argc, char** argv) {
    options o;
    auto& cfg = o.config;
    cfg.credentials.token_url = env("OIC_TOKEN_URL");
    cfg.credentials.client_id = env("OIC_CLIENT_ID");
    cfg.credentials.scope = env("OIC_SCOPE");
    cfg.base_url = env("OIC_BASE_URL");
    cfg.integration_instance = env("OIC_INTEGRATION_INSTANCE");
    std::string secret_file;
    std::string output = "table";

    std::map<std::string, std::string*> const strings{
        {"--token-url", &cfg.credentials.token_url},
        {"--client-id", &cfg.credentials.client_id},
        {"--scope", &cfg.credentials.scope},
        {"--base-url", &cfg.base_url},
        {"--integration-instance", &cfg.integration_instance},
        {"--client-secret-file", &secret_file},
        {"--cacert", &cfg.session.ca_file},
        {"--q", &o.query.q},
        {"--order-by", &o.query.order_by},
        {"--output", &output},
        {"--redirect-auth", &o.redirect_auth},
    };
    for (int i = 1; i < argc; ++i) {
        std::string const arg = argv[i];
        if (arg == "--help" || arg == "-h")
            throw usage_error("");
        if (arg == "--all") {
            o.all = true;
            continue;
        }
        if (arg == "--allow-readable-secret-file") {
            o.allow_readable_secret_file = true;
            continue;
        }
        if (arg.starts_with("--client-secret") && arg != "--client-secret-file")
            throw usage_error("--client-secret options are not accepted (value not shown): use OIC_CLIENT_SECRET or "
                              "--client-secret-file");
        if (!arg.starts_with("--"))
            throw usage_error("unexpected argument #" + std::to_string(i) + " (not shown: it may hold a secret)");
        if (!strings.contains(arg) && arg != "--limit" && arg != "--offset" && arg != "--timeout" &&
            arg != "--max-redirects" && arg != "--trust-host" && arg != "--client-auth")
            throw usage_error("unknown option " + shown(arg));
        if (i + 1 >= argc)
            throw usage_error(arg + " needs a value");
        std::string const value = argv[++i];
        if (auto it = strings.find(arg); it != strings.end())
            *it->second = value;
        else if (arg == "--limit")
            o.query.limit = parse_int(arg, value, 1);
        else if (arg == "--offset")
            o.query.offset = parse_int(arg, value, 0);
        else if (arg == "--timeout") {
            auto const t = std::chrono::seconds(parse_int(arg, value, 1));
            cfg.session.total_timeout = t;
            cfg.session.request_timeout = std::min<std::chrono::steady_clock::duration>(cfg.session.request_timeout, t);
            cfg.session.connect_timeout = std::min<std::chrono::steady_clock::duration>(cfg.session.connect_timeout, t);
        } else if (arg == "--max-redirects")
            cfg.session.max_redirects = parse_int(arg, value, 0);
        else if (arg == "--trust-host")
            cfg.trusted_hosts.push_back(value);
        else if (arg == "--client-auth") {
            if (value != "basic" && value != "post")
                throw usage_error("--client-auth expects basic or post, got '" + oic::printable(value) + "'");
            cfg.credentials.auth = value == "post" ? oic::client_auth::post : oic::client_auth::basic;
        }
    }
    if (output != "table" && output != "json")
        throw usage_error("--output expects table or json, got '" + oic::printable(output) + "'");
    o.json = output == "json";
    if (o.redirect_auth != "never" && o.redirect_auth != "same-origin" && o.redirect_auth != "trusted" &&
        o.redirect_auth != "always")
        throw usage_error("--redirect-auth expects never, same-origin, trusted or always, got '" +
                          oic::printable(o.redirect_auth) + "'");

    cfg.credentials.client_secret = oic::secret(
        secret_file.empty() ? env("OIC_CLIENT_SECRET") : read_secret_file(secret_file, o.allow_readable_secret_file));
    for (auto const& [what, value] :
         {std::pair{"--token-url (OIC_TOKEN_URL)", &cfg.credentials.token_url},
          std::pair{"--client-id (OIC_CLIENT_ID)", &cfg.credentials.client_id},
          std::pair{"--base-url (OIC_BASE_URL)", &cfg.base_url},
          std::pair{"--integration-instance (OIC_INTEGRATION_INSTANCE)", &cfg.integration_instance}})
        if (value->empty())
            throw usage_error(std::string("missing ") + what);
    if (cfg.credentials.client_secret.empty())
        throw usage_error("missing client secret: set OIC_CLIENT_SECRET or --client-secret-file");
    return o;
}

/// Display width of UTF-8 text (code points; good enough for a table).
std::size_t width(std::string const& s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

void print_table(std::vector<oic::connection> const& items) {
    std::vector<std::array<std::string, 5>> rows{{"ID", "NAME", "ADAPTER", "ROLE", "STATUS"}};
    for (auto const& c : items) // server text: escaped, so a name cannot drive the terminal
        rows.push_back({oic::printable(c.id), oic::printable(c.name),
                        oic::printable(c.adapter.display_name.empty() ? c.adapter.name : c.adapter.display_name),
                        oic::printable(c.role), oic::printable(c.status)});
    std::array<std::size_t, 5> w{};
    for (auto const& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i)
            w[i] = std::max(w[i], width(r[i]));
    for (auto const& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size())
                line += std::string(w[i] - width(r[i]) + 2, ' ');
        }
        std::cout << line << '\n';
    }
    std::cout << items.size() << " connection" << (items.size() == 1 ? "" : "s") << '\n';
}

/// Serialized JSON escapes C0 controls but not DEL or the C1 controls (U+0080..U+009F), which some
/// terminals obey: those become \u escapes too (they can only stand inside strings).
std::string terminal_safe_json(std::string const& json) {
    std::string out;
    out.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
        auto const c = static_cast<unsigned char>(json[i]);
        auto const next = i + 1 < json.size() ? static_cast<unsigned char>(json[i + 1]) : 0;
        if (c == 0x7f)
            out += "\\u007f";
        else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", next);
            out += buf;
            ++i;
        } else
            out += static_cast<char>(c);
    }
    return out;
}

oic::client make_client(asio::any_io_executor ex, options const& o) {
    auto const& cfg = o.config;
    if (o.redirect_auth == "never")
        return oic::client(ex, cfg, oic::http::never_forward{});
    if (o.redirect_auth == "same-origin")
        return oic::client(ex, cfg, oic::http::same_origin{});
    if (o.redirect_auth == "always")
        return oic::client(ex, cfg, oic::http::always_forward{});
    return oic::client(ex, cfg); // trusted: the OIC default over the configured hosts + --trust-host
}

asio::awaitable<void> run(options o) {
    auto const client = make_client(co_await asio::this_coro::executor, o);
    std::vector<oic::connection> items;
    if (o.all)
        items = co_await oic::get_all_connections(client, o.query);
    else
        items = std::move((co_await oic::get_connections(client, o.query)).items);
    if (o.json) {
        boost::json::array out;
        for (auto& c : items)
            out.push_back(c.raw());
        std::cout << terminal_safe_json(boost::json::serialize(out)) << '\n';
    } else {
        print_table(items);
    }
}

int exit_code(oic::error_code const& ec) {
    switch (oic::classify(ec)) {
    case oic::failure_kind::config: return 2;
    case oic::failure_kind::token_endpoint: return 3;
    case oic::failure_kind::api: return 4;
    case oic::failure_kind::network: return 5;
    }
    return 5;
}

} // namespace

int main(int argc, char** argv) {
    options opts;
    try {
        opts = parse_options(argc, argv);
    } catch (usage_error const& e) {
        if (*e.what() == '\0') {
            std::cout << usage;
            return 0;
        }
        std::cerr << "oic-connections: " << e.what() << " (see --help)\n";
        return 2;
    }
    int code = 0;
    try {
        asio::io_context ioc;
        asio::co_spawn(ioc, run(std::move(opts)), [&](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
        ioc.run();
    } catch (oic::error_with_diagnostics const& e) {
        std::cerr << "oic-connections: " << e.what() << '\n';
        code = exit_code(e.code());
    } catch (boost::system::system_error const& e) {
        std::cerr << "oic-connections: " << oic::printable(e.code().message()) << '\n';
        code = 5;
    } catch (std::exception const& e) {
        std::cerr << "oic-connections: unexpected error: " << oic::printable(e.what()) << '\n';
        code = 5;
    }
    return code;
}
