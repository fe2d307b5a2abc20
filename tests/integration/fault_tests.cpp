// What a caller sees when the server misbehaves: each fault the mock can inject, against the
// client over TLS; retries and their waits; and a soak with faults in a share of the answers.

#include "common.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace oic;
using namespace oic_test;
using namespace std::chrono_literals;
using testing::fault;
using testing::fault_kind;

namespace {

constexpr std::string_view connections_path = "/ic/api/integration/v1/connections";

/// What one call saw: its error (none: a page) with diagnostics, how long it took, and the mock's
/// API requests for it.
struct seen {
    error_code ec;
    diagnostics diag;
    std::size_t items = 0;
    std::chrono::steady_clock::duration took{};
    std::uint64_t requests = 0;
};

/// A client of `server`'s design-time host with short timeouts; its token is fetched before the
/// fault is added, so that the call under test is one API call.
struct fault_fixture {
    testing::mock_server server;
    asio::io_context ioc;
    client c;

    explicit fault_fixture(std::chrono::milliseconds request_timeout = 3000ms)
        : c(ioc.get_executor(), [&] {
              auto cfg = config_for(server, server.design_url());
              cfg.session.request_timeout = request_timeout;
              cfg.session.total_timeout = 5s;
              return cfg;
          }()) {
        run(ioc, get_connections(c, small_page()));
        server.reset_counters();
    }

    static connections_query small_page() {
        connections_query q;
        q.limit = 5;
        return q;
    }

    seen call(fault f) {
        server.add_fault(std::string(connections_path), std::move(f));
        seen s;
        auto const t0 = std::chrono::steady_clock::now();
        auto [ec, page] = run(ioc, [&]() -> asio::awaitable<std::tuple<error_code, connections_page>> {
            co_return co_await async_get_connections(c, small_page(), s.diag, asio::as_tuple(asio::use_awaitable));
        }());
        s.took = std::chrono::steady_clock::now() - t0;
        s.ec = ec;
        s.items = page.items.size();
        s.requests = server.get_counters().design_api_requests;
        server.clear_faults();
        return s;
    }
};

} // namespace

TEST_CASE("statuses that say 'not now' are retried, honouring Retry-After; others are the answer",
          "[integration][faults]") {
    fault_fixture f;
    SECTION("503 with Retry-After: 1, once: a page after the wait, one retry") {
        auto const s = f.call({.status = 503, .retry_after = "1", .count = 1});
        CHECK_FALSE(s.ec);
        CHECK(s.items == 5);
        CHECK(s.requests == 2);
        CHECK(s.took >= 1s);
    }
    SECTION("429, 502 and 504 without Retry-After, once: a page after a short backoff") {
        for (unsigned const status : {429u, 502u, 504u}) {
            auto const s = f.call({.status = status, .count = 1});
            CHECK_FALSE(s.ec);
            CHECK(s.requests == 2);
            CHECK(s.took < 1s); // the first backoff is at most 200 ms
            f.server.reset_counters();
        }
    }
    SECTION("502 every time: after two retries, the 502 with the server's words") {
        auto const s = f.call({.status = 502});
        CHECK(s.ec == error::api_http_status);
        CHECK(s.diag.http_status == 502);
        CHECK(s.diag.server_code == "InjectedFault");
        CHECK_THAT(s.diag.message, Catch::Contains("after 2 retries"));
        CHECK(s.requests == 3);
    }
    SECTION("503 with a Retry-After past the deadline: the 503 at once") {
        auto const s = f.call({.status = 503, .retry_after = "120"});
        CHECK(s.ec == error::api_http_status);
        CHECK(s.diag.http_status == 503);
        CHECK_THAT(s.diag.message, Catch::Contains("Retry-After: 120"));
        CHECK(s.requests == 1);
        CHECK(s.took < 1s);
    }
    SECTION("a call cancelled while it waits out a Retry-After ends at once") {
        f.server.add_fault(std::string(connections_path), {.status = 503, .retry_after = "3", .count = 1});
        asio::cancellation_signal signal;
        std::optional<error_code> ended;
        async_get_connections(
            f.c, fault_fixture::small_page(),
            asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, connections_page) { ended = ec; }));
        auto const t0 = std::chrono::steady_clock::now();
        f.ioc.restart();
        f.ioc.run_for(300ms); // the 503 is in, the wait has begun
        REQUIRE_FALSE(ended);
        signal.emit(asio::cancellation_type::terminal);
        f.ioc.run_for(1s);
        REQUIRE(ended);
        CHECK(*ended == asio::error::operation_aborted);
        CHECK(std::chrono::steady_clock::now() - t0 < 2s);
        CHECK(f.server.get_counters().design_api_requests == 1);
    }
    SECTION("500 is not retried") {
        auto const s = f.call({.status = 500});
        CHECK(s.ec == error::api_http_status);
        CHECK(s.diag.http_status == 500);
        CHECK(s.requests == 1);
    }
}

TEST_CASE("RFC 9110 9.2.2: a POST answered 503 with Retry-After is not sent again; a PUT is",
          "[integration][faults][write]") {
    fault_fixture f;
    connections_query q;
    q.q = "{status: 'CONFIGURED'}";
    q.limit = 1;
    auto const id = run(f.ioc, get_integrations(f.c, q)).items.at(0).id;
    std::string const path = "/ic/api/integration/v1/integrations/" + http::path_segment(id);
    f.server.reset_counters();

    f.server.add_fault(path, {.status = 503, .retry_after = "0"});
    auto const e = error_of(f.ioc, activate_integration(f.c, id));
    CHECK(e.code() == error::api_http_status);
    CHECK(e.get_diagnostics().http_status == 503);
    CHECK(f.server.get_counters().design_write_requests == 1); // written once: never again
    f.server.clear_faults();

    // The same 503, once, to an idempotent PUT: sent again, and the second answer is the call's.
    f.server.reset_counters();
    f.server.add_fault(path, {.status = 503, .retry_after = "0", .count = 1});
    http::request put{boost::beast::http::verb::put, "/", 11};
    put.body() = "{}";
    diagnostics d;
    auto [ec, url, answer] = run(f.ioc, f.c.call(path, {}, std::move(put), d));
    REQUIRE_FALSE(ec);
    CHECK(answer.retries == 1);
    CHECK(answer.message.result_int() != 503); // the route's own answer: the mock has no PUT there
    CHECK(f.server.get_counters().design_write_requests == 2);
    CHECK(f.server.get_counters().design_body_bytes == 4);
}

TEST_CASE("broken connections and broken answers: retried only before the answer began", "[integration][faults]") {
    fault_fixture f;
    SECTION("a reset before any byte of the answer: retried, a page") {
        auto const s = f.call({.kind = fault_kind::reset_before_answer, .count = 1});
        CHECK_FALSE(s.ec);
        CHECK(s.items == 5);
        CHECK(s.requests == 2);
    }
    SECTION("a reset in the middle of the body: a network error, not retried") {
        auto const s = f.call({.kind = fault_kind::reset_mid_body, .count = 1});
        CHECK(s.ec == asio::error::connection_reset);
        CHECK(s.ec == condition::network);
        CHECK_THAT(s.diag.message, Catch::Contains("GET https://") && Catch::Contains(std::string(connections_path)));
        CHECK(s.requests == 1);
    }
    SECTION("a body cut short by a polite close: partial message, not retried") {
        auto const s = f.call({.kind = fault_kind::truncated_body, .count = 1});
        CHECK(s.ec == boost::beast::http::error::partial_message);
        CHECK(s.requests == 1);
    }
    SECTION("invalid chunked encoding: bad chunk, not retried") {
        auto const s = f.call({.kind = fault_kind::bad_chunking, .count = 1});
        CHECK(s.ec == boost::beast::http::error::bad_chunk);
        CHECK(s.requests == 1);
    }
    SECTION("half a JSON body: not JSON") {
        auto const s = f.call({.kind = fault_kind::malformed_json, .count = 1});
        CHECK(s.ec == error::api_not_json);
        CHECK(s.diag.http_status == 200);
    }
    SECTION("JSON of the wrong types: the field is named") {
        auto const s = f.call({.kind = fault_kind::wrong_types, .count = 1});
        CHECK(s.ec == error::api_bad_field_type);
        CHECK_THAT(s.diag.message, Catch::Contains("items"));
    }
    SECTION("each fault once, then the same client: the next call gets its page") {
        for (auto const kind : {fault_kind::reset_mid_body, fault_kind::truncated_body, fault_kind::bad_chunking,
                                fault_kind::malformed_json, fault_kind::wrong_types}) {
            f.call({.kind = kind, .count = 1});
            CHECK(run(f.ioc, get_connections(f.c, fault_fixture::small_page())).items.size() == 5);
        }
        CHECK(f.c.session().stats().open == f.c.session().stats().idle); // nothing left in use
    }
}

TEST_CASE("slow servers: a delay or a slow body within the deadline is a page; past it, a timeout",
          "[integration][faults]") {
    SECTION("a delay of 200 ms") {
        fault_fixture f;
        auto const s = f.call({.kind = fault_kind::delay, .delay = 200ms, .count = 1});
        CHECK_FALSE(s.ec);
        CHECK(s.took >= 200ms);
    }
    SECTION("a body in 16-byte pieces 1 ms apart") {
        fault_fixture f;
        auto const s = f.call({.kind = fault_kind::slow_body, .delay = 1ms, .count = 1});
        CHECK_FALSE(s.ec);
        CHECK(s.items == 5);
    }
    SECTION("the same slow body with a 100 ms request timeout: a timeout, not retried") {
        fault_fixture f(100ms);
        auto const s = f.call({.kind = fault_kind::slow_body, .delay = 5ms, .count = 1});
        CHECK(s.ec == error::timeout);
        CHECK(s.took < 1s);
        CHECK(s.requests == 1);
    }
}

TEST_CASE("the token endpoint answering 429: retried, and one fetch for all waiters", "[integration][faults][token]") {
    testing::mock_server server;
    asio::io_context ioc;
    auto cfg = config_for(server, server.design_url());
    client c(ioc.get_executor(), cfg);
    SECTION("429 once: the token after one retry") {
        server.add_fault("/oauth2/v1/token", {.status = 429, .retry_after = "0", .count = 1});
        CHECK(run(ioc, get_connections(c, fault_fixture::small_page())).items.size() == 5);
        CHECK(server.get_counters().token_requests == 2);
    }
    SECTION("429 every time: 100 concurrent callers see one fetch and its two retries") {
        server.add_fault("/oauth2/v1/token", {.status = 429, .retry_after = "0"});
        std::vector<error_code> errors;
        for (int i = 0; i < 100; ++i)
            asio::co_spawn(ioc, get_connections(c, fault_fixture::small_page()),
                           [&](std::exception_ptr e, connections_page) {
                               try {
                                   if (e)
                                       std::rethrow_exception(e);
                                   errors.push_back({});
                               } catch (error_with_diagnostics const& x) {
                                   errors.push_back(x.code());
                               }
                           });
        ioc.run_for(10s);
        REQUIRE(errors.size() == 100);
        CHECK(std::count(errors.begin(), errors.end(), error_code(error::token_http_status)) +
                  std::count(errors.begin(), errors.end(), error_code(error::token_rejected)) ==
              100);
        CHECK(server.get_counters().token_requests == 3);
    }
}

TEST_CASE("soak: calls at concurrency 64 with faults in about 5 percent of answers", "[integration][faults][soak]") {
    // OIC_SOAK_CALLS sets the number of calls (scripts/soak.sh runs 20,000); CI runs the default.
    char const* env = std::getenv("OIC_SOAK_CALLS");
    int const calls = env ? std::atoi(env) : 2000;
    REQUIRE(calls > 0);
    testing::mock_server server;
    asio::io_context ioc;
    auto cfg = config_for(server, server.design_url());
    cfg.session.request_timeout = 2s;
    cfg.session.total_timeout = 4s;
    cfg.session.max_connections = 64;
    client c(ioc.get_executor(), cfg);
    run(ioc, get_connections(c, fault_fixture::small_page())); // the token, before the faults
    std::string const path(connections_path);
    for (auto const kind : {fault_kind::reset_before_answer, fault_kind::reset_mid_body, fault_kind::truncated_body,
                            fault_kind::malformed_json, fault_kind::wrong_types, fault_kind::bad_chunking,
                            fault_kind::delay, fault_kind::slow_body})
        server.add_fault(path, {.kind = kind, .delay = 2ms, .probability = 0.005});
    server.add_fault(path, {.status = 503, .retry_after = "0", .probability = 0.005});
    server.add_fault(path, {.status = 502, .probability = 0.005});

    int started = 0, pages = 0, failures = 0, late = 0;
    std::function<void()> start_one = [&] {
        if (started == calls)
            return;
        ++started;
        auto const deadline = std::chrono::steady_clock::now() + cfg.session.total_timeout + 500ms;
        auto diag = std::make_shared<diagnostics>();
        async_get_connections(c, fault_fixture::small_page(), *diag,
                              [&, diag, deadline](error_code ec, connections_page page) {
                                  late += std::chrono::steady_clock::now() > deadline;
                                  if (ec) {
                                      ++failures;
                                      CHECK_FALSE(diag->message.empty()); // a clear error, never a bare code
                                  } else {
                                      pages += page.items.size() == 5;
                                  }
                                  start_one();
                              });
    };
    for (int i = 0; i < 64; ++i)
        start_one();
    ioc.restart();
    ioc.run_for(std::chrono::seconds(30 + calls / 100));
    auto const counters = server.get_counters();
    auto const stats = c.session().stats();
    INFO(calls << " calls: " << pages << " pages, " << failures << " errors, " << counters.faults_injected
               << " faults injected");
    CHECK(pages + failures == calls); // every call ended
    CHECK(late == 0);                 // ...before its deadline
    CHECK(counters.faults_injected >= static_cast<std::uint64_t>(calls) / 50);
    CHECK(failures < calls / 10);
    CHECK(stats.open == stats.idle); // nothing left in use
    CHECK(stats.idle <= 64);
}

TEST_CASE("a failed export leaves nothing under the target's name, and an old file there untouched",
          "[integration][faults][archive]") {
    testing::mock_server server;
    server.set_archive_size(512 * 1024);
    asio::io_context ioc;
    auto cfg = config_for(server, server.design_url());
    cfg.session.retry.max_retries = 0;
    client c(ioc.get_executor(), cfg);
    list_query one;
    one.limit = 1;
    auto const id = run(ioc, get_integrations(c, one)).items.at(0).id;
    std::string const archive_path = "/ic/api/integration/v1/integrations/" + http::path_segment(id) + "/archive";
    scratch_folder folder;
    auto const target = folder.path() / "hello.iar";
    { std::ofstream(target) << "the archive exported yesterday"; }
    auto untouched = [&] {
        CHECK(folder.names() == std::vector<std::string>{"hello.iar"}); // no temporary file left
        CHECK(read_file(target) == "the archive exported yesterday");
    };

    SECTION("a body cut off midway, by a reset or a close before its Content-Length") {
        server.add_fault(archive_path,
                         {.kind = GENERATE(fault_kind::reset_mid_body, fault_kind::truncated_body), .count = 1});
        auto const e = error_of(ioc, export_integration(c, id, target));
        CHECK(e.code() == condition::network);
        CHECK_THAT(e.get_diagnostics().message, Catch::Contains("GET https://") && Catch::Contains("/archive"));
        untouched();
    }
    SECTION("the integration locked: 423, the server's words") {
        server.set_integration_locked(id, true);
        auto const e = error_of(ioc, export_integration(c, id, target));
        CHECK(e.code() == error::api_conflict);
        CHECK(e.get_diagnostics().http_status == 423);
        CHECK(e.get_diagnostics().server_code == "Locked");
        untouched();
    }
    SECTION("larger than the call allows: the limit named") {
        transfer_options small;
        small.max_body_size = 1000;
        auto const e = error_of(ioc, export_integration(c, id, target, small));
        CHECK(e.code() == error::body_too_large);
        CHECK_THAT(e.get_diagnostics().message, Catch::Contains("1000 bytes"));
        untouched();
    }
    SECTION("the disk full midway (a file size limit stands in for it)") {
        struct rlimit const was = [] {
            struct rlimit r {};
            ::getrlimit(RLIMIT_FSIZE, &r);
            return r;
        }();
        auto const old_handler = std::signal(SIGXFSZ, SIG_IGN); // write() then fails with EFBIG
        struct rlimit small = was;
        small.rlim_cur = 100 * 1024;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        diagnostics d;
        auto [ec, archive] = run(ioc, [&]() -> asio::awaitable<std::tuple<error_code, exported_archive>> {
            co_return co_await async_export_integration(c, id, target, {}, d, asio::as_tuple(asio::use_awaitable));
        }());
        ::setrlimit(RLIMIT_FSIZE, &was);
        std::signal(SIGXFSZ, old_handler);
        CHECK(ec == boost::system::errc::file_too_large);
        CHECK_THAT(d.message, Catch::Contains(target.string()) && Catch::Contains("cannot be written"));
        CHECK(archive.path.empty());
        untouched();
    }
    SECTION("a target that is a folder, or in a folder that does not exist: refused before any request") {
        server.reset_counters();
        for (auto const& bad : {folder.path(), folder.path() / "missing" / "hello.iar"}) {
            INFO(bad);
            auto const e = error_of(ioc, export_integration(c, id, bad));
            CHECK_THAT(e.get_diagnostics().message, Catch::Contains(bad.string()));
        }
        CHECK(server.get_counters().design_api_requests == 0);
        untouched();
    }
    // The client is whole: the next export succeeds, replacing the old file.
    server.set_integration_locked(id, false);
    auto const archive = run(ioc, export_integration(c, id, target));
    CHECK(archive.size == 512 * 1024);
    CHECK(testing::sha256_hex(read_file(target)) == server.archive_sha256(id));
    CHECK(folder.names() == std::vector<std::string>{"hello.iar"});
}

TEST_CASE("RFC 9110 9.2.2: a resubmit answered 503 with Retry-After is not sent again",
          "[integration][faults][write][monitoring]") {
    fault_fixture f;
    list_query all;
    all.limit = 1000;
    std::vector<std::string> ids;
    for (auto const& e : run(f.ioc, get_all_errored_instances(f.c, all)))
        if (e.recoverable)
            ids.push_back(e.id);
    REQUIRE(ids.size() >= 2);
    std::string const errors = "/ic/api/integration/v1/monitoring/errors";
    f.server.reset_counters();

    f.server.add_fault(errors + "/" + http::path_segment(ids[0]) + "/resubmit", {.status = 503, .retry_after = "0"});
    auto const one = error_of(f.ioc, resubmit_errored_instance(f.c, ids[0]));
    CHECK(one.code() == error::api_http_status);
    CHECK(one.get_diagnostics().http_status == 503);
    CHECK_THAT(one.what(), Catch::Contains("Retry-After"));
    CHECK(f.server.get_counters().design_write_requests == 1); // written once: never again
    f.server.clear_faults();

    f.server.add_fault(errors + "/resubmit", {.status = 503, .retry_after = "0"});
    auto const many = error_of(f.ioc, resubmit_errored_instances(f.c, {ids[1]}));
    CHECK(many.get_diagnostics().http_status == 503);
    CHECK(f.server.get_counters().design_write_requests == 2);
    f.server.clear_faults();

    // The server had acted on both before its 503: sending them again would have resubmitted twice.
    auto const again = error_of(f.ioc, resubmit_errored_instance(f.c, ids[0]));
    CHECK(again.get_diagnostics().http_status == 412);
    auto const later = run(f.ioc, resubmit_errored_instances(f.c, {ids[1]}));
    CHECK(later.invalid_ids == std::vector<std::string>{ids[1]});
    CHECK(f.server.get_counters().design_write_requests == 4);

    // The control: the same fault on an idempotent PUT is sent again, and the counter sees each one.
    f.server.add_fault(errors + "/resubmit", {.status = 503, .retry_after = "0"});
    http::request put{boost::beast::http::verb::put, "/", 11};
    put.body() = "{}";
    diagnostics d;
    auto [ec, url, answer] = run(f.ioc, f.c.call(errors + "/resubmit", {}, std::move(put), d));
    REQUIRE_FALSE(ec);
    CHECK(answer.message.result_int() == 503);
    CHECK(answer.retries == 2);
    CHECK(f.server.get_counters().design_write_requests == 7);
}
