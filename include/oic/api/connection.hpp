#pragma once
/// @file The model of `GET /ic/api/integration/v1/connections[/{id}]`.

#include <oic/api/page.hpp>
#include <oic/text.hpp>

#include <cstdint>
#include <optional>

namespace oic {

/// The adapter behind a connection (`adapterType`).
struct adapter_type {
    text name;         ///< e.g. `rest`
    text display_name; ///< e.g. `REST`
    text type;         ///< e.g. `PREINSTALLED`
};

/// One entry of `connectionProperties`.
struct connection_property {
    text name;
    text value;
    text display_name;
};

/// An OIC connection. Absent and null fields stay empty; `json()` has every field when the call kept it
/// (`list_query::keep_json`).
struct connection : answer_item {
    text id;
    text name;
    text status;          ///< `CONFIGURED`, `INPROGRESS`, ...
    text role;            ///< `SOURCE`, `TARGET`, `SOURCE_AND_TARGET`
    adapter_type adapter; ///< `adapterType`
    text security_policy; ///< `securityPolicy`
    std::optional<std::int64_t> usage;
    std::optional<std::int64_t> usage_active;
    bool locked = false;                             ///< `lockedFlag`
    std::optional<std::int64_t> percentage_complete; ///< `percentageComplete`
    text created;
    text created_by;
    text last_updated;
    text last_updated_by;
    shared_span<connection_property> properties; ///< `connectionProperties`
};

using connections_page = page<connection>;
using connections_query = list_query;

} // namespace oic
