#pragma once
/// @file
/// What a @ref oic::testing::mock_server is set up with, and what it counts.

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace oic::testing {

/// The smallest archive size a @ref mock_server takes: room for the first line, `OIC-MOCK-IAR <id>`.
inline constexpr std::size_t min_archive_size = 256;

/// How a @ref mock_server is set up. Every field has a usable default.
struct mock_options {
    bool tls = true;                   ///< false: plain HTTP, and the URLs say `http://`.
    std::string address = "127.0.0.1"; ///< Where the token, design and runtime listeners bind (IP literal).
    unsigned short token_port = 0;     ///< 0: an ephemeral port.
    unsigned short design_port = 0;    ///< 0: an ephemeral port.
    unsigned short runtime_port = 0;   ///< 0: an ephemeral port.
    /// Where the foreign host binds (IPv4 or IPv6 literal): another address than `address`, so that
    /// it is another host to a client, not only another port. The test certificate names it too.
    std::string foreign_address = "127.0.0.2";
    unsigned short foreign_port = 0;           ///< 0: an ephemeral port.
    std::string client_id = "oic-mock-client"; ///< The only client id the token endpoint accepts.
    /// Contains `!`, which RFC 6749 section 2.3.1 form-encoding changes before Basic encoding.
    std::string client_secret = "mock-secret-Zq7!x";
    /// The only scope the token endpoint grants.
    std::string scope = "https://mockinstance.integration.ocp.oraclecloud.com:443urn:opc:resource:consumer::all";
    /// The `integrationInstance` every design-time API call must carry.
    std::string integration_instance = "mockinstance-abc123-fr";
    /// How long issued tokens stay valid; `expires_in` is this, rounded up to whole seconds.
    std::chrono::milliseconds token_lifetime{3600000};
    std::size_t connections = 120; ///< Size of the generated connection data set.
    std::size_t integrations = 40; ///< Size of the generated integration data set.
    /// Runs of (up to four of) the activated integrations for `GET /monitoring/instances`; every
    /// fourth failed and is an errored instance of `GET /monitoring/errors`.
    std::size_t instances = 60;
    unsigned redirect_status = 307; ///< What the runtime host answers API calls with (300..399).
    /// Directory for the CA file. Empty: a fresh directory under the system temp directory, removed
    /// again by the server's destructor. A given directory is created if needed and left in place.
    std::string ca_dir;
    /// How long a connection may sit idle before the server closes it; also bounds each read/write.
    std::chrono::milliseconds idle_timeout{30000};
    /// Seeds the choice of faults given with a probability: the same seed, the same faults.
    unsigned fault_seed = 1;
    /// Size of every integration's archive (`GET /integrations/{id}/archive`), at least
    /// `min_archive_size`; see also `mock_server::set_archive_size`.
    std::size_t archive_size = 64 * 1024;
    /// Whether a request with `Expect: 100-continue` gets `100 Continue` before its body is read.
    /// false: the hosts ignore `Expect` and just read the body, as some servers do (an answer given
    /// on the header alone still goes out before the body). See `mock_server::set_honour_expect`.
    bool honour_expect = true;
};

/// What a @ref mock_server received in its last successful import of one integration
/// (`mock_server::last_import`).
struct imported_archive {
    std::uint64_t size = 0; ///< bytes of the uploaded `file` part
    std::string sha256;     ///< ...their SHA-256, lowercase hex
    std::string filename;   ///< its `filename` parameter; empty when it had none
    int imports = 0;        ///< successful imports (add or replace) of this integration so far

    friend bool operator==(imported_archive const&, imported_archive const&) = default; ///< member by member
};

/// A misbehaviour a @ref oic::testing::mock_server can put into its answers (see `mock_server::add_fault`).
enum class fault_kind {
    status,              ///< answer `status` (429, 500, 502, 503, 504...), with `Retry-After` when given
    delay,               ///< wait `delay`, then answer as usual
    reset_before_answer, ///< read the request, then reset the connection (TCP RST) without a byte
    reset_mid_body,      ///< send the header and half the body, then (100 ms later) reset the connection
    truncated_body,      ///< send the header and half the body, then close the connection politely
    malformed_json,      ///< answer with the first half of the body: not JSON any more
    wrong_types,         ///< answer with every top-level JSON member of another type (`"x"` -> `42`, ...)
    bad_chunking,        ///< a chunked body whose chunk size is not hexadecimal
    slow_body,           ///< the answer as usual, in 16-byte pieces `delay` apart
};

/// One fault, and how often it applies.
struct fault {
    fault_kind kind = fault_kind::status; ///< what goes wrong
    unsigned status = 503;                ///< with `fault_kind::status`: 400..599
    std::string retry_after{};            ///< with `fault_kind::status`: the `Retry-After` value; empty: none
    std::chrono::milliseconds delay{0};   ///< with `delay`: before the answer; with `slow_body`: between pieces
    int count = -1;                       ///< the next `count` requests it matches; -1: no limit
    double probability = 1.0;             ///< the chance that a matching request gets it (seeded: reproducible)
};

/// A snapshot of what a @ref mock_server has seen since it started or since `reset_counters()`.
struct counters {
    std::uint64_t token_requests = 0;       ///< POSTs to the token endpoint.
    std::uint64_t tokens_issued = 0;        ///< ...answered 200 with a token.
    std::uint64_t token_failures = 0;       ///< ...answered with an error (including injected ones).
    std::uint64_t design_api_requests = 0;  ///< Developer API calls on the design-time host.
    std::uint64_t runtime_api_requests = 0; ///< `/ic/api/...` calls on the runtime host.
    /// Redirects sent: the runtime host's own, plus answers from the redirect table on any host.
    std::uint64_t redirects = 0;
    std::uint64_t unauthorized = 0;                  ///< Design-time calls refused with 401.
    std::uint64_t design_authorization_headers = 0;  ///< Design-time API calls carrying `Authorization`.
    std::uint64_t runtime_authorization_headers = 0; ///< Runtime API calls carrying `Authorization`.
    std::uint64_t connections_accepted = 0;          ///< TCP connections accepted, all listeners.
    std::uint64_t most_handshakes_at_once = 0;       ///< The most TLS handshakes in progress at once, all listeners.
    std::uint64_t foreign_requests = 0;              ///< Requests the foreign host received, any path or method.
    std::uint64_t foreign_authorization_headers = 0; ///< ...carrying `Authorization`, whatever its value.
    std::uint64_t faults_injected = 0;               ///< Answers spoiled by `add_fault`, all hosts.
    // Requests other than GET and HEAD, per host (whatever answered them), and the request body
    // bytes each host received: where a write call or an upload went, and how often.
    std::uint64_t design_write_requests = 0;  ///< Requests other than GET and HEAD to the design-time host.
    std::uint64_t runtime_write_requests = 0; ///< Requests other than GET and HEAD to the runtime host.
    std::uint64_t foreign_write_requests = 0; ///< Requests other than GET and HEAD to the foreign host.
    std::uint64_t design_body_bytes = 0;      ///< Request body bytes the design-time host received, kept or dropped.
    std::uint64_t runtime_body_bytes = 0;     ///< Request body bytes the runtime host received, kept or dropped.
    std::uint64_t foreign_body_bytes = 0;     ///< Request body bytes the foreign host received, kept or dropped.

    friend bool operator==(counters const&, counters const&) = default; ///< Member by member.
};

/// `c` as a JSON object with the member names of @ref counters.
inline boost::json::object to_json(counters const& c) {
    return {
        {"token_requests", c.token_requests},
        {"tokens_issued", c.tokens_issued},
        {"token_failures", c.token_failures},
        {"design_api_requests", c.design_api_requests},
        {"runtime_api_requests", c.runtime_api_requests},
        {"redirects", c.redirects},
        {"unauthorized", c.unauthorized},
        {"design_authorization_headers", c.design_authorization_headers},
        {"runtime_authorization_headers", c.runtime_authorization_headers},
        {"connections_accepted", c.connections_accepted},
        {"most_handshakes_at_once", c.most_handshakes_at_once},
        {"foreign_requests", c.foreign_requests},
        {"foreign_authorization_headers", c.foreign_authorization_headers},
        {"faults_injected", c.faults_injected},
        {"design_write_requests", c.design_write_requests},
        {"runtime_write_requests", c.runtime_write_requests},
        {"foreign_write_requests", c.foreign_write_requests},
        {"design_body_bytes", c.design_body_bytes},
        {"runtime_body_bytes", c.runtime_body_bytes},
        {"foreign_body_bytes", c.foreign_body_bytes},
    };
}

} // namespace oic::testing
