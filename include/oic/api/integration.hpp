#pragma once
/// @file The model of `GET /ic/api/integration/v1/integrations[/{id}]`.

#include <oic/api/page.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace oic {

/// An OIC integration. Absent and null fields stay empty; `json()` has every field (`dependencies`,
/// `links`, ...).
struct integration : answer_item {
    std::string id; ///< `CODE|VERSION`, e.g. `HELLO_WORLD|01.00.0000`
    std::string code;
    std::string version; ///< e.g. `01.00.0000`
    std::string name;
    std::string description;
    std::string status;  ///< `ACTIVATED`, `CONFIGURED`, `INPROGRESS`, `FAILEDACTIVATION`
    std::string pattern; ///< e.g. `Orchestration`
    std::string style;
    std::string package_name;                        ///< `packageName`
    bool locked = false;                             ///< `lockedFlag`
    std::optional<std::int64_t> percentage_complete; ///< `percentageComplete`
    std::string created;
    std::string created_by;
    std::string last_updated;
    std::string last_updated_by;
};

using integrations_page = page<integration>;
using integrations_query = list_query;

} // namespace oic
