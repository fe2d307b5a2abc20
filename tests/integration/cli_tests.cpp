// The oic CLI (and oic-connections, the same program without subcommands) against the oic-mock-server
// executable, each in its own process.

#include "common.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

struct process_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

std::string slurp(std::string const& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Runs `args` with `env` added to this process's environment; waits for it.
process_result run_process(std::vector<std::string> args, std::map<std::string, std::string> const& env) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (std::string_view(*e).substr(0, 4) != "OIC_")
            env_strings.emplace_back(*e);
    for (auto const& [k, v] : env)
        env_strings.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    char out_path[] = "/tmp/oic-cli-out-XXXXXX";
    char err_path[] = "/tmp/oic-cli-err-XXXXXX";
    int const out_fd = mkstemp(out_path);
    int const err_fd = mkstemp(err_path);
    REQUIRE((out_fd >= 0 && err_fd >= 0));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    pid_t pid = 0;
    int const rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out_fd);
    close(err_fd);
    REQUIRE(rc == 0);
    int status = 0;
    waitpid(pid, &status, 0);
    process_result r{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(out_path),
                     slurp(err_path)};
    unlink(out_path);
    unlink(err_path);
    return r;
}

/// oic-mock-server in its own process; its ready line parsed.
class mock_process {
public:
    mock_process() {
        int fds[2];
        REQUIRE(pipe(fds) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        char* argv[] = {const_cast<char*>(OIC_MOCK_SERVER_PATH), nullptr};
        REQUIRE(posix_spawn(&pid_, argv[0], &actions, nullptr, argv, environ) == 0);
        posix_spawn_file_actions_destroy(&actions);
        close(fds[1]);
        std::string line;
        char c = 0;
        while (read(fds[0], &c, 1) == 1 && c != '\n')
            line += c;
        close(fds[0]);
        ready_ = boost::json::parse(line).as_object();
    }
    ~mock_process() {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }
    std::string get(char const* key) const { return std::string(ready_.at(key).as_string()); }

private:
    pid_t pid_ = 0;
    boost::json::object ready_;
};

std::map<std::string, std::string> env_for(mock_process const& m, std::string const& base) {
    return {{"OIC_TOKEN_URL", m.get("token_url")},         {"OIC_CLIENT_ID", m.get("client_id")},
            {"OIC_CLIENT_SECRET", m.get("client_secret")}, {"OIC_SCOPE", m.get("scope")},
            {"OIC_BASE_URL", m.get(base.c_str())},         {"OIC_INTEGRATION_INSTANCE", m.get("integration_instance")}};
}

/// `--trust-host` for the mock's design-time host: an address, not a region's design host.
std::string design_host(mock_process const& m) {
    auto const url = m.get("design_url");
    return url.substr(url.find("://") + 3);
}

/// A secret file with `mode`; removed on destruction.
struct secret_file {
    explicit secret_file(std::string const& content, mode_t mode) {
        int const fd = mkstemp(path);
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
        REQUIRE(fchmod(fd, mode) == 0);
        close(fd);
    }
    ~secret_file() { unlink(path); }
    char path[32] = "/tmp/oic-secret-XXXXXX";
};

} // namespace

TEST_CASE("oic-connections against oic-mock-server", "[cli]") {
    mock_process mock;
    auto const secret = mock.get("client_secret");
    auto const cli = std::string(OIC_CLI_PATH);
    auto const ca = mock.get("ca_file");

    SECTION("json output of every connection, through the runtime host") {
        auto const r =
            run_process({cli, "--cacert", ca, "--trust-host", design_host(mock), "--all", "--output", "json"},
                        env_for(mock, "runtime_url"));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        auto const items = boost::json::parse(r.out).as_array();
        CHECK(items.size() == 120);
        CHECK(items[0].as_object().contains("adapterType"));
        CHECK(r.err.empty());
    }
    SECTION("a table of one filtered page") {
        auto const r = run_process({cli, "--cacert", ca, "--q", "{name:'Zürich ERP'}"}, env_for(mock, "design_url"));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK_THAT(r.out,
                   Catch::StartsWith("ID") && Catch::Contains("Zürich ERP") && Catch::EndsWith("1 connection\n"));
    }
    SECTION("without --trust-host the redirect to an untrusted design host is refused, naming it: exit 8") {
        auto const r = run_process({cli, "--cacert", ca}, env_for(mock, "runtime_url"));
        CHECK(r.exit_code == 8);
        // What to change, in the CLI's terms, not the library's.
        CHECK_THAT(r.err, Catch::Contains("--trust-host " + design_host(mock)) &&
                              Catch::Contains("--redirect-auth never") && !Catch::Contains("http::") &&
                              !Catch::Contains("client_config"));
        CHECK(r.out.empty());
    }
    SECTION("the secret from a file readable by its owner only") {
        secret_file const file(secret + "\n", 0600);
        auto env = env_for(mock, "design_url");
        env.erase("OIC_CLIENT_SECRET");
        auto const r = run_process({cli, "--cacert", ca, "--client-secret-file", file.path, "--limit", "3"}, env);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::EndsWith("3 connections\n"));

        secret_file const open_file(secret, 0644);
        auto const refused = run_process({cli, "--cacert", ca, "--client-secret-file", open_file.path}, env);
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains("chmod 600") && Catch::Contains("644") && !Catch::Contains(secret));
        auto const allowed = run_process({cli, "--cacert", ca, "--client-secret-file", open_file.path,
                                          "--allow-readable-secret-file", "--limit", "1"},
                                         env);
        CHECK(allowed.exit_code == 0);
    }
    SECTION("nothing that may be a secret is echoed") {
        auto env = env_for(mock, "design_url");
        env.erase("OIC_CLIENT_SECRET");
        for (std::vector<std::string> const& args : {std::vector<std::string>{"--client-secret=hunter2-value"},
                                                     {"--client-secretx", "hunter2-value"},
                                                     {"--clientsecret=hunter2-value"},
                                                     {"--my-password=hunter2-value"},
                                                     {"hunter2-value"},
                                                     {"--unknown=hunter2-value"},
                                                     {"--client-secret-file", "hunter2-value"},
                                                     {"--client-secret-file", "/tmp/hunter2-value/none"}}) {
            std::vector<std::string> argv{cli};
            argv.insert(argv.end(), args.begin(), args.end());
            auto const r = run_process(argv, env);
            INFO(args[0]);
            CHECK(r.exit_code == 2);
            CHECK_FALSE(r.err.empty());
            CHECK_THAT(r.err + r.out, !Catch::Contains("hunter2"));
        }
    }
    SECTION("--redirect-auth never: the token is dropped at the redirect, exit 4") {
        auto const r = run_process({cli, "--cacert", ca, "--redirect-auth", "never"}, env_for(mock, "runtime_url"));
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.err, Catch::Contains("401") && Catch::Contains("NotAuthenticated"));
    }
    SECTION("wrong secret: exit 3, one line, no secret") {
        auto env = env_for(mock, "design_url");
        env["OIC_CLIENT_SECRET"] = "definitely-wrong-secret";
        auto const r = run_process({cli, "--cacert", ca}, env);
        CHECK(r.exit_code == 3);
        CHECK_THAT(r.err, Catch::Contains("invalid_client") && !Catch::Contains("definitely-wrong-secret"));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    SECTION("no CA: TLS verification fails, exit 5") {
        auto const r = run_process({cli}, env_for(mock, "design_url"));
        CHECK(r.exit_code == 5);
        CHECK_THAT(r.err, Catch::Contains("TLS"));
    }
    SECTION("bad usage: exit 2 with a clear line") {
        auto const env = env_for(mock, "design_url");
        CHECK(run_process({cli, "--limit", "many"}, env).exit_code == 2);
        CHECK(run_process({cli, "--output", "xml"}, env).exit_code == 2);
        auto const flag = run_process({cli, "--client-secret", "x"}, env);
        CHECK(flag.exit_code == 2);
        CHECK_THAT(flag.err, Catch::Contains("OIC_CLIENT_SECRET"));
        auto missing = env;
        missing.erase("OIC_BASE_URL");
        auto const r = run_process({cli}, missing);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("--base-url"));
        auto no_scheme = env; // the value is repeated, so the user sees what was read
        no_scheme["OIC_BASE_URL"] = "design.example.com/ic?sig=x";
        auto const schemeless = run_process({cli}, no_scheme);
        CHECK(schemeless.exit_code == 2);
        CHECK_THAT(schemeless.err, Catch::Contains("\"design.example.com/ic\"") && !Catch::Contains("sig=x"));
        no_scheme["OIC_BASE_URL"] = "https://admin:hunter2-value@design.example.com";
        auto const userinfo = run_process({cli}, no_scheme);
        CHECK(userinfo.exit_code == 2);
        CHECK_THAT(userinfo.err, Catch::Contains("base_url") && !Catch::Contains("hunter2"));
    }
    SECTION("nothing listening: exit 5") {
        auto env = env_for(mock, "design_url");
        env["OIC_TOKEN_URL"] = "https://127.0.0.1:1/oauth2/v1/token";
        auto const r = run_process({cli, "--cacert", ca, "--timeout", "5"}, env);
        CHECK(r.exit_code == 5);
    }
}

TEST_CASE("oic-connections escapes control characters in what servers send", "[cli][security]") {
    // A hostile server on loopback (plain http is allowed there): a connection name and an error
    // description that try to drive the terminal and forge output lines.
    bool const fail_token = GENERATE(false, true);
    oic_test::raw_server server([fail_token](boost::asio::ip::tcp::socket& s, std::string const& head,
                                             std::atomic<bool> const&) {
        auto answer = [&](char const* status, std::string const& body) {
            oic_test::raw_server::send(s, std::string("HTTP/1.1 ") + status +
                                              "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                              "Content-Length: " +
                                              std::to_string(body.size()) + "\r\n\r\n" + body);
        };
        if (head.starts_with("POST") && fail_token)
            answer("400 Bad Request",
                   R"({"error":"invalid_scope\u001b[2J","error_description":"bad\r\noic-connections: forged line"})");
        else if (head.starts_with("POST"))
            answer("200 OK", R"({"access_token":"abc","token_type":"Bearer","expires_in":3600})");
        else
            answer("200 OK",
                   R"({"items":[{"id":"X\u001b]0;pwned\u0007","name":"evil\u001b[2J\u009b31m"}],"hasMore":false})");
    });
    std::map<std::string, std::string> const env{{"OIC_TOKEN_URL", server.url() + "/oauth2/v1/token"},
                                                 {"OIC_CLIENT_ID", "id"},
                                                 {"OIC_CLIENT_SECRET", "secret"},
                                                 {"OIC_BASE_URL", server.url()},
                                                 {"OIC_INTEGRATION_INSTANCE", "i"}};
    auto const cli = std::string(OIC_CLI_PATH);
    auto has_control = [](std::string const& s) {
        return std::any_of(s.begin(), s.end(), [](char c) { return (c >= 0 && c < 0x20 && c != '\n') || c == 0x7f; }) ||
               s.find("\xc2\x9b") != std::string::npos;
    };
    if (fail_token) {
        auto const r = run_process({cli}, env);
        CHECK(r.exit_code == 3);
        CHECK_FALSE(has_control(r.err));
        CHECK_THAT(r.err, Catch::Contains("invalid_scope\\x1b[2J") && Catch::Contains("bad\\x0d\\x0aoic-connections"));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    } else {
        auto const table = run_process({cli}, env);
        CHECK(table.exit_code == 0);
        CHECK_FALSE(has_control(table.out));
        CHECK_THAT(table.out, Catch::Contains("evil\\x1b[2J\\xc2\\x9b31m"));
        auto const json = run_process({cli, "--output", "json"}, env);
        CHECK(json.exit_code == 0);
        CHECK_FALSE(has_control(json.out));
        CHECK(boost::json::parse(json.out).at("items").as_array()[0].at("name").as_string() == "evil\x1b[2J\xc2\x9b"
                                                                                               "31m");
    }
}

namespace {

/// `oic` with `args`, through the runtime host (trusting the mock's design host), the mock's CA.
process_result oic_command(mock_process const& mock, std::vector<std::string> args) {
    std::vector<std::string> argv{OIC_COMMAND_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    for (std::string const& a :
         {std::string("--cacert"), mock.get("ca_file"), std::string("--trust-host"), design_host(mock)})
        argv.push_back(a);
    return run_process(argv, env_for(mock, "runtime_url"));
}

boost::json::array json_array(process_result const& r) {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return boost::json::parse(r.out).as_array();
}

} // namespace

TEST_CASE("oic subcommands against oic-mock-server, through the runtime host", "[cli][monitoring]") {
    mock_process mock;

    SECTION("connections list: what oic-connections prints") {
        auto const r = oic_command(mock, {"connections", "list", "--limit", "5"});
        auto const legacy = run_process(
            {OIC_CLI_PATH, "--limit", "5", "--cacert", mock.get("ca_file"), "--trust-host", design_host(mock)},
            env_for(mock, "runtime_url"));
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::StartsWith("ID") && Catch::EndsWith("5 connections\n"));
        CHECK(r.out == legacy.out);
        CHECK(json_array(oic_command(mock, {"connections", "list", "--all", "--output", "json"})).size() == 120);
    }
    SECTION("integrations list, activate, deactivate") {
        auto const configured = json_array(
            oic_command(mock, {"integrations", "list", "--q", "{status:'CONFIGURED'}", "--all", "--output", "json"}));
        REQUIRE_FALSE(configured.empty());
        for (auto const& x : configured)
            CHECK(x.at("status") == "CONFIGURED");
        std::string const id(configured[0].at("id").as_string());
        auto const on = oic_command(mock, {"integrations", "activate", id});
        INFO(on.err);
        CHECK(on.exit_code == 0);
        CHECK(on.out == id + " ACTIVATED\n");
        auto const twice = oic_command(mock, {"integrations", "activate", id});
        CHECK(twice.exit_code == 4); // 412: active already
        CHECK_THAT(twice.err, Catch::Contains("412"));
        auto const off = oic_command(mock, {"integrations", "deactivate", id, "--output", "json"});
        CHECK(off.exit_code == 0);
        CHECK(boost::json::parse(off.out).at("status") == "CONFIGURED");
        CHECK(oic_command(mock, {"integrations", "deactivate", "NO_SUCH|01.00.0000"}).exit_code == 4);
    }
    SECTION("monitoring errors, resubmit, instances") {
        auto const errors =
            json_array(oic_command(mock, {"monitoring", "errors", "--all", "--limit", "4", "--output", "json"}));
        CHECK(errors.size() == 15);
        std::vector<std::string> recoverable, stuck;
        for (auto const& e : errors)
            (e.at("recoverable").as_bool() ? recoverable : stuck).emplace_back(e.at("id").as_string());
        REQUIRE(recoverable.size() >= 2);
        REQUIRE_FALSE(stuck.empty());
        auto const table = oic_command(mock, {"monitoring", "errors", "--limit", "4"});
        CHECK(table.exit_code == 0);
        CHECK_THAT(table.out, Catch::StartsWith("ID") && Catch::Contains("RECOVERABLE") &&
                                  Catch::EndsWith("4 errored instances\n"));

        auto const one = oic_command(mock, {"monitoring", "resubmit", recoverable[0]});
        INFO(one.err);
        CHECK(one.exit_code == 0);
        CHECK_THAT(one.out, Catch::StartsWith("resubmitted: " + recoverable[0] + "\n"));
        auto const again = oic_command(mock, {"monitoring", "resubmit", recoverable[0]});
        CHECK(again.exit_code == 4); // no longer errored: 412
        CHECK_THAT(again.err, Catch::Contains("412"));

        auto const many = oic_command(mock, {"monitoring", "resubmit", recoverable[1], stuck[0], "NO_SUCH"});
        CHECK(many.exit_code == 4); // not every one was accepted
        CHECK_THAT(many.out, Catch::Contains("resubmitted: " + recoverable[1] + "\n") &&
                                 Catch::Contains("invalid: NO_SUCH\n") &&
                                 Catch::Contains("not recoverable: " + stuck[0] + "\n"));
        CHECK_THAT(many.err, Catch::Contains("2 of 3 errored instances were not resubmitted"));
        CHECK(json_array(oic_command(mock, {"monitoring", "errors", "--all", "--output", "json"})).size() == 13);

        auto const json = oic_command(mock, {"monitoring", "resubmit", recoverable[2], "--output", "json"});
        CHECK(json.exit_code == 0);
        CHECK(boost::json::parse(json.out).at("resubmit-successful") == true);

        auto const failed =
            json_array(oic_command(mock, {"monitoring", "instances", "--q", "{timewindow: '1d', status: 'FAILED'}",
                                          "--all", "--output", "json"}));
        CHECK(failed.size() == 12); // 15 failed runs, 3 of them resubmitted since
        for (auto const& x : failed)
            CHECK(x.at("status") == "FAILED");
        auto const runs = oic_command(mock, {"monitoring", "instances", "--all"});
        CHECK(runs.exit_code == 0);
        CHECK_THAT(runs.out, Catch::Contains("RESUBMITTED") && Catch::EndsWith("60 instances\n"));
    }
    SECTION("integrations export: the archive whole under its name, or nothing and a clear exit code") {
        auto const first = oic_command(mock, {"integrations", "list", "--limit", "1", "--output", "json"});
        REQUIRE(first.exit_code == 0);
        auto const page = boost::json::parse(first.out).as_object(); // one page: the API's own, hasMore and all
        CHECK(page.at("hasMore") == true);
        CHECK(page.at("totalResults").as_int64() > 1);
        CHECK(page.at("limit") == 1);
        REQUIRE(page.at("items").as_array().size() == 1);
        std::string const id(page.at("items").at(0).at("id").as_string());
        oic_test::scratch_folder folder;
        auto const target = (folder.path() / "one.iar").string();
        auto const r = oic_command(mock, {"integrations", "export", id, "-o", target});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out == target + ": 65536 bytes\n");
        CHECK(r.err.empty()); // stderr is no terminal here: no progress bar
        // The bytes the mock sends for this id (a function of the id and the size, in any process).
        oic::testing::mock_server same_data;
        CHECK(oic::testing::sha256_hex(oic_test::read_file(target)) == same_data.archive_sha256(id));

        auto const unknown = oic_command(mock, {"integrations", "export", "NO_SUCH|01.00.0000", "-o", target + "2"});
        CHECK(unknown.exit_code == 4);
        auto const no_folder =
            oic_command(mock, {"integrations", "export", id, "-o", (folder.path() / "missing" / "x.iar").string()});
        CHECK(no_folder.exit_code == 7);
        CHECK_THAT(no_folder.err, Catch::Contains("missing/x.iar"));
        CHECK(oic_command(mock, {"integrations", "export", id}).exit_code == 2); // no -o
        CHECK(folder.names() == std::vector<std::string>{"one.iar"});
    }
    SECTION("integrations import: added, exit 6 when it exists, --replace, exit 7 for a file that cannot be read") {
        oic_test::scratch_folder folder;
        auto const fresh = folder.path() / "fresh.iar";
        std::ofstream(fresh, std::ios::binary) << oic::testing::make_mock_archive("FRESH|01.00.0000", 100'000);
        auto const added = oic_command(mock, {"integrations", "import", fresh.string()});
        INFO(added.err);
        CHECK(added.exit_code == 0);
        CHECK(added.out == "imported FRESH|01.00.0000 (100000 bytes)\n");
        CHECK(added.err.empty()); // no terminal: no progress bar
        auto const exists = oic_command(mock, {"integrations", "import", fresh.string()});
        CHECK(exists.exit_code == 6);
        CHECK_THAT(exists.err, Catch::Contains("409") && Catch::Contains("--replace"));
        auto const replaced =
            oic_command(mock, {"integrations", "import", fresh.string(), "--replace", "--output", "json"});
        CHECK(replaced.exit_code == 0);
        auto const json = boost::json::parse(replaced.out);
        CHECK(json.at("id") == "FRESH|01.00.0000");
        CHECK(json.at("bytes") == 100'000);
        CHECK(json.at("replaced") == true);
        auto const missing = oic_command(mock, {"integrations", "import", (folder.path() / "nope.iar").string()});
        CHECK(missing.exit_code == 7);
        CHECK_THAT(missing.err, Catch::Contains("nope.iar cannot be read"));
        CHECK(oic_command(mock, {"integrations", "import", folder.path().string()}).exit_code == 7); // a folder
        CHECK(oic_command(mock, {"integrations", "import"}).exit_code == 2);
    }
    SECTION("usage: the subcommands listed; mistakes exit 2 without echoing what may be a secret") {
        auto const help = run_process({OIC_COMMAND_PATH, "--help"}, {});
        CHECK(help.exit_code == 0);
        for (char const* c : {"connections list", "integrations list", "integrations activate ID",
                              "integrations deactivate ID", "integrations import FILE [--replace]", "monitoring errors",
                              "monitoring resubmit ID...", "monitoring instances"})
            CHECK_THAT(help.out, Catch::Contains(c));
        auto const env = env_for(mock, "runtime_url");
        auto const none = run_process({OIC_COMMAND_PATH}, env);
        CHECK(none.exit_code == 2);
        CHECK_THAT(none.err, Catch::Contains("missing command") && Catch::Contains("monitoring resubmit"));
        auto const secret = run_process({OIC_COMMAND_PATH, "hunter2-value", "list"}, env);
        CHECK(secret.exit_code == 2);
        CHECK_THAT(secret.err, Catch::Contains("unknown command") && !Catch::Contains("hunter2"));
        auto const extra = run_process({OIC_COMMAND_PATH, "connections", "list", "hunter2-value"}, env);
        CHECK(extra.exit_code == 2);
        CHECK_THAT(extra.err, !Catch::Contains("hunter2"));
        CHECK(run_process({OIC_COMMAND_PATH, "monitoring", "resubmit"}, env).exit_code == 2);
        CHECK(run_process({OIC_COMMAND_PATH, "integrations", "activate"}, env).exit_code == 2);
        auto const flag = run_process({OIC_COMMAND_PATH, "integrations", "activate", "X", "--all"}, env);
        CHECK(flag.exit_code == 2);
        CHECK_THAT(flag.err, Catch::Contains("--all does not go with 'integrations activate'"));
        // oic-connections takes no subcommand: a word is an unexpected argument, as it always was.
        CHECK(run_process({OIC_CLI_PATH, "connections", "list"}, env).exit_code == 2);
    }
}

TEST_CASE("oic exits 6 on a conflict (HTTP 409 or 423)", "[cli][monitoring]") {
    unsigned const status = GENERATE(409u, 423u, 412u);
    oic_test::raw_server server(
        [status](boost::asio::ip::tcp::socket& s, std::string const& head, std::atomic<bool> const&) {
            auto answer = [&](std::string const& line, std::string const& body) {
                oic_test::raw_server::send(s, "HTTP/1.1 " + line +
                                                  "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                                  "Content-Length: " +
                                                  std::to_string(body.size()) + "\r\n\r\n" + body);
            };
            if (head.starts_with("POST /oauth2/v1/token"))
                answer("200 OK", R"({"access_token":"abc","token_type":"Bearer","expires_in":3600})");
            else
                answer(std::to_string(status) + " Whatever", R"({"code":"Conflict","message":"It is locked."})");
        });
    std::map<std::string, std::string> const env{{"OIC_TOKEN_URL", server.url() + "/oauth2/v1/token"},
                                                 {"OIC_CLIENT_ID", "id"},
                                                 {"OIC_CLIENT_SECRET", "secret"},
                                                 {"OIC_BASE_URL", server.url()},
                                                 {"OIC_INTEGRATION_INSTANCE", "i"}};
    auto const r = run_process({OIC_COMMAND_PATH, "integrations", "activate", "X|01.00.0000"}, env);
    CHECK(r.exit_code == (status == 412 ? 4 : 6));
    CHECK_THAT(r.err, Catch::Contains(std::to_string(status)) && Catch::Contains("It is locked."));
}
