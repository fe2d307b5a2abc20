#pragma once
/**
 * @file The mock's monitoring data set: deterministic runs of a few of the mock's integrations
 * (`GET /monitoring/instances`), the failed ones as errored instances (`GET /monitoring/errors`),
 * and what resubmitting one does. Plain data and functions without I/O, tested on their own.
 *
 * As in OIC, an errored instance has the id of the run that failed. A resubmitted error leaves the
 * errors list (it is no longer errored) and its run shows `RESUBMITTED`; a non-recoverable error
 * cannot be resubmitted.
 */

#include <oic/testing/detail/catalog.hpp>
#include <oic/testing/detail/connection_catalog.hpp>
#include <oic/testing/detail/integration_catalog.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oic::testing::detail {

/// The `timewindow` values Oracle documents for the monitoring filters. The mock's data are all
/// recent: the window is checked, and filters nothing.
inline std::vector<std::string_view> const& monitoring_time_windows() {
    static std::vector<std::string_view> const windows{"1h", "6h", "1d", "2d", "3d", "RETENTIONPERIOD"};
    return windows;
}

/// What `GET /monitoring/errors` accepts in `q`.
inline list_schema const& errored_instance_schema() {
    static list_schema const schema{
        {{"code", {}}, {"version", {}}, {"primaryValue", {}}, {"timewindow", monitoring_time_windows()}}, {}};
    return schema;
}

/// What `GET /monitoring/instances` accepts in `q` (Oracle documents these `status` values).
inline list_schema const& integration_instance_schema() {
    static list_schema const schema{{{"code", {}},
                                     {"version", {}},
                                     {"id", {}},
                                     {"status", {"COMPLETED", "FAILED", "ABORTED"}},
                                     {"timewindow", monitoring_time_windows()}},
                                    {}};
    return schema;
}

/// One run of an integration.
struct instance_record {
    std::string id;
    std::string code;
    std::string version;
    std::string status; ///< COMPLETED, FAILED, ABORTED, IN_PROGRESS, RESUBMITTED
    std::string last_updated;
    json::object json;

    std::string const& field(std::string_view f) const {
        return f == "code"      ? code
               : f == "version" ? version
               : f == "status"  ? status
               : f == "id"      ? id
                                : last_updated; // `time`, and what sorting by `name` or `type` would read
    }
};

/// One errored instance: a failed run.
struct errored_record {
    std::string id;
    std::string code;
    std::string version;
    std::string primary_value;
    std::string status; ///< FAILED while listed; RESUBMITTED once resubmitted
    bool recoverable = false;
    std::string last_updated;
    json::object json;

    std::string const& field(std::string_view f) const {
        return f == "code"           ? code
               : f == "version"      ? version
               : f == "primaryValue" ? primary_value
               : f == "status"       ? status
                                     : last_updated;
    }
};

/// A 22-character id in the alphabet of OIC 3 instance ids (base64url), e.g. `2HVm-j8dEfG8Ab8Y-P4nAQ`.
inline std::string instance_id_for(std::size_t index) {
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::uint64_t x = 0x9E3779B97F4A7C15ULL * (index + 1);
    std::string id;
    for (int i = 0; i < 22; ++i) {
        x ^= x >> 31; // splitmix-style mixing: deterministic, and no two indexes alike in practice
        x *= 0xBF58476D1CE4E5B9ULL;
        x ^= x >> 27;
        id.push_back(alphabet[x & 63]);
    }
    return id;
}

/// The mock's runs and errored instances.
struct monitoring_data {
    catalog<instance_record> instances{{}};
    catalog<errored_record> errors{{}};
};

/// `count` runs of (at most four of) the activated integrations; every fourth one failed.
inline monitoring_data make_monitoring_data(std::size_t count, std::string_view design_url,
                                            std::vector<integration_record> const& integrations) {
    std::vector<integration_record const*> flows;
    for (auto const& r : integrations)
        if (r.status == "ACTIVATED" && flows.size() < 4)
            flows.push_back(&r);
    std::vector<instance_record> instances;
    std::vector<errored_record> errors;
    if (flows.empty())
        return {};

    using namespace std::chrono;
    static constexpr std::array<std::string_view, 3> messages{
        "Invalid product 'iCar': no such item in the price list.",
        "The service at the target endpoint answered HTTP 503 Service Unavailable.",
        "Timed out after 240 seconds waiting for the invoke to answer."};
    for (std::size_t i = 0; i < count; ++i) {
        auto const& flow = *flows[(i + i / 4) % flows.size()]; // failures (every fourth run) spread over all
        instance_record r;
        r.id = instance_id_for(i);
        r.code = std::string(flow.json.at("code").as_string());
        r.version = std::string(flow.json.at("version").as_string());
        r.status = i % 4 == 1 ? "FAILED" : i % 9 == 6 ? "ABORTED" : i % 13 == 11 ? "IN_PROGRESS" : "COMPLETED";
        sys_seconds const created = sys_days{year{2024} / May / 1} + i * (minutes{7} + seconds{13});
        sys_seconds const updated = created + seconds{(i * 37) % 300 + 1};
        r.last_updated = oic_timestamp(updated);
        std::string const self = std::string(design_url) + "/ic/api/integration/v1/monitoring/instances/" + r.id;
        r.json = {
            {"id", r.id},
            {"integrationId", r.code},
            {"integrationName", flow.name},
            {"integrationVersion", r.version},
            {"status", r.status},
            {"creationDate", oic_timestamp(created)},
            {"date", r.last_updated},
            {"lastTrackedTime", r.last_updated},
            {"isDataAccurate", true},
            {"links", {{{"href", self}, {"rel", "self"}}}},
        };
        if (r.status == "FAILED") {
            errored_record e;
            e.id = r.id;
            e.code = r.code;
            e.version = r.version;
            e.primary_value = "ORD-" + std::to_string(10000 + i);
            e.status = "FAILED";
            e.recoverable = (i / 4) % 3 != 2;
            e.last_updated = r.last_updated;
            std::string_view const message = messages[(i / 4) % messages.size()];
            e.json = {
                {"id", e.id},
                {"integration", {{"code", e.code}, {"version", e.version}, {"name", flow.name}}},
                {"errorCode", (i / 4) % messages.size() == 1 ? "503" : "500"},
                {"errorMessage", message},
                {"errorDetails", std::string(message) + " (at invoke step 3 of " + flow.name + ")"},
                {"faultId", "fault-" + std::to_string(700000 + i)},
                {"recoverable", e.recoverable},
                {"retryCount", 0},
                {"status", e.status},
                {"creationDate", oic_timestamp(created)},
                {"lastTrackedTime", e.last_updated},
                {"primaryName", "OrderNumber"},
                {"primaryValue", e.primary_value},
                {"integrationDeleted", false},
                {"links",
                 {{{"href", std::string(design_url) + "/ic/api/integration/v1/monitoring/errors/" + e.id},
                   {"rel", "self"}}}},
            };
            errors.push_back(std::move(e));
        }
        instances.push_back(std::move(r));
    }
    // Newest first, as the service orders by last update.
    auto newest_first = [](auto const& a, auto const& b) { return a.last_updated > b.last_updated; };
    std::stable_sort(instances.begin(), instances.end(), newest_first);
    std::stable_sort(errors.begin(), errors.end(), newest_first);
    return {catalog<instance_record>(std::move(instances)), catalog<errored_record>(std::move(errors))};
}

/// What resubmitting one errored instance came to.
enum class resubmit_outcome { accepted, not_found, not_recoverable, not_errored };

/// Resubmits errored instance `id` of `data`: it leaves the errors list, and its run is `RESUBMITTED`.
inline resubmit_outcome resubmit(monitoring_data& data, std::string_view id) {
    auto* e = data.errors.find_mutable(id);
    if (!e)
        return resubmit_outcome::not_found;
    if (!e->recoverable)
        return resubmit_outcome::not_recoverable;
    if (e->status != "FAILED")
        return resubmit_outcome::not_errored;
    e->status = "RESUBMITTED";
    e->json["status"] = "RESUBMITTED";
    e->json["retryCount"] = e->json["retryCount"].to_number<std::int64_t>() + 1;
    if (auto* run = data.instances.find_mutable(id)) {
        run->status = "RESUBMITTED";
        run->json["status"] = "RESUBMITTED";
    }
    return resubmit_outcome::accepted;
}

/// `request` without its `timewindow` condition, which the mock checks but does not filter on.
inline list_request without_time_window(list_request request) {
    auto& c = request.filter.conditions;
    c.erase(std::remove_if(c.begin(), c.end(), [](auto const& x) { return x.field == "timewindow"; }), c.end());
    return request;
}

} // namespace oic::testing::detail
