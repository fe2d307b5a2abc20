// One process of a fleet that shares its token through Redis: the shared token asks the Redis
// token store on a miss, so however many processes start at once, the identity domain sees one
// token request. Settings come from the environment (as oic-connections takes them) plus the
// Redis ones; it makes CALLS concurrent calls, prints what it saw and what the store did.
//
//   OIC_TOKEN_URL OIC_CLIENT_ID OIC_CLIENT_SECRET OIC_SCOPE OIC_BASE_URL OIC_INTEGRATION_INSTANCE
//   [OIC_CA_FILE] [OIC_REDIS_HOST (none: no store)] [OIC_REDIS_PORT] [OIC_REDIS_PASSWORD]
//   [OIC_REDIS_LOCK_TTL_MS] [OIC_TRUST_HOSTS (comma-separated host:port or *.suffix)]
//   fleet-member CALLS
//
// The fleet tests and the fleet_storm benchmark run several of these against the mock server.

#include <oic/oic.hpp>
#include <oic/redis/token_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

std::string env(char const* name, char const* fallback = nullptr) {
    if (char const* v = std::getenv(name); v && *v)
        return v;
    if (fallback)
        return fallback;
    throw std::invalid_argument(std::string("fleet-member: set ") + name);
}

} // namespace

int main(int argc, char** argv) try {
    using namespace std::chrono;
    if (argc != 2 || std::atoi(argv[1]) <= 0) {
        std::cerr << "usage: fleet-member CALLS (settings from the environment, see the source)\n";
        return 2;
    }
    int const calls = std::atoi(argv[1]);
    oic::client_config cfg;
    cfg.credentials.token_url = env("OIC_TOKEN_URL");
    cfg.credentials.client_id = env("OIC_CLIENT_ID");
    cfg.credentials.client_secret = oic::secret(env("OIC_CLIENT_SECRET"));
    cfg.credentials.scope = env("OIC_SCOPE");
    cfg.base_url = env("OIC_BASE_URL");
    cfg.integration_instance = env("OIC_INTEGRATION_INSTANCE");
    cfg.session.ca_file = env("OIC_CA_FILE", "");
    cfg.session.max_connections = 64;
    // More hosts the token may be forwarded to on a redirect, comma-separated (`host:port`, `*.suffix`).
    for (std::string hosts = env("OIC_TRUST_HOSTS", ""); !hosts.empty();) {
        auto const comma = hosts.find(',');
        cfg.trusted_hosts.push_back(hosts.substr(0, comma));
        hosts.erase(0, comma == std::string::npos ? hosts.size() : comma + 1);
    }

    // Without OIC_REDIS_HOST, a process on its own (the fleet_storm benchmark's baseline).
    bool const with_store = !env("OIC_REDIS_HOST", "").empty();
    oic::redis::options ro;
    ro.host = env("OIC_REDIS_HOST", "127.0.0.1");
    ro.port = static_cast<unsigned short>(std::stoi(env("OIC_REDIS_PORT", "6379")));
    ro.password = oic::secret(env("OIC_REDIS_PASSWORD", ""));
    ro.lock_ttl = milliseconds(std::stoi(env("OIC_REDIS_LOCK_TTL_MS", "15000")));

    boost::asio::io_context ioc;
    oic::http::session session(ioc.get_executor(), cfg.session);
    oic::redis::token_store store(ioc.get_executor(), ro, cfg.credentials);
    // The store's timing follows the shared token's, so the fleet refreshes once, at one moment.
    auto token = with_store ? oic::redis::make_shared_token(session, cfg.credentials, store, cfg.token)
                            : oic::shared_token(session, cfg.credentials, cfg.token);
    // The client's calls follow cfg's trust (base URL, token URL, the region's design host and
    // cfg.trusted_hosts), not the session's never_forward: that applies only to what is sent
    // through the session directly.
    oic::client client(cfg, session, token);

    auto const start = steady_clock::now();
    int pages = 0, failures = 0;
    steady_clock::duration first_page{};
    oic::connections_query q;
    q.limit = 5;
    for (int i = 0; i < calls; ++i)
        oic::async_get_connections(client, q, [&](oic::error_code ec, oic::connections_page const&) {
            if (ec) {
                ++failures;
                std::cerr << "fleet-member: call failed: " << ec.message() << "\n";
                return;
            }
            if (pages++ == 0)
                first_page = steady_clock::now() - start;
        });
    ioc.run();
    auto const s = store.stats();
    std::cout << "fleet-member: " << pages << " of " << calls << " calls answered, first page after "
              << duration_cast<milliseconds>(first_page).count() << " ms; store: " << s.hits << " hits, " << s.fetches
              << " fetches, " << s.waits << " waits, " << s.fallbacks << " fallbacks"
              << (s.last_problem.empty() ? "" : " (" + s.last_problem + ")") << "\n";
    return failures == 0 ? 0 : 1;
} catch (std::exception const& e) {
    std::cerr << e.what() << "\n";
    return 2;
}
