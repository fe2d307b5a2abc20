// The oic-connections CLI against the oic-mock-server executable, each in its own process.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sstream>
#include <string>
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
    process_result r{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(out_path), slurp(err_path)};
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
    return {{"OIC_TOKEN_URL", m.get("token_url")},
            {"OIC_CLIENT_ID", m.get("client_id")},
            {"OIC_CLIENT_SECRET", m.get("client_secret")},
            {"OIC_SCOPE", m.get("scope")},
            {"OIC_BASE_URL", m.get(base.c_str())},
            {"OIC_INTEGRATION_INSTANCE", m.get("integration_instance")}};
}

} // namespace

TEST_CASE("oic-connections against oic-mock-server", "[cli]") {
    mock_process mock;
    auto const secret = mock.get("client_secret");
    auto const cli = std::string(OIC_CLI_PATH);
    auto const ca = mock.get("ca_file");

    SECTION("json output of every connection, through the runtime host") {
        auto const r = run_process({cli, "--cacert", ca, "--all", "--output", "json"}, env_for(mock, "runtime_url"));
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
        CHECK_THAT(r.out, Catch::StartsWith("ID") && Catch::Contains("Zürich ERP") && Catch::EndsWith("1 connection\n"));
    }
    SECTION("the secret from a file") {
        char path[] = "/tmp/oic-secret-XXXXXX";
        int const fd = mkstemp(path);
        REQUIRE(write(fd, (secret + "\n").data(), secret.size() + 1) == static_cast<ssize_t>(secret.size() + 1));
        close(fd);
        auto env = env_for(mock, "design_url");
        env.erase("OIC_CLIENT_SECRET");
        auto const r = run_process({cli, "--cacert", ca, "--client-secret-file", path, "--limit", "3"}, env);
        unlink(path);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::EndsWith("3 connections\n"));
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
