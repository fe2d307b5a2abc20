#pragma once
/// @file
/// The model of `GET /ic/api/integration/v1/integrations[/{id}]`.

#include <oic/api/page.hpp>
#include <oic/text.hpp>

#include <cstdint>
#include <optional>

namespace oic {

/// An OIC integration. Absent and null fields stay empty; `json()` has every field (`dependencies`,
/// `links`, ...).
struct integration : answer_item {
    text id;                                         ///< `CODE|VERSION`, e.g. `HELLO_WORLD|01.00.0000`
    text code;                                       ///< `code`, e.g. `HELLO_WORLD`
    text version;                                    ///< e.g. `01.00.0000`
    text name;                                       ///< `name`: the human-readable name
    text description;                                ///< `description`
    text status;                                     ///< `ACTIVATED`, `CONFIGURED`, `INPROGRESS`, `FAILEDACTIVATION`
    text pattern;                                    ///< e.g. `Orchestration`
    text style;                                      ///< `style`, e.g. `FREEFORM`
    text package_name;                               ///< `packageName`
    bool locked = false;                             ///< `lockedFlag`
    std::optional<std::int64_t> percentage_complete; ///< `percentageComplete`
    text created;                                    ///< `created`: when, as the API writes it (not parsed)
    text created_by;                                 ///< `createdBy`: the user who created it
    text last_updated;                               ///< `lastUpdated`: when, as the API writes it (not parsed)
    text last_updated_by;                            ///< `lastUpdatedBy`: the user who last changed it
};

using integrations_page = page<integration>; ///< What `get_integrations` answers.
using integrations_query = list_query;       ///< The query of `get_integrations` (the same `list_query` as every list).

} // namespace oic
