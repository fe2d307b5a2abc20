// A user-written redirect policy: forward the token only to hosts of your own domains over https,
// remember nothing, and keep an audit trail of every hop decision.
//
// Runs against an in-process mock server (oic::testing::mock_server), whose runtime host
// redirects to its design-time host, so it needs no OIC instance. Prints the audit trail and the
// number of connections found.

#include <oic/oic.hpp>
#include <oic/testing/mock_server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;

/// Any copyable callable `redirect_decision(redirect_hop const&)` is a policy.
struct audited_policy {
    oic::http::trusted_hosts allowed;                // reuse the built-in host matching
    std::shared_ptr<std::vector<std::string>> audit; // copies of the policy share one trail

    oic::http::redirect_decision operator()(oic::http::redirect_hop const& hop) const {
        // Judge the checked origin: it is the very value the connection will use.
        auto const& target = hop.target_origin;
        bool const forward = (target.tls() || oic::http::is_loopback(target.host)) && allowed.trusts(target);
        audit->push_back("hop " + std::to_string(hop.hop) + ": " + std::to_string(static_cast<unsigned>(hop.status)) +
                         " to " + target.to_string() + (forward ? ", token forwarded" : ", token dropped"));
        return {.follow = true, .forward_credentials = forward, .remember = false};
    }
};
static_assert(oic::http::redirect_policy<audited_policy>);

asio::awaitable<std::size_t> count_connections(oic::client client) {
    auto const all = co_await oic::get_all_connections(client, oic::connections_query{});
    co_return all.size();
}

int main() {
    oic::testing::mock_server server; // token endpoint, runtime and design-time hosts on 127.0.0.1

    oic::client_config cfg;
    cfg.credentials.token_url = server.token_url();
    cfg.credentials.client_id = server.options().client_id;
    cfg.credentials.client_secret = oic::secret(server.options().client_secret);
    cfg.credentials.scope = server.options().scope;
    cfg.base_url = server.runtime_url(); // the runtime host redirects to the design-time host
    cfg.integration_instance = server.options().integration_instance;
    cfg.session.ca_file = server.ca_file();

    audited_policy policy{oic::http::trusted_hosts{"127.0.0.1", "*.mycorp.example"},
                          std::make_shared<std::vector<std::string>>()};
    asio::io_context ioc;
    oic::client client(ioc.get_executor(), cfg, policy);

    std::size_t found = 0;
    asio::co_spawn(ioc, count_connections(client), [&](std::exception_ptr e, std::size_t n) {
        if (e)
            std::rethrow_exception(e);
        found = n;
    });
    try {
        ioc.run();
    } catch (oic::error_with_diagnostics const& e) {
        std::cerr << "custom-redirect-policy: " << e.what() << '\n';
        return 1;
    }
    for (auto const& line : *policy.audit)
        std::cout << line << '\n';
    std::cout << found << " connections\n";
    return found > 0 && !policy.audit->empty() ? 0 : 1;
}
