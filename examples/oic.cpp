// oic: the Oracle Integration Developer API from the command line, one subcommand per call:
//
//   oic connections list                 oic monitoring errors [--all]
//   oic integrations list                oic monitoring resubmit ID...
//   oic integrations activate ID         oic monitoring instances [--q EXPR]
//   oic integrations deactivate ID
//
// `oic-connections` is a link to `oic`: called by that name it takes no subcommand and is
// `oic connections list`, as it always was.
//
// Works against a real instance and against oic-mock-server. The client secret is read only from
// OIC_CLIENT_SECRET or --client-secret-file, never from a flag value (flags end up in shell history
// and in `ps`), and nothing that may be a secret is echoed in an error. Text from servers is printed
// with control characters escaped. Exit codes: 0 ok, 2 bad usage or config, 3 token endpoint
// refused, 4 API error, 5 network, TLS or timeout, 6 conflict (HTTP 409 or 423), 7 a local file
// could not be read or written, 8 a redirect not followed.

#include <oic/oic.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;

// Called as `oic-connections` (a link to `oic`): no subcommand, `oic connections list` as it always was.
bool connections_only = false;
char const* program = "oic";

constexpr char connections_usage_head[] = R"(usage: oic-connections [options]

Lists the connections (what `oic connections list` does).
)";
constexpr char usage_head[] = R"(usage: oic COMMAND [ARGS] [options]

Commands:
  connections list            one page of connections (--all: every page)
  integrations list           one page of integrations (--all: every page)
  integrations activate ID    activate integration ID (CODE|VERSION)
  integrations deactivate ID  deactivate integration ID
  integrations export ID -o FILE
                              the integration's archive (.iar) into FILE, which appears only
                              whole; a progress bar on stderr when it is a terminal
  integrations import FILE [--replace]
                              an archive into the instance: added (exit 6 if it exists), or with
                              --replace, replacing the one there; streamed from disk
  monitoring errors           errored instances (--all: every page)
  monitoring resubmit ID...   resubmit errored instances; exit 4 unless every one was accepted
  monitoring instances        integration instances, e.g. --q "{timewindow: '1d', status: 'FAILED'}"
)";

constexpr char usage_options[] = R"(
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

Query (the list commands):
  --q EXPR                    e.g. "{name: /Oracle/, status: 'CONFIGURED'}"
  --limit N  --offset N  --order-by name|time|type (connections and integrations)
  --all                       walk every page
  --output table|json         json: the API's own objects (a list's page with hasMore and
                              totalResults; with --all, an array of every item)

Exit codes: 0 ok, 2 bad usage or config, 3 token endpoint refused, 4 API error, 5 network/TLS/timeout,
6 conflict (HTTP 409 or 423), 7 a local file could not be read or written, 8 a redirect not followed
(the token is not sent to that host: see --trust-host and --redirect-auth).
)";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct command;

struct options {
    oic::client_config config;
    oic::list_query query;
    bool all = false;
    bool replace = false; ///< --replace (import)
    bool json = false;
    std::string redirect_auth = "trusted";
    bool allow_readable_secret_file = false;
    command const* cmd = nullptr;
    std::vector<std::string> operands; ///< the command's own arguments (ids)
    std::string output_file;           ///< -o FILE (export)
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

std::size_t width(std::string const& s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

/// Prints `rows` (the first is the header) in aligned columns, then `count` and `noun` (plural with an s).
void print_table(std::vector<std::vector<std::string>> const& rows, std::size_t count, std::string const& noun) {
    std::vector<std::size_t> w(rows.front().size());
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
    std::cout << count << ' ' << noun << (count == 1 ? "" : "s") << '\n';
}

/// Server text for a table cell: escaped, so that a name cannot drive the terminal.
std::string cell(std::string_view s) {
    return oic::printable(s);
}

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

/// Prints `v` as one line of JSON a terminal shows as text.
void print_json(boost::json::value const& v) {
    std::cout << terminal_safe_json(boost::json::serialize(v)) << '\n';
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

/// One page of `Item`s for `o.query`, or every page with `--all` (`items` only). GCC 12: each
/// operation is made first and then awaited, never built inside the `co_await` expression.
template <class Item, class Page, class All>
asio::awaitable<oic::page<Item>> list_items(oic::client const& client, options const& o, Page page, All all) {
    if (o.all) {
        auto op = all(client, o.query);
        oic::page<Item> p;
        p.items = co_await std::move(op);
        co_return p;
    }
    auto op = page(client, o.query);
    co_return co_await std::move(op);
}

/// `--output json`: with `--all`, an array of every item as the API sent it; for one page, the
/// page as the API sent it: its items, `hasMore`, and `totalResults`, `limit` and `offset` when given.
template <class Item>
void print_json_list(oic::page<Item> const& p, options const& o) {
    boost::json::array items;
    for (auto const& x : p.items)
        items.push_back(x.raw());
    if (o.all) {
        print_json(items);
        return;
    }
    boost::json::object page{{"items", std::move(items)}, {"hasMore", p.has_more}};
    for (auto const& [key, value] :
         {std::pair{"totalResults", p.total_results}, std::pair{"limit", p.limit}, std::pair{"offset", p.offset}})
        if (value)
            page[key] = *value;
    print_json(page);
}

// The commands. Each is a coroutine returning the exit code, and one entry in `commands` below.

asio::awaitable<int> connections_list(oic::client client, options const& o) {
    auto const listed = co_await list_items<oic::connection>(
        client, o, [](auto c, auto q) { return oic::get_connections(c, q); },
        [](auto c, auto q) { return oic::get_all_connections(c, q); });
    auto const& items = listed.items;
    if (o.json) {
        print_json_list(listed, o);
        co_return 0;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "NAME", "ADAPTER", "ROLE", "STATUS"}};
    for (auto const& c : items)
        rows.push_back({cell(c.id), cell(c.name),
                        cell(c.adapter.display_name.empty() ? c.adapter.name : c.adapter.display_name), cell(c.role),
                        cell(c.status)});
    print_table(rows, items.size(), "connection");
    co_return 0;
}

asio::awaitable<int> integrations_list(oic::client client, options const& o) {
    auto const listed = co_await list_items<oic::integration>(
        client, o, [](auto c, auto q) { return oic::get_integrations(c, q); },
        [](auto c, auto q) { return oic::get_all_integrations(c, q); });
    auto const& items = listed.items;
    if (o.json) {
        print_json_list(listed, o);
        co_return 0;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "NAME", "STATUS", "PATTERN"}};
    for (auto const& x : items)
        rows.push_back({cell(x.id), cell(x.name), cell(x.status), cell(x.pattern)});
    print_table(rows, items.size(), "integration");
    co_return 0;
}

/// `integrations activate|deactivate ID`: prints the integration as the answer describes it.
asio::awaitable<int> set_integration_status(oic::client client, options const& o, bool activate) {
    std::string const& id = o.operands.front();
    auto op = activate ? oic::activate_integration(client, id) : oic::deactivate_integration(client, id);
    auto const it = co_await std::move(op);
    if (o.json) {
        if (it.json().empty()) // an answer without a body: what was asked is what holds
            print_json(boost::json::object{{"id", it.id}, {"status", it.status}});
        else
            print_json(it.raw());
    } else {
        std::cout << cell(it.id) << ' ' << cell(it.status) << '\n';
    }
    co_return 0;
}
asio::awaitable<int> integrations_activate(oic::client client, options const& o) {
    return set_integration_status(std::move(client), o, true);
}
asio::awaitable<int> integrations_deactivate(oic::client client, options const& o) {
    return set_integration_status(std::move(client), o, false);
}

/// One line of progress, redrawn in place: "12.0 MiB of 50.0 MiB (24%)".
void print_progress(oic::http::transfer_progress const& p) {
    auto mib = [](std::uint64_t n) {
        char text[32];
        std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
        return std::string(text);
    };
    std::cerr << '\r' << mib(p.done);
    if (p.total && *p.total > 0)
        std::cerr << " of " << mib(*p.total) << " (" << p.done * 100 / *p.total << "%)";
    std::cerr << "   " << std::flush;
}

/// `integrations export ID -o FILE`: the archive streamed into FILE, which appears only whole.
asio::awaitable<int> integrations_export(oic::client client, options const& o) {
    oic::transfer_options t;
    bool const bar = ::isatty(STDERR_FILENO) == 1; // a progress bar for a person, nothing in a log
    if (bar)
        t.progress = print_progress;
    std::string const& id = o.operands.front();
    auto op = oic::export_integration(client, id, std::filesystem::path(o.output_file), t);
    auto const archive = co_await std::move(op);
    if (bar)
        std::cerr << '\n';
    if (o.json)
        print_json(boost::json::object{{"id", id}, {"path", archive.path.string()}, {"bytes", archive.size}});
    else
        std::cout << cell(archive.path.string()) << ": " << archive.size << " bytes\n";
    co_return 0;
}

/// `integrations import FILE [--replace]`: the archive streamed from FILE.
asio::awaitable<int> integrations_import(oic::client client, options const& o) {
    oic::transfer_options t;
    bool const bar = ::isatty(STDERR_FILENO) == 1;
    if (bar)
        t.progress = print_progress;
    std::filesystem::path const file = o.operands.front();
    auto const mode = o.replace ? oic::import_mode::replace : oic::import_mode::add;
    auto op = oic::import_integration(client, file, mode, t);
    auto const imported = co_await std::move(op);
    if (bar)
        std::cerr << '\n';
    if (o.json)
        print_json(boost::json::object{
            {"id", imported.id}, {"path", file.string()}, {"bytes", imported.size}, {"replaced", o.replace}});
    else
        std::cout << (o.replace ? "replaced " : "imported ") << cell(imported.id.empty() ? file.string() : imported.id)
                  << " (" << imported.size << " bytes)\n";
    co_return 0;
}

asio::awaitable<int> monitoring_errors(oic::client client, options const& o) {
    auto const listed = co_await list_items<oic::errored_instance>(
        client, o, [](auto c, auto q) { return oic::get_errored_instances(c, q); },
        [](auto c, auto q) { return oic::get_all_errored_instances(c, q); });
    auto const& items = listed.items;
    if (o.json) {
        print_json_list(listed, o);
        co_return 0;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "INTEGRATION", "RECOVERABLE", "CODE", "MESSAGE"}};
    for (auto const& e : items)
        rows.push_back({cell(e.id), cell(e.integration_id()), e.recoverable ? "yes" : "no", cell(e.error_code),
                        cell(e.error_message)});
    print_table(rows, items.size(), "errored instance");
    co_return 0;
}

/// One id: Oracle's "Resubmit an Errored Integration Instance"; several: "Resubmit Errored
/// Integration Instances", which may accept some and refuse others (then exit 4, naming them).
asio::awaitable<int> monitoring_resubmit(oic::client client, options const& o) {
    oic::resubmit_result r;
    if (o.operands.size() == 1) {
        auto op = oic::resubmit_errored_instance(client, o.operands.front());
        r = co_await std::move(op);
        if (r.accepted_ids.empty() && r.accepted != false)
            r.accepted_ids = o.operands; // the call succeeded: that one id was accepted
    } else {
        auto op = oic::resubmit_errored_instances(client, o.operands);
        r = co_await std::move(op);
    }
    if (o.json) {
        boost::system::error_code ec;
        auto const answer = boost::json::parse(r.json, ec);
        if (!ec)
            print_json(answer);
        else // no body (202): what was accepted
            print_json(boost::json::object{{"accepted-ids", boost::json::value_from(r.accepted_ids)}});
    } else {
        auto line = [](char const* what, std::vector<std::string> const& ids) {
            if (ids.empty())
                return;
            std::cout << what << ':';
            for (auto const& id : ids)
                std::cout << ' ' << cell(id);
            std::cout << '\n';
        };
        line("resubmitted", r.accepted_ids);
        line("invalid", r.invalid_ids);
        line("not recoverable", r.non_recoverable_ids);
        if (!r.recovery_job_id.empty())
            std::cout << "recovery job: " << cell(r.recovery_job_id) << '\n';
    }
    std::size_t const refused = r.invalid_ids.size() + r.non_recoverable_ids.size();
    if (refused == 0 && r.accepted != false)
        co_return 0;
    std::cerr << program << ": " << refused << " of " << o.operands.size()
              << " errored instances were not resubmitted (invalid or not recoverable)\n";
    co_return 4;
}

asio::awaitable<int> monitoring_instances(oic::client client, options const& o) {
    auto const listed = co_await list_items<oic::integration_instance>(
        client, o, [](auto c, auto q) { return oic::get_integration_instances(c, q); },
        [](auto c, auto q) { return oic::get_all_integration_instances(c, q); });
    auto const& items = listed.items;
    if (o.json) {
        print_json_list(listed, o);
        co_return 0;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "INTEGRATION", "VERSION", "STATUS", "LAST TRACKED"}};
    for (auto const& x : items)
        rows.push_back({cell(x.id), cell(x.integration_id), cell(x.integration_version), cell(x.status),
                        cell(x.last_tracked_time)});
    print_table(rows, items.size(), "instance");
    co_return 0;
}

/// One subcommand: its words, how many operands it takes, the flags of its own (besides the
/// connection settings every command takes), and what it runs. Adding a command is one entry.
struct command {
    std::string_view group, action;
    std::string_view operand; ///< what its operands are, for messages ("ID"); empty: none
    std::size_t min_operands, max_operands;
    std::array<std::string_view, 7> flags;
    asio::awaitable<int> (*run)(oic::client, options const&);
};

constexpr std::size_t many = std::size_t(-1);

constexpr command commands[] = {
    {"connections",
     "list",
     "",
     0,
     0,
     {"--q", "--limit", "--offset", "--order-by", "--all", "--output"},
     connections_list},
    {"integrations",
     "list",
     "",
     0,
     0,
     {"--q", "--limit", "--offset", "--order-by", "--all", "--output"},
     integrations_list},
    {"integrations", "activate", "ID", 1, 1, {"--output"}, integrations_activate},
    {"integrations", "deactivate", "ID", 1, 1, {"--output"}, integrations_deactivate},
    {"integrations", "export", "ID", 1, 1, {"-o", "--output"}, integrations_export},
    {"integrations", "import", "FILE", 1, 1, {"--replace", "--output"}, integrations_import},
    {"monitoring", "errors", "", 0, 0, {"--q", "--limit", "--offset", "--all", "--output"}, monitoring_errors},
    {"monitoring", "resubmit", "ID", 1, many, {"--output"}, monitoring_resubmit},
    {"monitoring", "instances", "", 0, 0, {"--q", "--limit", "--offset", "--all", "--output"}, monitoring_instances},
};

[[maybe_unused]] std::string command_list() { // unused by oic-connections
    std::string out;
    for (auto const& c : commands)
        out += (out.empty() ? "" : ", ") + std::string(c.group) + " " + std::string(c.action);
    return out;
}

/// The command named by the words before any option; errors never echo a word that is not a
/// command's (it may be a secret typed in the wrong place).
command const* find_command(std::vector<std::string> const& words) {
    if (connections_only) {
        if (!words.empty())
            throw usage_error("unexpected argument (not shown: it may hold a secret)");
        return &commands[0];
    }
    if (words.empty())
        throw usage_error("missing command: one of " + command_list());
    bool group_known = false;
    for (auto const& c : commands) {
        group_known = group_known || c.group == words[0];
        if (words.size() >= 2 && c.group == words[0] && c.action == words[1])
            return &c;
    }
    if (group_known)
        throw usage_error((words.size() < 2 ? "missing action after '" : "unknown action after '") + words[0] +
                          "'; commands: " + command_list());
    throw usage_error("unknown command (not shown: it may hold a secret); commands: " + command_list());
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
    std::vector<std::string> words; // the command
    std::vector<std::string> used;  // the command-specific flags given
    for (int i = 1; i < argc; ++i) {
        std::string const arg = argv[i];
        if (arg == "--help" || arg == "-h")
            throw usage_error("");
        if (arg == "--all") {
            o.all = true;
            used.push_back(arg);
            continue;
        }
        if (arg == "--replace") {
            o.replace = true;
            used.push_back(arg);
            continue;
        }
        if (arg == "--allow-readable-secret-file") {
            o.allow_readable_secret_file = true;
            continue;
        }
        if (arg.starts_with("--client-secret") && arg != "--client-secret-file")
            throw usage_error("--client-secret options are not accepted (value not shown): use OIC_CLIENT_SECRET or "
                              "--client-secret-file");
        if (arg == "-o") { // the file a command writes
            if (i + 1 >= argc)
                throw usage_error("-o needs a file name");
            o.output_file = argv[++i];
            used.push_back(arg);
            continue;
        }
        if (!arg.starts_with("--")) {
            if (connections_only)
                throw usage_error("unexpected argument #" + std::to_string(i) + " (not shown: it may hold a secret)");
            // The command's words come first; what follows them are its operands.
            (words.size() < 2 ? words : o.operands).push_back(arg);
            continue;
        }
        if (!strings.contains(arg) && arg != "--limit" && arg != "--offset" && arg != "--timeout" &&
            arg != "--max-redirects" && arg != "--trust-host" && arg != "--client-auth")
            throw usage_error("unknown option " + shown(arg));
        if (i + 1 >= argc)
            throw usage_error(arg + " needs a value");
        std::string const value = argv[++i];
        if (arg == "--q" || arg == "--limit" || arg == "--offset" || arg == "--order-by" || arg == "--output")
            used.push_back(arg);
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
    o.cmd = find_command(words);
    for (auto const& flag : used)
        if (std::find(o.cmd->flags.begin(), o.cmd->flags.end(), flag) == o.cmd->flags.end())
            throw usage_error(flag + " does not go with '" + std::string(o.cmd->group) + " " +
                              std::string(o.cmd->action) + "'");
    if (o.operands.size() < o.cmd->min_operands)
        throw usage_error("'" + std::string(o.cmd->group) + " " + std::string(o.cmd->action) + "' needs " +
                          (o.cmd->max_operands == 1 ? "" : "at least one ") + std::string(o.cmd->operand));
    if (o.operands.size() > o.cmd->max_operands)
        throw usage_error("'" + std::string(o.cmd->group) + " " + std::string(o.cmd->action) + "' takes " +
                          (o.cmd->max_operands == 0 ? "no arguments" : "one " + std::string(o.cmd->operand)) +
                          " (more not shown: they may hold a secret)");
    if (o.cmd->run == integrations_export && o.output_file.empty())
        throw usage_error("'integrations export' needs -o FILE");
    if (output != "table" && output != "json")
        throw usage_error("--output expects table or json, got '" + oic::printable(output) + "'");
    o.json = output == "json";
    o.query.keep_json = o.json; // the items' own JSON is what --output json prints
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

/// The exit code for a failure (see `usage_options`): which party said no, then what kind of no.
int exit_code(oic::error_with_diagnostics const& e) {
    if (e.code() == oic::error::redirect_refused)
        return 8;
    // Which party said no, by the library's error conditions.
    if (e.code() == oic::condition::configuration)
        return 2;
    if (e.code() == oic::condition::token_endpoint)
        return 3;
    if (e.code() == oic::condition::api)
        return e.code() == oic::error::api_conflict ? 6 : 4; // exists, or locked: a conflict to resolve first
    // The library reports a file it cannot write (an export's target) or read (an import's
    // archive) with the system's code.
    using boost::system::errc::errc_t;
    for (auto const local :
         {errc_t::no_space_on_device, errc_t::file_too_large, errc_t::read_only_file_system, errc_t::permission_denied,
          errc_t::operation_not_permitted, errc_t::is_a_directory, errc_t::no_such_file_or_directory,
          errc_t::not_a_directory, errc_t::illegal_byte_sequence, errc_t::io_error, errc_t::invalid_argument})
        if (e.code() == local)
            return 7;
    return 5;
}

/// The library's explanation, in the CLI's terms where the library names its own settings.
std::string explain(oic::error_with_diagnostics const& e) {
    auto const& d = e.get_diagnostics();
    if (e.code() != oic::error::redirect_refused || d.redirect_to.empty())
        return e.what();
    std::string const host = oic::printable(d.redirect_to);
    return "the API answered HTTP " + std::to_string(d.http_status) + ", a redirect to " + host +
           ", which is not trusted with the token: add --trust-host " + host +
           " to send it there, or --redirect-auth never to follow the redirect without it";
}

asio::awaitable<int> run(options o) {
    auto const client = make_client(co_await asio::this_coro::executor, o);
    auto op = o.cmd->run(client, o);
    co_return co_await std::move(op);
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 0 && std::filesystem::path(argv[0]).filename() == "oic-connections") {
        connections_only = true;
        program = "oic-connections";
    }
    options opts;
    try {
        opts = parse_options(argc, argv);
    } catch (usage_error const& e) {
        if (*e.what() == '\0') {
            std::cout << (connections_only ? connections_usage_head : usage_head) << usage_options;
            return 0;
        }
        std::cerr << program << ": " << e.what() << " (see --help)\n";
        return 2;
    }
    int code = 0;
    try {
        asio::io_context ioc;
        asio::co_spawn(ioc, run(std::move(opts)), [&](std::exception_ptr e, int result) {
            if (e)
                std::rethrow_exception(e);
            code = result;
        });
        ioc.run();
    } catch (oic::error_with_diagnostics const& e) {
        std::cerr << program << ": " << explain(e) << '\n';
        code = exit_code(e);
    } catch (boost::system::system_error const& e) {
        std::cerr << program << ": " << oic::printable(e.code().message()) << '\n';
        code = 5;
    } catch (std::exception const& e) {
        std::cerr << program << ": unexpected error: " << oic::printable(e.what()) << '\n';
        code = 5;
    }
    return code;
}
