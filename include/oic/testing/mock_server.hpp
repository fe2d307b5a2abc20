#pragma once
/**
 * @file
 * A mock of the three hosts an OIC client talks to, over real sockets and (by default) TLS:
 * an OCI identity domain token endpoint, the OIC design-time host serving the Developer API, and
 * the runtime host that redirects Developer API calls to the design-time host; plus a fourth,
 * "foreign" host that a client must not trust, which records whether credentials reached it.
 *
 * It is a test double: every behaviour follows RFC 6749 and Oracle's Developer API reference as far
 * as they are documented, and the knobs tests need
 * (token revocation, token failures, token latency, a redirect table, design-time failures,
 * request counters) are public.
 *
 * Header-only by default. To compile the server once for many test programs, define
 * `OIC_TESTING_SEPARATE_COMPILATION` for all of them and include `<oic/testing/impl/mock_server.ipp>`
 * in one source file (the project's own tests and examples do so through the `oic_support` target).
 */

#include <oic/testing/mock_options.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

/// @def OIC_TESTING_DECL
/// `inline` when the server is header-only; empty with `OIC_TESTING_SEPARATE_COMPILATION`.
#ifdef OIC_TESTING_SEPARATE_COMPILATION
#define OIC_TESTING_DECL
#else
#define OIC_TESTING_DECL inline
#endif

namespace oic::testing {

/**
 * @brief Token endpoint, design-time host and runtime host of Oracle Integration, and a foreign host,
 * on local sockets.
 *
 * The constructor binds all four listeners and starts serving on a thread of its own, so tests in
 * the same process reach it over real sockets; `stop()` or the destructor stops and joins it.
 *
 * - Token host: `POST /oauth2/v1/token` (client credentials grant, client authentication by
 *   `Authorization: Basic` per RFC 6749 section 2.3.1 or by `client_id`/`client_secret` form fields).
 * - Design-time host: `GET /ic/api/integration/v1/connections[/{id}]` and
 *   `GET /ic/api/integration/v1/integrations[/{id}]` with a Bearer token from the token host and
 *   `integrationInstance`; the data sets are `options().connections` and `options().integrations`
 *   generated items; the lists take `q`, `limit`, `offset` and `orderBy`.
 * - Design-time host, integration archives: `GET .../integrations/{id}/archive` ("Export an
 *   Integration") answers the integration's archive (see `make_mock_archive`; 423 when locked).
 *   `POST .../integrations/archive` ("Import(Add) an Integration") and `PUT .../integrations/archive`
 *   ("Import(Replace) an Integration") take `multipart/form-data` with a part `file`, the archive,
 *   whose first line `OIC-MOCK-IAR <id>` names the integration (otherwise 400). POST adds it
 *   (CONFIGURED, named after its code) and answers 204 with `Location` (its URI, the id one
 *   segment, `|` as `%7C`), or 409 when it exists; PUT answers 200 with the integration as `GET`
 *   does, 404 when it does not exist, 423 when it is locked. The body is read as it arrives and
 *   never held (a strict multipart reader: 400 naming what is wrong with a form, "No file is
 *   uploaded" without a `file` part); `last_import` tells its size and SHA-256. The token and
 *   `integrationInstance` are checked on the header, before any byte of the body is read.
 * - Every host, request bodies: a request with `Expect: 100-continue` gets `100 Continue` (unless
 *   `set_honour_expect(false)`) only when nothing answers it on its header alone: the redirect
 *   table, the runtime host's redirect, a missing route, an upload's token check or a body over
 *   1 MiB (413) on another route answer at once, without `100 Continue` and with
 *   `Connection: close`, and whatever body the client sends anyway is read and dropped. The body
 *   counters count every body byte a host received, kept or dropped.
 * - Design-time host, monitoring: `GET .../monitoring/errors` and `GET .../monitoring/instances`
 *   (paged, `q` on `code`, `version`, `timewindow`, and `primaryValue` or `id`/`status`), `POST
 *   .../monitoring/errors/{id}/resubmit` and `POST .../monitoring/errors/resubmit` (`{"ids":[...]}`):
 *   `options().instances` runs of a few integrations; a resubmitted error leaves the errors list.
 * - Runtime host: every `/ic/api/...` request is redirected (`redirect_status`) to the same path and
 *   query on the design-time host. It never serves data.
 * - Foreign host (`foreign_address`, another host than the others): a host the client must not
 *   trust. It answers every `GET /ic/api/...` with 200 and an empty page
 *   (`{"items":[],"hasMore":false,"totalResults":0}`), so that a client that follows a redirect
 *   there succeeds, and counts every request it receives (`foreign_requests`) and those carrying an
 *   `Authorization` header (`foreign_authorization_headers`).
 * - All four: `GET /mock/counters` (no auth) answers @ref counters as JSON, and the redirect table
 *   (`add_redirect()`) is consulted before any route.
 *
 * TLS uses a fresh test CA (see @ref oic::testing::make_test_certificates()); clients trust `ca_file()` or `ca_pem()`.
 *
 * @par Thread safety
 * The accessors and knobs (`get_counters`, `revoke_tokens`, `set_token_failure`, `add_redirect`, ...) may be called
 * from any thread while the server runs. `stop()` and destruction must not race with other calls.
 */
class mock_server {
public:
    /// Starts listening and serving. Throws if the options are invalid or a port cannot be bound.
    OIC_TESTING_DECL explicit mock_server(mock_options options = {});
    /// Stops serving; see `stop()`.
    OIC_TESTING_DECL ~mock_server();
    mock_server(mock_server const&) = delete;
    mock_server& operator=(mock_server const&) = delete;

    /// Stops serving: closes every connection, drops pending requests and joins the thread. Idempotent.
    OIC_TESTING_DECL void stop();

    /// The token endpoint, e.g. `https://127.0.0.1:40123/oauth2/v1/token`.
    OIC_TESTING_DECL std::string token_url() const;
    /// The design-time host, e.g. `https://127.0.0.1:40124` (no trailing slash).
    OIC_TESTING_DECL std::string design_url() const;
    /// The runtime host, e.g. `https://127.0.0.1:40125` (no trailing slash).
    OIC_TESTING_DECL std::string runtime_url() const;
    /// The foreign host, e.g. `https://127.0.0.2:40126` (no trailing slash).
    OIC_TESTING_DECL std::string foreign_url() const;
    /// Path of a PEM file holding the test CA certificate.
    OIC_TESTING_DECL std::string ca_file() const;
    /// The test CA certificate, PEM.
    OIC_TESTING_DECL std::string const& ca_pem() const;
    /// The options in effect: ports are the bound ones and `ca_dir` the directory actually used.
    OIC_TESTING_DECL mock_options const& options() const;

    /// What the server has counted since it started or since `reset_counters()`.
    OIC_TESTING_DECL counters get_counters() const;
    /// Sets every counter back to 0.
    OIC_TESTING_DECL void reset_counters();

    /// Forgets every issued token: API calls presenting them get 401 from now on.
    OIC_TESTING_DECL void revoke_tokens();

    /**
     * Makes the token endpoint answer every request with `status` and an RFC 6749 error body
     * (`temporarily_unavailable`); 0 restores normal behaviour.
     * @throws std::invalid_argument unless `status` is 0 or 400..599.
     */
    OIC_TESTING_DECL void set_token_failure(unsigned status);

    /// Makes the token endpoint wait `latency` (on a timer) before answering, so concurrent callers pile up.
    OIC_TESTING_DECL void set_token_latency(std::chrono::milliseconds latency);

    /// Makes every design-time list call wait `latency` (on a timer) before answering, after its token
    /// check: a slow server that keeps calls in flight.
    OIC_TESTING_DECL void set_design_latency(std::chrono::milliseconds latency);

    /// Makes every TLS handshake, on every host, wait `latency` (on a timer) before it starts: a
    /// distant server, for which opening connections takes a while (see `most_handshakes_at_once`).
    OIC_TESTING_DECL void set_handshake_latency(std::chrono::milliseconds latency);

    /**
     * Adds a redirect-table entry, replacing any for the same `path`. On every host, before any route
     * and before any authentication check, a request (any method) whose path equals `path` exactly
     * (compared as sent, percent-encoding included, without the query) is answered `status` with
     * `Location: location` and an empty body. Every `{query}` in `location` is replaced by the
     * request's raw query string (without `?`; empty when there is none), so that
     * `".../connections?{query}"` keeps `integrationInstance`. An empty `location` sends no `Location`
     * header at all. `location` is sent as given: absolute, relative or malformed.
     *
     * The answer counts in `redirects`. The request still counts as received by its host: on the
     * runtime host (`/ic/api/...`) in `runtime_api_requests` and `runtime_authorization_headers`, on
     * the design-time host (`/ic/api/...`) in `design_api_requests` and
     * `design_authorization_headers`, on the token host (`POST /oauth2/v1/token`) in
     * `token_requests`, and on the foreign host in its counters as every request does.
     * @throws std::invalid_argument unless `path` starts with `/` and has no `?` or `#`, `status` is
     *         300..399 and `location` has no CR, LF or NUL.
     */
    OIC_TESTING_DECL void add_redirect(std::string path, unsigned status, std::string location);

    /// Removes every redirect-table entry.
    OIC_TESTING_DECL void clear_redirects();

    /// Archives (`GET /integrations/{id}/archive`, "Export an Integration"): every integration's is
    /// `make_mock_archive(id, bytes)` (default 64 KiB), sent with its SHA-256 in `X-Content-SHA256`.
    /// @throws std::invalid_argument if `bytes` is less than `min_archive_size`.
    OIC_TESTING_DECL void set_archive_size(std::size_t bytes);
    /// The SHA-256 (lowercase hex) of integration `id`'s archive at the current size (compare
    /// with `sha256_hex` of what arrived).
    OIC_TESTING_DECL std::string archive_sha256(std::string const& id) const;
    /// Locks integration `id` (or unlocks it): its export and its import (replace) are answered 423 Locked.
    OIC_TESTING_DECL void set_integration_locked(std::string const& id, bool locked);
    /// What the last successful import (add or replace) of integration `id` uploaded, and how many
    /// there were; nothing when it was never imported.
    OIC_TESTING_DECL std::optional<imported_archive> last_import(std::string const& id) const;

    /// Whether requests with `Expect: 100-continue` get `100 Continue` (see `mock_options::honour_expect`).
    OIC_TESTING_DECL void set_honour_expect(bool honour);

    /**
     * Makes the next `count` design-time Developer API calls that pass the token check answer `status`
     * with an Oracle-style body (`{"code":"MisdirectedRequest","message":...}` for 421) instead of
     * their result. They count in `design_api_requests` as usual. `count` 0 cancels what is left of
     * an earlier call (`status` is then ignored).
     * @throws std::invalid_argument if `count` is negative, or positive with `status` outside 400..599.
     */
    OIC_TESTING_DECL void set_design_failure(unsigned status, int count);

    /**
     * Injects `f` into the answers to requests whose path starts with `path_prefix`, on every host
     * (`/oauth2/v1/token` for the token endpoint, `/ic/api/` for the API on the design-time and the
     * runtime host). Rules apply in the order added: a request gets the fault of the first rule that
     * matches, has uses left (`count`) and whose chance (`probability`, drawn from a generator seeded
     * with `options().fault_seed`) comes up. The request is still handled and counted as usual; only
     * its answer, or the connection, suffers. Each fault counts in `faults_injected`.
     * @throws std::invalid_argument unless `path_prefix` starts with `/`, a status fault's status is
     *         400..599, `retry_after` has no CR, LF or NUL, `count` is -1 or more, `probability` is in
     *         [0, 1] and `delay` is not negative.
     */
    OIC_TESTING_DECL void add_fault(std::string path_prefix, fault f);

    /// Removes every fault rule.
    OIC_TESTING_DECL void clear_faults();

    /// One line of JSON with everything a client or script needs to talk to this server.
    OIC_TESTING_DECL std::string ready_json() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

/// The SHA-256 of `bytes`, lowercase hex: what `mock_server::archive_sha256` says of an archive.
OIC_TESTING_DECL std::string sha256_hex(std::string_view bytes);

/**
 * A mock integration archive: the line `OIC-MOCK-IAR <id>` and LF, then bytes that do not compress,
 * a function of `id` and `size`; `size` bytes in all. What the mock exports for integration `id`
 * (at its archive size), and what its import reads the id from, so an exported archive imports
 * again; tests make one for an integration that does not exist to import it.
 * @throws std::invalid_argument if `id` is empty or holds control bytes, if the line is longer
 *         than 200 bytes, or if `size` is less than the line.
 */
OIC_TESTING_DECL std::string make_mock_archive(std::string const& id, std::size_t size);

} // namespace oic::testing

#ifndef OIC_TESTING_SEPARATE_COMPILATION
#include <oic/testing/impl/mock_server.ipp>
#endif
