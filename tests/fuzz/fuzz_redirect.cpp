// libFuzzer target: `Location` resolution and the redirect decision. The first byte picks the
// status and the method, the rest is the Location header. Besides not crashing: a hop that is
// followed goes to exactly the origin the policy judged (the value the socket, SNI and the
// certificate check will use), never carries userinfo, and carries credentials only where the
// policy trusts the host and the transport is https or loopback.

#include <oic/http/redirect.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    using boost::beast::http::status;
    using boost::beast::http::verb;
    if (size < 1)
        return 0;
    static status const statuses[] = {status::moved_permanently, status::found, status::see_other,
                                      status::temporary_redirect, status::permanent_redirect};
    status const st = statuses[data[0] % 5];
    verb const method = data[0] & 0x80 ? verb::post : verb::get;
    std::string_view const location(reinterpret_cast<char const*>(data) + 1, size - 1);

    static auto const policy =
        oic::http::oic_default::for_instance({*oic::http::origin_of(oic::http::urls::url_view(
                                                 "https://inst-x.integration.eu-frankfurt-1.ocp.oraclecloud.com"))},
                                             {"trusted.example:8443", "*.suffix.example"});
    oic::http::detail::redirect_chain chain(
        oic::http::urls::url(
            "https://inst-x.integration.eu-frankfurt-1.ocp.oraclecloud.com/ic/api/integration/v1/connections?q=1"),
        method);
    oic::http::detail::redirect_step step;
    oic::diagnostics diag;
    if (oic::http::detail::plan_redirect(chain, st, location, oic::http::any_redirect_policy(policy), 5, step, diag))
        return 0;
    auto const judged = oic::http::origin_of(step.target);
    if (!judged || !(*judged == step.to) || !(chain.current_origin == step.to) || step.target.has_userinfo())
        std::abort();
    if (step.send_credentials) {
        if (!step.to.tls() && !oic::http::is_loopback(step.to.host))
            std::abort();
        oic::http::redirect_hop const hop{
            chain.original, chain.original, step.target, chain.original_origin, step.to, st, method, 1, true};
        if (!policy(hop).forward_credentials)
            std::abort();
    }
    return 0;
}
