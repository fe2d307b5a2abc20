#pragma once
/// @file The model of `GET /ic/api/integration/v1/integrations[/{id}]`.

#include <oic/api/page.hpp>
#include <oic/text.hpp>

#include <cstdint>
#include <optional>

namespace oic {

/// An OIC integration. Absent and null fields stay empty; `json()` has every field (`dependencies`,
/// `links`, ...).
struct integration : answer_item {
    text id; ///< `CODE|VERSION`, e.g. `HELLO_WORLD|01.00.0000`
    text code;
    text version; ///< e.g. `01.00.0000`
    text name;
    text description;
    text status;  ///< `ACTIVATED`, `CONFIGURED`, `INPROGRESS`, `FAILEDACTIVATION`
    text pattern; ///< e.g. `Orchestration`
    text style;
    text package_name;                               ///< `packageName`
    bool locked = false;                             ///< `lockedFlag`
    std::optional<std::int64_t> percentage_complete; ///< `percentageComplete`
    text created;
    text created_by;
    text last_updated;
    text last_updated_by;
};

using integrations_page = page<integration>;
using integrations_query = list_query;

} // namespace oic
