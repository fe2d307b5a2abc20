#pragma once
/**
 * @file The mock's connection data set: a deterministic catalog of realistic OIC connection
 * objects, and what `GET /connections` accepts (the query language itself is in catalog.hpp).
 */

#include <oic/testing/detail/catalog.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/url/params_view.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

namespace oic::testing::detail {

namespace json = boost::json;
namespace urls = boost::urls;

/// What `GET /connections` accepts in `q` and `orderBy`.
inline list_schema const& connection_schema() {
    static list_schema const schema{
        {{"name", {}}, {"status", {"CONFIGURED", "INPROGRESS"}}, {"role", {"SOURCE", "TARGET", "SOURCE_AND_TARGET"}}},
        {"name", "time", "type"}};
    return schema;
}

/// One connection of the data set: the fields queries look at, and the JSON the API returns.
struct connection_record {
    std::string id;
    std::string name;
    std::string status;       ///< CONFIGURED or INPROGRESS.
    std::string role;         ///< SOURCE, TARGET or SOURCE_AND_TARGET.
    std::string adapter;      ///< `adapterType.name`, e.g. "rest".
    std::string last_updated; ///< ISO-8601 in one fixed format, so it sorts as text.
    json::object json;

    /// What queries and sorting read: the schema's fields, `time` and `type` (the adapter).
    std::string const& field(std::string_view f) const {
        return f == "name" ? name : f == "status" ? status : f == "role" ? role : f == "time" ? last_updated : adapter;
    }
};

/// Static description of one adapter the data set draws from.
struct adapter_profile {
    std::string_view name;                    ///< `adapterType.name`
    std::string_view display_name;            ///< `adapterType.displayName`
    std::string_view label;                   ///< Used in generated connection names.
    std::array<std::string_view, 3> roles;    ///< Candidates; empty entries are unused.
    std::array<std::string_view, 3> policies; ///< Candidate `securityPolicy` values.
    bool agent_required = false;
};

// One adapter per line reads better as a table.
// clang-format off
inline constexpr std::array<adapter_profile, 12> adapter_profiles{{
    {"rest", "REST", "REST API",
     {"SOURCE_AND_TARGET", "TARGET", "SOURCE"}, {"OAUTH_CLIENT_CREDENTIALS", "BASIC_AUTH", "NONE"}},
    {"soap", "SOAP", "SOAP Service",
     {"TARGET", "SOURCE_AND_TARGET", "SOURCE"}, {"USERNAME_PASSWORD_TOKEN", "BASIC_AUTH", "NONE"}},
    {"ftp", "FTP", "SFTP Server", {"TARGET"}, {"FTP_SERVER_ACCESS_POLICY", "FTP_PUBLIC_KEY_AUTHENTICATION"}},
    {"atpdatabase", "Oracle Autonomous Transaction Processing", "ATP Database",
     {"TARGET", "SOURCE_AND_TARGET"}, {"JDBC_OVER_SSL"}},
    {"oracledb", "Oracle Database", "Oracle DB",
     {"TARGET", "SOURCE_AND_TARGET"}, {"USERNAME_PASSWORD_TOKEN"}, true},
    {"erp", "Oracle ERP Cloud", "ERP Cloud",
     {"SOURCE_AND_TARGET", "TARGET"}, {"USERNAME_PASSWORD_TOKEN", "OAUTH_CLIENT_CREDENTIALS"}},
    {"hcm", "Oracle HCM Cloud", "HCM Cloud", {"SOURCE_AND_TARGET", "TARGET"}, {"USERNAME_PASSWORD_TOKEN"}},
    {"salesforce", "Salesforce", "Salesforce CRM", {"SOURCE_AND_TARGET"}, {"OAUTH_CLIENT_CREDENTIALS"}},
    {"servicecloud", "Oracle Service Cloud (RightNow)", "Service Cloud RN",
     {"SOURCE_AND_TARGET", "TARGET"}, {"USERNAME_PASSWORD_TOKEN"}},
    {"ociobjectstorage", "OCI Object Storage", "Object Storage", {"TARGET"}, {"OCI_SIGNATURE_VERSION1"}},
    {"kafka", "Apache Kafka", "Kafka Stream",
     {"SOURCE_AND_TARGET", "SOURCE", "TARGET"}, {"SASL_PLAIN_OVER_SSL", "NONE"}},
    {"file", "File", "File Share", {"TARGET"}, {"NONE"}, true},
}};
// clang-format on

/// Hand-written first items, so that tests have fixed names to look for.
struct landmark_connection {
    std::string_view id;
    std::string_view name;
    std::string_view adapter;
};

inline constexpr std::array<landmark_connection, 3> landmark_connections{{
    {"ZURICH_ERP", "Z\xC3\xBCrich ERP", "erp"}, // "Zürich ERP": non-ASCII and a space
    {"SAMPLE_REST_ENDPOINT_INTERFACE", "Sample REST Endpoint Interface", "rest"},
    {"ORACLE_SERVICE_CLOUD_RN", "Oracle Service Cloud RN", "servicecloud"},
}};

/// Organisations in generated names; 13 (prime to the 12 adapters) so every pairing occurs.
inline constexpr std::array<std::string_view, 13> connection_orgs{
    "Acme",  "Globex", "Initech", "Umbrella", "Contoso", "Northwind", "Z\xC3\xBCrich",
    "Wayne", "Stark",  "Tyrell",  "Hooli",    "Soylent", "Oracle"};

inline constexpr std::array<std::string_view, 4> connection_users{
    "integration.admin@example.com", "jane.doe@example.com", "li.wei@example.com", "omar.haddad@example.com"};

/// `text` with the Latin letters we use folded to ASCII and everything else non-ASCII dropped.
inline std::string fold_to_ascii(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto const c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
        } else if (c == 0xC3 && i + 1 < text.size()) {
            switch (static_cast<unsigned char>(text[++i])) {
            case 0xA4: out.push_back('a'); break; // ä
            case 0xB6: out.push_back('o'); break; // ö
            case 0xBC: out.push_back('u'); break; // ü
            case 0xA9: out.push_back('e'); break; // é
            default: break;
            }
        }
    }
    return out;
}

/// OIC-style identifier of a name: upper-case ASCII, runs of other characters become one `_`.
inline std::string connection_id_for(std::string_view name) {
    std::string id;
    for (char c : fold_to_ascii(name)) {
        if (std::isalnum(static_cast<unsigned char>(c)))
            id.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        else if (!id.empty() && id.back() != '_')
            id.push_back('_');
    }
    return id;
}

/// `t` as OIC writes timestamps, e.g. `2023-01-09T08:15:00.000+0000`.
inline std::string oic_timestamp(std::chrono::sys_seconds t) {
    auto const day = std::chrono::floor<std::chrono::days>(t);
    std::chrono::year_month_day const ymd{day};
    std::chrono::hh_mm_ss const time{t - day};
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.000+0000", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return text;
}

/// Adapter-specific `connectionProperties` for a connection of organisation `slug`.
inline json::array connection_properties(std::string_view adapter, std::string const& slug) {
    auto property = [](std::string_view name, std::string value, std::string_view display) {
        return json::object{{"propertyName", name}, {"propertyValue", value}, {"displayName", display}};
    };
    if (adapter == "rest")
        return {property("connectionType", "REST API Base URL", "Connection Type"),
                property("connectionURL", "https://api." + slug + ".example.com/v2", "Connection URL")};
    if (adapter == "soap")
        return {property("targetWSDLURL", "https://ws." + slug + ".example.com/orders?wsdl", "WSDL URL")};
    if (adapter == "ftp")
        return {property("ftpHost", "sftp." + slug + ".example.com", "FTP Server Host Address"),
                property("ftpPort", "22", "FTP Server Port"), property("sftpConnection", "Yes", "SFTP Connection")};
    if (adapter == "atpdatabase")
        return {property("ServiceName", slug + "atp_high", "Service Name")};
    if (adapter == "oracledb")
        return {property("Host", "db." + slug + ".example.com", "Host"), property("Port", "1521", "Port"),
                property("ServiceName", "ORCLPDB1", "Service Name")};
    if (adapter == "erp")
        return {property("erpCloudHost", "https://" + slug + ".fa.ocs.oraclecloud.com", "ERP Cloud Host")};
    if (adapter == "hcm")
        return {property("hcmCloudHost", "https://" + slug + "-hcm.fa.ocs.oraclecloud.com", "HCM Cloud Host")};
    if (adapter == "salesforce")
        return {property("instanceType", "Production", "Salesforce.com Instance Type"),
                property("apiVersion", "58.0", "API Version")};
    if (adapter == "servicecloud")
        return {property("rightNowWSDLURL",
                         "https://" + slug + ".custhelp.com/cgi-bin/" + slug + ".cfg/services/soap?wsdl=typed",
                         "RightNow WSDL URL")};
    if (adapter == "ociobjectstorage")
        return {
            property("objectStorageURL", "https://objectstorage.eu-frankfurt-1.oraclecloud.com", "Object Storage URL"),
            property("namespace", slug + "ns", "Namespace")};
    if (adapter == "kafka")
        return {property("bootstrapServers", "kafka." + slug + ".example.com:9093", "Bootstrap Servers")};
    return {property("fileDirectory", "/u01/shared/" + slug + "/inbound", "Directory")};
}

/// Builds item `index` (0-based) of the data set. Depends on nothing but its arguments.
inline connection_record make_connection(std::size_t index, std::string_view design_url) {
    connection_record c;
    std::string org;
    adapter_profile const* adapter = nullptr;
    if (index < landmark_connections.size()) {
        auto const& landmark = landmark_connections[index];
        c.id = landmark.id;
        c.name = landmark.name;
        org = fold_to_ascii(c.name.substr(0, c.name.find(' ')));
        for (auto const& profile : adapter_profiles)
            if (profile.name == landmark.adapter)
                adapter = &profile;
    } else {
        adapter = &adapter_profiles[index % adapter_profiles.size()];
        org = connection_orgs[index % connection_orgs.size()];
        char number[24];
        std::snprintf(number, sizeof number, "%03zu", index + 1);
        c.name = org + " " + std::string(adapter->label) + " " + number;
        c.id = connection_id_for(c.name);
        org = fold_to_ascii(org);
    }
    std::string slug;
    for (char ch : org)
        slug.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));

    auto const pick = [index](auto const& candidates) {
        std::size_t n = 0;
        while (n < candidates.size() && !candidates[n].empty())
            ++n;
        return candidates[(index / 2) % n];
    };
    bool const in_progress = index % 6 == 4;
    c.status = in_progress ? "INPROGRESS" : "CONFIGURED";
    c.role = pick(adapter->roles);
    c.adapter = adapter->name;

    using namespace std::chrono;
    sys_seconds const epoch = sys_days{year{2023} / January / 9} + hours{8} + minutes{15};
    sys_seconds const created = epoch + index * (hours{17} + minutes{23}) + seconds{(index * 37) % 60};
    sys_seconds const updated = created + minutes{(index * 7919) % 40000} + seconds{(index * 13) % 60};
    c.last_updated = oic_timestamp(updated);

    std::int64_t const usage = in_progress ? 0 : static_cast<std::int64_t>((index * 5) % 7);
    bool const locked = index % 9 == 2;
    std::string const self = std::string(design_url) + "/ic/api/integration/v1/connections/" + c.id;

    c.json = {
        {"id", c.id},
        {"name", c.name},
        {"status", c.status},
        {"role", c.role},
        {"adapterType", {{"name", adapter->name}, {"displayName", adapter->display_name}, {"type", "PREINSTALLED"}}},
        {"securityPolicy", pick(adapter->policies)},
        {"usage", usage},
        {"usageActive", usage > 0 ? usage - static_cast<std::int64_t>(index % 2) : 0},
        {"lockedFlag", locked},
        {"percentageComplete", in_progress ? static_cast<std::int64_t>(20 + (index * 13) % 60) : 100},
        {"agentRequired", adapter->agent_required},
        {"created", oic_timestamp(created)},
        {"createdBy", connection_users[index % connection_users.size()]},
        {"lastUpdated", c.last_updated},
        {"lastUpdatedBy", connection_users[(index / 3) % connection_users.size()]},
        {"connectionProperties", connection_properties(adapter->name, slug)},
        {"links", {{{"href", self}, {"rel", "self"}}, {{"href", self}, {"rel", "canonical"}}}},
    };
    if (locked)
        c.json["lockedBy"] = connection_users[(index + 1) % connection_users.size()];
    return c;
}

/// The connections one mock server serves: `count` items whose `links` point at `design_url`.
inline catalog<connection_record> make_connection_catalog(std::size_t count, std::string_view design_url) {
    std::vector<connection_record> records;
    records.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        records.push_back(make_connection(i, design_url));
    return catalog<connection_record>(std::move(records));
}

} // namespace oic::testing::detail
