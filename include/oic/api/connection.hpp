#pragma once
/// @file
/// The model of `GET /ic/api/integration/v1/connections[/{id}]`.

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
    text name;         ///< `propertyName`
    text value;        ///< `propertyValue`
    text display_name; ///< `displayName`
};

/// An OIC connection. Absent and null fields stay empty; `json()` has every field when the call kept it
/// (`list_query::keep_json`).
struct connection : answer_item {
    text id;                                         ///< `id`: the identifier `get_connection` takes
    text name;                                       ///< `name`: the human-readable name
    text status;                                     ///< `CONFIGURED`, `INPROGRESS`, ...
    text role;                                       ///< `SOURCE`, `TARGET`, `SOURCE_AND_TARGET`
    adapter_type adapter;                            ///< `adapterType`
    text security_policy;                            ///< `securityPolicy`
    std::optional<std::int64_t> usage;               ///< `usage`: how many integrations use the connection
    std::optional<std::int64_t> usage_active;        ///< `usageActive`: how many activated integrations use it
    bool locked = false;                             ///< `lockedFlag`
    std::optional<std::int64_t> percentage_complete; ///< `percentageComplete`
    text created;                                    ///< `created`: when, as the API writes it (not parsed)
    text created_by;                                 ///< `createdBy`: the user who created it
    text last_updated;                               ///< `lastUpdated`: when, as the API writes it (not parsed)
    text last_updated_by;                            ///< `lastUpdatedBy`: the user who last changed it
    shared_span<connection_property> properties;     ///< `connectionProperties`
};

using connections_page = page<connection>; ///< What `get_connections` answers.
using connections_query = list_query;      ///< The query of `get_connections` (the same `list_query` as every list).

} // namespace oic
