#pragma once
/// @file The model of `GET /ic/api/integration/v1/connections[/{id}]`.

#include <oic/api/page.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace oic {

/// The adapter behind a connection (`adapterType`).
struct adapter_type {
    std::string name;         ///< e.g. `rest`
    std::string display_name; ///< e.g. `REST`
    std::string type;         ///< e.g. `PREINSTALLED`
};

/// One entry of `connectionProperties`.
struct connection_property {
    std::string name;
    std::string value;
    std::string display_name;
};

/// An OIC connection. Absent and null fields stay empty; `json()` has every field.
struct connection : answer_item {
    std::string id;
    std::string name;
    std::string status;          ///< `CONFIGURED`, `INPROGRESS`, ...
    std::string role;            ///< `SOURCE`, `TARGET`, `SOURCE_AND_TARGET`
    adapter_type adapter;        ///< `adapterType`
    std::string security_policy; ///< `securityPolicy`
    std::optional<std::int64_t> usage;
    std::optional<std::int64_t> usage_active;
    bool locked = false;                             ///< `lockedFlag`
    std::optional<std::int64_t> percentage_complete; ///< `percentageComplete`
    std::string created;
    std::string created_by;
    std::string last_updated;
    std::string last_updated_by;
    std::vector<connection_property> properties; ///< `connectionProperties`
};

using connections_page = page<connection>;
using connections_query = list_query;

} // namespace oic
