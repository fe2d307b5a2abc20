#pragma once
/**
 * @file
 * The models of the monitoring calls: `GET /ic/api/integration/v1/monitoring/errors`,
 * `GET .../monitoring/instances` and the answers of the resubmit calls (`POST
 * .../monitoring/errors/{id}/resubmit`, `POST .../monitoring/errors/resubmit`).
 *
 * Field names are those of Oracle's REST API for Oracle Integration 3 ("Retrieve Errored
 * Instances", "Retrieve Integration Instances", "Resubmit an Errored Integration Instance",
 * "Resubmit Errored Integration Instances"). Absent and null fields stay empty; `json()` has every
 * field, modelled or not.
 */

#include <oic/api/page.hpp>
#include <oic/text.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace oic {

/// An integration instance that ended in an error (an item of `GET /monitoring/errors`).
struct errored_instance : answer_item {
    text id;                                 ///< the errored instance's id: what the resubmit calls take
    text integration_code;                   ///< `integration.code`
    text integration_version;                ///< `integration.version`, e.g. `01.00.0000`
    text integration_name;                   ///< `integration.name`
    text error_code;                         ///< `errorCode`, e.g. `500` (a string in Oracle's answers)
    text error_message;                      ///< `errorMessage`: the summary
    text error_details;                      ///< `errorDetails`: the detailed message
    text fault_id;                           ///< `faultId`
    text status;                             ///< `FAILED`, `RECOVERING`, `RESUBMITTED`, `ABORTED`, ...
    bool recoverable = false;                ///< `recoverable`: whether a resubmit can run it again
    std::optional<std::int64_t> retry_count; ///< `retryCount`: resubmits so far
    text creation_date;                      ///< `creationDate`
    text last_tracked_time;                  ///< `lastTrackedTime`
    text primary_name;                       ///< `primaryName`: the primary business identifier's name
    text primary_value;                      ///< `primaryValue`: ...and its value
    text run_id;                             ///< `runId` (scheduled integrations)

    /// `CODE|VERSION` of the integration, as the integration calls take it; empty without a code.
    std::string integration_id() const {
        return integration_code.empty() ? std::string() : integration_code.str() + "|" + integration_version.str();
    }
};

/// A run of an integration (an item of `GET /monitoring/instances`).
struct integration_instance : answer_item {
    text id;                  ///< `id` of the run; an `errored_instance` of this run has the same id
    text integration_id;      ///< `integrationId`: the integration's code
    text integration_name;    ///< `integrationName`
    text integration_version; ///< `integrationVersion`
    text status;              ///< `COMPLETED`, `FAILED`, `ABORTED`, `IN_PROGRESS`, `RESUBMITTED`, ...
    text creation_date;       ///< `creationDate`
    text last_tracked_time;   ///< `lastTrackedTime`
    text run_id;              ///< `runId` (scheduled integrations)
};

using errored_instances_page = page<errored_instance>;         ///< What `get_errored_instances` answers.
using integration_instances_page = page<integration_instance>; ///< What `get_integration_instances` answers.

/// What `resubmit_errored_instance` asks besides the id.
struct resubmit_options {
    // Not an aggregate on purpose: see `list_query` (GCC 12 and aggregate temporaries in co_await).
    resubmit_options() = default;

    /// `recoveryTraceLevel` of the resubmitted run (`Production`, `Audit`, `Debug`); empty: not sent,
    /// the run keeps the integration's own trace level.
    std::string recovery_trace_level;
};

/**
 * The answer to a resubmit. Oracle documents `ErrorResubmitRs` (one) and `ErrorsBulkResubmitRs`
 * (many) with hyphenated names (`accepted-ids`, `recovery-job-id`); both these and camelCase
 * (`acceptedIds`, `recoveryJobId`) are read, since which one the service sends is not confirmed.
 */
struct resubmit_result {
    unsigned http_status = 0;              ///< 200 or 202: accepted
    std::string message;                   ///< `message`
    std::string recovery_job_id;           ///< `recovery-job-id`: the job that runs the resubmits, when there is one
    std::optional<bool> accepted;          ///< one: `resubmit-successful`; many: `resubmit-requested`
    std::vector<std::string> accepted_ids; ///< many: `accepted-ids`
    std::vector<std::string> invalid_ids;  ///< many: `invalid-ids` (unknown, or no longer errored)
    std::vector<std::string> non_recoverable_ids; ///< many: `non-recoverable-ids`
    std::string json;                             ///< the answer's body as sent (may be empty)
};

} // namespace oic
