// A fleet shares one token through Redis: processes of fleet-member against the mock and a
// redis-server of the test's own, and in-process "members" (each its own session, store and shared
// token) for the cases a test must set up precisely.

#include "common.hpp"
#include "redis_server.hpp"

#include <oic/redis/token_store.hpp>
#include <oic/testing/test_ca.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace oic;
using namespace oic_test;
using namespace std::chrono_literals;

namespace {

/// One command to Redis, as an operator with redis-cli would send it.
redis::detail::value redis_command(unsigned short port, std::vector<std::string> args) {
    asio::io_context ioc;
    redis::detail::endpoint const ep{"127.0.0.1", port, "", secret(""), nullptr, {}};
    return run(ioc, [&]() -> asio::awaitable<redis::detail::value> {
        redis::detail::link<asio::any_io_executor> link(co_await asio::this_coro::executor, ep);
        std::string what;
        REQUIRE_FALSE(co_await link.open(redis::clock::now() + 2s, what));
        error_code ec;
        redis::detail::value v;
        switch (args.size()) {
        case 2: std::tie(ec, v) = co_await link.exec(redis::clock::now() + 2s, args[0], args[1]); break;
        case 3: std::tie(ec, v) = co_await link.exec(redis::clock::now() + 2s, args[0], args[1], args[2]); break;
        default: FAIL("redis_command takes 2 or 3 words");
        }
        REQUIRE_FALSE(ec);
        co_return v;
    }());
}

redis::options store_options(unsigned short port) {
    redis::options o;
    o.port = port;
    o.poll_interval = 20ms;
    return o;
}

/// What a fleet-member process needs to reach `server` and the Redis on `redis_port`.
std::vector<std::string> fleet_environment(testing::mock_server const& server, unsigned short redis_port) {
    return {"OIC_TOKEN_URL=" + server.token_url(),
            "OIC_CLIENT_ID=" + server.options().client_id,
            "OIC_CLIENT_SECRET=" + server.options().client_secret,
            "OIC_SCOPE=" + server.options().scope,
            "OIC_BASE_URL=" + server.design_url(),
            "OIC_INTEGRATION_INSTANCE=" + server.options().integration_instance,
            "OIC_CA_FILE=" + server.ca_file(),
            "OIC_REDIS_HOST=127.0.0.1",
            "OIC_REDIS_PORT=" + std::to_string(redis_port)};
}

/// A process of the fleet, in this one: its own session, store and shared token, and a client.
struct member {
    http::session session;
    redis::token_store store;
    shared_token token;
    client c;

    member(asio::io_context& ioc, client_config const& cfg, redis::options o)
        : session(ioc.get_executor(), cfg.session), store(ioc.get_executor(), std::move(o), cfg.credentials),
          token(redis::make_shared_token(session, cfg.credentials, store, cfg.token)), c(cfg, session, token) {}

    std::size_t page(asio::io_context& ioc) {
        connections_query q;
        q.limit = 5;
        return run(ioc, get_connections(c, q)).items.size();
    }
};

} // namespace

TEST_CASE("a fleet of 8 processes, 200 concurrent calls each, on an empty store: 1 token request",
          "[integration][fleet]") {
    if (!redis_server::available())
        return;
    redis_server redis;
    testing::mock_server server;
    server.set_token_latency(200ms); // the fleet starts together and finds the token missing together
    auto const env = fleet_environment(server, redis.port());
    std::vector<pid_t> fleet;
    for (int i = 0; i < 8; ++i)
        fleet.push_back(spawn_process({OIC_FLEET_MEMBER_PATH, "200"}, env));
    for (auto pid : fleet) {
        REQUIRE(pid > 0);
        CHECK(wait_process(pid) == 0); // all 200 calls answered
    }
    CHECK(server.get_counters().token_requests == 1);
    CHECK(server.get_counters().design_api_requests == 8 * 200);
}

TEST_CASE("the process holding the lock is killed mid-fetch: another fetches once the lock expires",
          "[integration][fleet]") {
    if (!redis_server::available())
        return;
    redis_server redis;
    testing::mock_server server;
    server.set_token_latency(10s); // the first process's fetch hangs...
    auto env = fleet_environment(server, redis.port());
    env.push_back("OIC_REDIS_LOCK_TTL_MS=1000");
    pid_t const holder = spawn_process({OIC_FLEET_MEMBER_PATH, "1"}, env);
    REQUIRE(holder > 0);
    client_config const cfg = config_for(server, server.design_url());
    asio::io_context ioc;
    member watcher(ioc, cfg, store_options(redis.port()));
    auto const lock_key = watcher.store.key() + ":lock";
    for (int i = 0; i < 200 && redis_command(redis.port(), {"EXISTS", lock_key}).integer == 0; ++i)
        std::this_thread::sleep_for(10ms);
    REQUIRE(redis_command(redis.port(), {"EXISTS", lock_key}).integer == 1); // ...holding the lock
    for (int i = 0; i < 1000 && server.get_counters().token_requests == 0; ++i)
        std::this_thread::sleep_for(10ms);
    REQUIRE(server.get_counters().token_requests == 1); // ...in the middle of its token request
    ::kill(holder, SIGKILL);
    CHECK(wait_process(holder) == -1);
    server.set_token_latency(0ms);

    auto const t0 = std::chrono::steady_clock::now();
    CHECK(watcher.page(ioc) == 5);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s); // the lock's 1 s, not max_wait
    auto const s = watcher.store.stats();
    CHECK(s.waits == 1);
    CHECK(s.fetches == 1);
    CHECK(s.fallbacks == 0);
    CHECK(server.get_counters().token_requests == 2); // the dead process's, and this one
}

TEST_CASE("members share the token in Redis, and a 401 removes only the refused token, once", "[integration][fleet]") {
    if (!redis_server::available())
        return;
    redis_server redis;
    testing::mock_server server;
    asio::io_context ioc;
    client_config const cfg = config_for(server, server.design_url());
    member a(ioc, cfg, store_options(redis.port()));
    member b(ioc, cfg, store_options(redis.port()));
    CHECK(a.page(ioc) == 5);
    CHECK(b.page(ioc) == 5);
    CHECK(server.get_counters().token_requests == 1); // b used a's token from Redis
    CHECK(a.store.stats().fetches == 1);
    CHECK(b.store.stats().hits == 1);

    // The key names no secret; the value is sealed: neither holds the token or the client secret.
    CHECK(a.store.key().find(server.options().client_id) == std::string::npos);
    auto const stored = redis_command(redis.port(), {"GET", a.store.key()});
    REQUIRE(stored.type == redis::detail::value::kind::string);
    CHECK(stored.str.find("Bearer") == std::string::npos);
    CHECK(stored.str.find(server.options().client_secret) == std::string::npos);
    auto const ttl = redis_command(redis.port(), {"PTTL", a.store.key()}).integer;
    CHECK(ttl > 0);
    CHECK(ttl <= 3600'000 - 30'000); // stored to expire before the token does

    server.revoke_tokens();
    CHECK(a.page(ioc) == 5); // 401: a removes the refused token from Redis and fetches a new one
    CHECK(a.store.stats().invalidations == 1);
    CHECK(b.page(ioc) == 5); // 401 too, but Redis holds a's new token now: b takes it
    CHECK(b.store.stats().invalidations == 0);
    CHECK(b.store.stats().hits == 2);
    CHECK(server.get_counters().token_requests == 2);
}

TEST_CASE("a tampered or foreign value in Redis is rejected, never used", "[integration][fleet]") {
    if (!redis_server::available())
        return;
    redis_server redis;
    testing::mock_server server;
    asio::io_context ioc;
    client_config const cfg = config_for(server, server.design_url());
    SECTION("planted by someone with another secret") {
        auto foreign_creds = cfg.credentials;
        foreign_creds.client_secret = secret("not-the-secret");
        redis::token_store foreign(ioc.get_executor(), store_options(redis.port()), foreign_creds);
        shared_token planter(
            ioc.get_executor(),
            foreign.source([](diagnostics&) -> asio::awaitable<std::tuple<error_code, access_token>> {
                co_return std::tuple{error_code{}, access_token{secret("planted"), "Bearer", 3600s, ""}};
            }));
        CHECK(run(ioc, planter.get())->value.reveal() == "planted");
        REQUIRE(foreign.key() == member(ioc, cfg, store_options(redis.port())).store.key()); // the same key
    }
    SECTION("a stored value with one byte changed") {
        member first(ioc, cfg, store_options(redis.port()));
        CHECK(first.page(ioc) == 5);
        auto value = redis_command(redis.port(), {"GET", first.store.key()}).str;
        value[value.size() / 2] ^= 1;
        CHECK(redis_command(redis.port(), {"SET", first.store.key(), value}).is_ok());
        server.reset_counters();
    }
    SECTION("garbage") {
        member first(ioc, cfg, store_options(redis.port()));
        CHECK(redis_command(redis.port(), {"SET", first.store.key(), "{\"access_token\":\"x\"}"}).is_ok());
    }
    member m(ioc, cfg, store_options(redis.port()));
    CHECK(m.page(ioc) == 5); // with a token of its own fetching: the mock refuses any other
    CHECK(m.store.stats().rejected_values == 1);
    CHECK(m.store.stats().fetches == 1);
    CHECK(server.get_counters().token_requests == 1);
}

TEST_CASE("Redis down, refusing AUTH or answering garbage: calls go on, fetching in-process", "[integration][fleet]") {
    if (!redis_server::available())
        return;
    testing::mock_server server;
    asio::io_context ioc;
    client_config const cfg = config_for(server, server.design_url());
    SECTION("stopped mid-run") {
        redis_server redis;
        member m(ioc, cfg, store_options(redis.port()));
        CHECK(m.page(ioc) == 5);
        redis.stop();
        server.revoke_tokens(); // the next call needs a new token, and Redis is gone
        CHECK(m.page(ioc) == 5);
        auto const s = m.store.stats();
        CHECK(s.fallbacks == 1);
        CHECK_THAT(s.last_problem, Catch::Contains("cannot connect to 127.0.0.1:"));
    }
    SECTION("a wrong password: the error names AUTH, never the password") {
        redis_server redis({"--requirepass", "right-password"});
        auto o = store_options(redis.port());
        o.password = secret("wrong-password");
        member m(ioc, cfg, o);
        CHECK(m.page(ioc) == 5);
        auto const s = m.store.stats();
        CHECK(s.fallbacks == 1);
        CHECK_THAT(s.last_problem, Catch::Contains("AUTH") && !Catch::Contains("wrong-password"));
        o.password = secret("right-password");
        member n(ioc, cfg, o);
        CHECK(n.page(ioc) == 5);
        CHECK(n.store.stats().fallbacks == 0);
    }
    SECTION("something that is not Redis (an HTTP server)") {
        testing::mock_options plain;
        plain.tls = false;
        testing::mock_server http_only(plain);
        auto o = store_options(static_cast<unsigned short>(http_only.options().design_port));
        member m(ioc, cfg, o);
        CHECK(m.page(ioc) == 5);
        CHECK(m.store.stats().fallbacks == 1);
        CHECK_THAT(m.store.stats().last_problem, Catch::Contains("something unexpected"));
    }
    SECTION("a password for a Redis on another host over plaintext is refused at once") {
        auto o = store_options(6379);
        o.host = "redis.example";
        o.password = secret("p");
        CHECK(error_of([&] { redis::token_store(ioc.get_executor(), o, cfg.credentials); }).code() ==
              error::insecure_transport);
    }
}

TEST_CASE("the Redis password goes only to the configured host, over TLS unless it reaches loopback only",
          "[integration][fleet][security][matrix]") {
    // A fake Redis on 127.0.0.1 that logs commands; `resolve_to` stands in for the resolver's
    // answer. `::ffff:127.0.0.1` reaches the fake too, but is not a loopback address to the rule:
    // it plays a search domain or a spoofed answer sending a `.localhost` name off the machine.
    testing::mock_server server;
    asio::io_context ioc;
    client_config const cfg = config_for(server, server.design_url());
    std::string const password = "fleet-redis-pw-31337";
    fake_redis fake(password);
    auto options_for = [&](std::string host, std::string resolve_to) {
        auto o = store_options(fake.port());
        o.host = std::move(host);
        o.resolve_to = std::move(resolve_to);
        o.password = secret(password);
        return o;
    };
    auto served = [&](redis::options const& o) {
        member m(ioc, cfg, o);
        CHECK(m.page(ioc) == 5); // the call never fails because of the store
        return m.store.stats();
    };
    SECTION("a loopback IP literal, plaintext: AUTH arrives") {
        auto const s = served(options_for("127.0.0.1", ""));
        CHECK(fake.count("AUTH") == 1);
        CHECK(fake.watched_seen());
        CHECK(s.fallbacks == 0);
    }
    SECTION("a .localhost name resolving to a loopback address, plaintext: AUTH arrives") {
        auto const s = served(options_for("redis-x.localhost", "127.0.0.1"));
        CHECK(fake.count("AUTH") == 1);
        CHECK(s.fallbacks == 0);
    }
    SECTION("a .localhost name resolving off loopback: no connection, no AUTH; the store says why") {
        auto const s = served(options_for("redis-x.localhost", "::ffff:127.0.0.1"));
        CHECK(fake.connections() == 0);
        CHECK(fake.count("AUTH") == 0);
        CHECK_FALSE(fake.watched_seen());
        CHECK(s.fallbacks == 1);
        CHECK_THAT(s.last_problem,
                   Catch::Contains("redis-x.localhost is a loopback name but resolves to no loopback address"));
        CHECK(s.last_problem.find(password) == std::string::npos); // (no matcher: it would print the password)
        CHECK(server.get_counters().tokens_issued == 1);           // fetched in-process instead
    }
    SECTION("without a password the rule holds too: a loopback name never leaves loopback") {
        auto o = options_for("redis-x.localhost", "::ffff:127.0.0.1");
        o.password = secret("");
        auto const s = served(o);
        CHECK(fake.connections() == 0);
        CHECK(s.fallbacks == 1);
    }
    SECTION("a non-loopback host or address over plaintext: refused before any connection") {
        for (auto const& [host, to] : {std::pair<std::string, std::string>{"redis-x.example", "127.0.0.1"},
                                       {"::ffff:127.0.0.1", ""},
                                       {"localhost.example", "127.0.0.1"}}) {
            auto const e =
                error_of([&] { redis::token_store(ioc.get_executor(), options_for(host, to), cfg.credentials); });
            CHECK(e.code() == error::insecure_transport);
            CHECK_THAT(e.what(), Catch::Contains(host) && Catch::Contains("set tls"));
            CHECK(std::string(e.what()).find(password) == std::string::npos);
        }
        CHECK(fake.connections() == 0);
    }
}

TEST_CASE("a store that fails once the lock is taken releases it at once, not after lock_ttl", "[integration][fleet]") {
    testing::mock_server server;
    asio::io_context ioc;
    client_config const cfg = config_for(server, server.design_url());
    fake_redis fake("unused");
    fake.fail_gets_from(2); // the first look finds nothing, the look after taking the lock fails
    member m(ioc, cfg, store_options(fake.port()));
    CHECK(m.page(ioc) == 5); // the call never fails because of the store
    CHECK(m.store.stats().fallbacks == 1);
    CHECK(fake.count("SET") == 1);  // the lock
    CHECK(fake.count("EVAL") == 1); // its release
}

TEST_CASE("the README's fleet recipe, as is: the runtime -> design hop with the token, an untrusted redirect refused",
          "[integration][fleet][security]") {
    testing::mock_server server;
    asio::io_context ioc;
    auto const ex = ioc.get_executor();
    client_config const cfg = config_for(server, server.runtime_url());
    fake_redis redis("unused");
    // ---- docs/shared-token-and-fleet.md "Running a fleet", copied (Redis: the fake, on loopback, no TLS) ----
    oic::redis::options ro; // host, port, username/password (AUTH), tls, ca_file, timing
    ro.host = "127.0.0.1";
    ro.port = redis.port();
    oic::http::session session(ex, cfg.session);
    oic::redis::token_store store(ex, ro, cfg.credentials);
    auto token = oic::redis::make_shared_token(session, cfg.credentials, store, cfg.token);
    oic::client client(cfg, session, token); // use it as any client
    // ---- end of the recipe ----
    CHECK(run(ioc, get_connections(client, connections_query{})).items.size() == 100);
    auto n = server.get_counters();
    CHECK(n.runtime_authorization_headers == 1);
    CHECK(n.design_authorization_headers == 1);
    CHECK(n.unauthorized == 0);
    CHECK(redis.count("GET") >= 1);

    server.add_redirect("/ic/api/integration/v1/connections", 307, server.foreign_url() + "/ic/api/forged?{query}");
    auto const e = error_of(ioc, get_connections(client, connections_query{}));
    CHECK(e.code() == error::redirect_refused);
    CHECK_THAT(e.what(), Catch::Contains("127.0.0.2:" + std::to_string(server.options().foreign_port)) &&
                             Catch::Contains("trusted_hosts"));
    n = server.get_counters();
    CHECK(n.foreign_requests == 0);  // the forged page is never the API's answer
    CHECK(redis.count("EVAL") == 1); // only the lock's release: the fleet's token was never deleted
}

TEST_CASE("Redis over TLS, verified, and an ACL user", "[integration][fleet]") {
    if (!redis_server::available())
        return;
    testing::mock_server server;
    asio::io_context ioc;
    client_config const cfg = config_for(server, server.design_url());
    SECTION("TLS: the test CA is trusted, the certificate names localhost") {
        // A test CA and a server certificate (localhost, 127.0.0.1) of its own for Redis.
        auto const certs = testing::make_test_certificates();
        auto const dir = std::filesystem::path(server.options().ca_dir);
        auto write = [&](char const* name, std::string const& pem) {
            std::ofstream(dir / name) << pem;
            return (dir / name).string();
        };
        std::vector<std::string> const files = {write("redis-cert.pem", certs.cert_pem),
                                                write("redis-key.pem", certs.key_pem),
                                                write("redis-ca.pem", certs.ca_pem)};
        redis_server redis({}, files);
        auto o = store_options(redis.port());
        o.host = "localhost";
        o.tls = true;
        o.ca_file = files[2];
        member a(ioc, cfg, o);
        member b(ioc, cfg, o);
        CHECK(a.page(ioc) == 5);
        CHECK(b.page(ioc) == 5);
        CHECK(a.store.stats().fetches == 1);
        CHECK(b.store.stats().hits == 1);
        CHECK(server.get_counters().token_requests == 1);
        o.ca_file.clear(); // the system store alone does not trust this CA
        member c(ioc, cfg, o);
        CHECK(c.page(ioc) == 5);
        CHECK(c.store.stats().fallbacks == 1);
        CHECK_THAT(c.store.stats().last_problem, Catch::Contains("TLS handshake with localhost:"));
        o.ca_file = files[2];
        // The same Redis, trusted CA, under a name and an address its certificate does not hold
        // (it holds localhost, 127.0.0.1-3 and ::1): the handshake fails, nothing is read or sent.
        for (auto const& [host, resolve_to] : {std::pair<std::string, std::string>{"redis-x.localhost", "127.0.0.1"},
                                               std::pair<std::string, std::string>{"127.0.0.4", "127.0.0.1"}}) {
            auto wrong = o;
            wrong.host = host;
            wrong.resolve_to = resolve_to;
            member m(ioc, cfg, wrong);
            CHECK(m.page(ioc) == 5);
            CHECK(m.store.stats().fallbacks == 1);
            CHECK(m.store.stats().hits == 0);
            CHECK_THAT(m.store.stats().last_problem, Catch::Contains("TLS handshake with " + host));
        }
        o.tls = false; // a plaintext client on a TLS port: nothing there answers as Redis
        member d(ioc, cfg, o);
        CHECK(d.page(ioc) == 5);
        CHECK(d.store.stats().fallbacks == 1);
    }
    SECTION("an ACL user with its password (the default user off)") {
        redis_server redis({"--user", "fleet", "on", ">fleet-pw", "~*", "+@all", "--user", "default", "off"});
        auto o = store_options(redis.port());
        o.username = "fleet";
        o.password = secret("fleet-pw");
        member a(ioc, cfg, o);
        member b(ioc, cfg, o);
        CHECK(a.page(ioc) == 5);
        CHECK(b.page(ioc) == 5);
        CHECK(b.store.stats().hits == 1);
        CHECK(a.store.stats().fallbacks + b.store.stats().fallbacks == 0);
        CHECK(server.get_counters().token_requests == 1);
    }
}
