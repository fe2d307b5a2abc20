// The oic-connections CLI against the oic-mock-server executable, each in its own process.

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
    SECTION("without --trust-host the redirect to an untrusted design host is refused, naming it") {
        auto const r = run_process({cli, "--cacert", ca}, env_for(mock, "runtime_url"));
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.err, Catch::Contains("--trust-host " + design_host(mock)));
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
        CHECK(boost::json::parse(json.out).as_array()[0].at("name").as_string() == "evil\x1b[2J\xc2\x9b"
                                                                                   "31m");
    }
}
