#pragma once
/**
 * @file The mock's integration data set: deterministic OIC integration objects (`GET /integrations`),
 * each using some of the mock's connections, and what that endpoint accepts.
 */

#include <oic/testing/detail/catalog.hpp>
#include <oic/testing/detail/connection_catalog.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace oic::testing::detail {

/// What `GET /integrations` accepts in `q` and `orderBy`.
inline list_schema const& integration_schema() {
    static list_schema const schema{
        {{"name", {}}, {"status", {"ACTIVATED", "CONFIGURED", "INPROGRESS", "FAILEDACTIVATION"}}}, {"name", "time"}};
    return schema;
}

/// One integration of the data set: the fields queries look at, and the JSON the API returns.
struct integration_record {
    std::string id; ///< `CODE|VERSION`
    std::string name;
    std::string status;
    std::string last_updated;
    json::object json;

    std::string const& field(std::string_view f) const {
        return f == "name" ? name : f == "status" ? status : last_updated;
    }
};

inline constexpr std::array<std::string_view, 7> integration_flows{
    "Order Sync",           "Invoice Import",   "Employee Onboarding", "Lead Export",
    "Payment Notification", "Inventory Update", "Shipment Tracking"};

inline constexpr std::array<std::string_view, 3> integration_patterns{"Orchestration", "Scheduled Orchestration",
                                                                      "App Driven Orchestration"};

/// Builds item `index` (0-based); its dependencies are connections of `connections`.
inline integration_record make_integration(std::size_t index, std::string_view design_url,
                                           std::vector<connection_record> const& connections) {
    integration_record r;
    std::string_view const org = connection_orgs[index % connection_orgs.size()];
    std::string_view const flow = integration_flows[index % integration_flows.size()];
    r.name = std::string(org) + " " + std::string(flow);
    if (index >= connection_orgs.size())
        r.name += " " + std::to_string(index / connection_orgs.size() + 1);
    std::string const code = connection_id_for(r.name);
    std::string const version = index % 5 == 3 ? "02.00.0000" : "01.00.0000";
    r.id = code + "|" + version;
    static constexpr std::array<std::string_view, 8> statuses{"ACTIVATED",        "ACTIVATED",  "CONFIGURED",
                                                              "ACTIVATED",        "INPROGRESS", "ACTIVATED",
                                                              "FAILEDACTIVATION", "CONFIGURED"};
    r.status = statuses[index % statuses.size()];

    using namespace std::chrono;
    sys_seconds const created = sys_days{year{2023} / March / 1} + index * (hours{29} + minutes{11});
    sys_seconds const updated = created + minutes{(index * 4001) % 30000};
    r.last_updated = oic_timestamp(updated);

    json::array dependencies;
    for (std::size_t k = 0; k < 2 && !connections.empty(); ++k) {
        auto const& c = connections[(index * 2 + k) % connections.size()];
        dependencies.push_back({{"id", c.id}, {"name", c.name}, {"role", k == 0 ? "SOURCE" : "TARGET"}});
    }
    std::string const self = std::string(design_url) + "/ic/api/integration/v1/integrations/" + code + "%7C" + version;
    r.json = {
        {"id", r.id},
        {"code", code},
        {"version", version},
        {"name", r.name},
        {"description", std::string(flow) + " for " + std::string(org) + "."},
        {"status", r.status},
        {"pattern", integration_patterns[index % integration_patterns.size()]},
        {"patternDescription", integration_patterns[index % integration_patterns.size()]},
        {"style", "FREEFORM"},
        {"lockedFlag", index % 11 == 5},
        {"percentageComplete", r.status == "INPROGRESS" ? 60 : 100},
        {"tracingEnabledFlag", index % 4 == 1},
        {"created", oic_timestamp(created)},
        {"createdBy", connection_users[index % connection_users.size()]},
        {"lastUpdated", r.last_updated},
        {"lastUpdatedBy", connection_users[(index / 2) % connection_users.size()]},
        {"dependencies", {{"connections", std::move(dependencies)}}},
        {"links", {{{"href", self}, {"rel", "self"}}}},
    };
    return r;
}

/// `id` as one URI path segment: every byte but letters, digits and `-._~` percent-encoded, so an
/// integration id's `|` is `%7C`.
inline std::string integration_path_segment(std::string_view id) {
    std::string out;
    for (char c : id) {
        auto const u = static_cast<unsigned char>(c);
        if ((u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            out.push_back(c);
        } else {
            constexpr char digits[] = "0123456789ABCDEF";
            out += '%';
            out += digits[u >> 4];
            out += digits[u & 15];
        }
    }
    return out;
}

/**
 * An integration added by importing an archive (`POST /integrations/archive`, "Import(Add) an
 * Integration") for `id` (`CODE|VERSION`) at `now`: CONFIGURED, named after its code, without
 * connections, with the fields every generated item has.
 */
inline integration_record make_imported_integration(std::string_view id, std::string_view design_url,
                                                    std::chrono::sys_seconds now) {
    integration_record r;
    r.id = std::string(id);
    auto const bar = id.find('|');
    std::string const code(id.substr(0, bar));
    std::string const version(bar == std::string_view::npos ? std::string_view{} : id.substr(bar + 1));
    r.name = code;
    r.status = "CONFIGURED";
    r.last_updated = oic_timestamp(now);
    std::string const self =
        std::string(design_url) + "/ic/api/integration/v1/integrations/" + integration_path_segment(id);
    r.json = {
        {"id", r.id},
        {"code", code},
        {"version", version},
        {"name", r.name},
        {"description", "Imported from an integration archive."},
        {"status", r.status},
        {"pattern", integration_patterns[0]},
        {"patternDescription", integration_patterns[0]},
        {"style", "FREEFORM"},
        {"lockedFlag", false},
        {"percentageComplete", 100},
        {"tracingEnabledFlag", false},
        {"created", r.last_updated},
        {"createdBy", connection_users[0]},
        {"lastUpdated", r.last_updated},
        {"lastUpdatedBy", connection_users[0]},
        {"dependencies", {{"connections", json::array{}}}},
        {"links", {{{"href", self}, {"rel", "self"}}}},
    };
    return r;
}

/// The integrations one mock server serves.
inline catalog<integration_record> make_integration_catalog(std::size_t count, std::string_view design_url,
                                                            std::vector<connection_record> const& connections) {
    std::vector<integration_record> records;
    records.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        records.push_back(make_integration(i, design_url, connections));
    return catalog<integration_record>(std::move(records));
}

} // namespace oic::testing::detail
