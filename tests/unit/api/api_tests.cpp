// oic/api: pages and items parsed from their JSON, whole and as the bytes arrive; the models,
// their shared storage, the monitoring answers, the list query string.

#include "common.hpp"
#include "model_fields.hpp"

#include <random>
#include <set>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace oic;
using oic_test::error_of;
using oic_test::fields_of;
namespace bhttp = boost::beast::http;

TEST_CASE("connection and page parsing", "[unit][api]") {
    std::string const doc = R"({
      "items": [
        {"id":"ACME_REST","name":"Acme REST","status":"CONFIGURED","role":"SOURCE_AND_TARGET",
         "adapterType":{"name":"rest","displayName":"REST","type":"PREINSTALLED"},
         "securityPolicy":"OAUTH_CLIENT_CREDENTIALS","usage":3,"usageActive":1,"lockedFlag":true,
         "percentageComplete":100,"created":"2024-01-02T03:04:05Z","createdBy":"ann",
         "lastUpdated":"2024-02-02T03:04:05Z","lastUpdatedBy":"bob",
         "connectionProperties":[{"propertyName":"connectionUrl","propertyValue":"https://x","displayName":"URL"}],
         "links":[{"href":"https://h/connections/ACME_REST","rel":"self"}], "futureField": {"a":1}},
        {"id":"MINIMAL"}
      ],
      "hasMore": true, "totalResults": 120, "limit": 2, "offset": 4})";
    auto const page = parse_page<connection>(doc);
    REQUIRE(page.items.size() == 2);
    CHECK(page.has_more);
    CHECK(page.total_results == 120);
    CHECK(page.limit == 2);
    CHECK(page.offset == 4);
    auto const& c = page.items[0];
    CHECK(c.id == "ACME_REST");
    CHECK(c.adapter.name == "rest");
    CHECK(c.adapter.display_name == "REST");
    CHECK(c.adapter.type == "PREINSTALLED");
    CHECK(c.role == "SOURCE_AND_TARGET");
    CHECK(c.security_policy == "OAUTH_CLIENT_CREDENTIALS");
    CHECK(c.usage == 3);
    CHECK(c.usage_active == 1);
    CHECK(c.locked);
    CHECK(c.percentage_complete == 100);
    CHECK(c.last_updated_by == "bob");
    REQUIRE(c.properties.size() == 1);
    CHECK(c.properties[0].value == "https://x");
    CHECK(c.raw().contains("futureField")); // fields we don't model are kept
    CHECK(c.raw().at("futureField").at("a") == 1);
    CHECK(page.items[1].json() == R"({"id":"MINIMAL"})");
    CHECK(page.items[1].name.empty());
    CHECK_FALSE(page.items[1].usage);

    SECTION("a wrong type names the field") {
        struct bad_case {
            char const* json;
            char const* field;
        };
        bad_case const cases[] = {
            {R"({"items":[{"id":1}]})", "items[0].id"},
            {R"({"items":[{}, {"adapterType":"rest"}]})", "items[1].adapterType"},
            {R"({"items":[{"adapterType":{"name":[]}}]})", "items[0].adapterType.name"},
            {R"({"items":[{"usage":"3"}]})", "items[0].usage"},
            {R"({"items":[{"lockedFlag":"no"}]})", "items[0].lockedFlag"},
            {R"({"items":[{"connectionProperties":[{"propertyValue":5}]}]})",
             "items[0].connectionProperties[0].propertyValue"},
            {R"({"items":{}})", "items"},
            {R"({"hasMore":"yes"})", "hasMore"},
            {R"([1,2])", "connections answer"},
        };
        for (auto const& bc : cases) {
            INFO(bc.json);
            auto const e = error_of([&] { parse_page<connection>(bc.json); });
            CHECK(e.code() == error::api_bad_field_type);
            CHECK_THAT(e.what(), Catch::Contains(bc.field));
        }
    }
}

TEST_CASE("the typed parser reads what a DOM would, and only that", "[unit][api]") {
    SECTION("escapes in keys and values; nested unknown fields never reach the model") {
        auto const page = parse_page<connection>(
            R"({"items":[{"\u0069d":"A\"B","name":"caf\u00e9 \\ }]","links":[{"id":"WRONG","name":"WRONG"}],)"
            R"("deep":{"a":[{"usage":"x"}],"id":7},"usage":3.0,"big":18446744073709551615,"frac":0.5}],)"
            R"("\u0069tems2":{"items":[]},"hasMore":false})");
        REQUIRE(page.items.size() == 1);
        auto const& c = page.items[0];
        CHECK(c.id == "A\"B");
        CHECK(c.name == "caf\xc3\xa9 \\ }]");
        CHECK(c.usage == 3);
        CHECK(c.raw().at("links").as_array().size() == 1);
        CHECK(boost::json::parse(c.json()) ==
              boost::json::parse(
                  R"({"\u0069d":"A\"B","name":"caf\u00e9 \\ }]",)"
                  R"("links":[{"id":"WRONG","name":"WRONG"}],"deep":{"a":[{"usage":"x"}],"id":7},"usage":3.0,)"
                  R"("big":18446744073709551615,"frac":0.5})"));
    }
    SECTION("each item's text is its own slice of the body, whatever it contains") {
        auto const page = parse_page<connection>(
            " {\"offset\":0, \"items\" : [ {\"id\":\"a}b\"} , {\"id\":\"c]d\",\"x\":[1,{\"y\":\"\\\"\"}]},{}] } ");
        REQUIRE(page.items.size() == 3);
        CHECK(page.items[0].json() == R"({"id":"a}b"})");
        CHECK(page.items[1].json() == R"({"id":"c]d","x":[1,{"y":"\""}]})");
        CHECK(page.items[2].json() == "{}");
        CHECK(page.items[1].raw().at("x").as_array().size() == 2);
        connection const made_here;
        CHECK(made_here.json().empty());
        CHECK(made_here.raw().empty());
    }
    SECTION("a single connection keeps the whole answer") {
        auto const c = parse_item<connection>(R"({"id":"ONE","usage":null,"adapterType":null})");
        CHECK(c.id == "ONE");
        CHECK_FALSE(c.usage);
        CHECK(c.json() == R"({"id":"ONE","usage":null,"adapterType":null})");
    }
    SECTION("what a reader could take two ways, or not as JSON, is refused") {
        struct bad_case {
            char const* json;
            error expected;
            char const* what;
        };
        bad_case const cases[] = {
            {R"({"items":[],"items":[{"id":"X"}]})", error::api_bad_field_type, "\"items\" more than once"},
            {R"({"hasMore":true,"hasMore":false})", error::api_bad_field_type, "\"hasMore\" more than once"},
            {R"({"items":[null]})", error::api_bad_field_type, "items[0] is not an object"},
            {R"({"items":[{},{"usage":2.5}]})", error::api_bad_field_type, "items[1].usage is not an integer"},
            {R"({"items":[{"usage":18446744073709551615}]})", error::api_bad_field_type, "items[0].usage"},
            {R"({"items":[{"connectionProperties":[null]}]})", error::api_bad_field_type,
             "items[0].connectionProperties[0] is not an object"},
            {R"(null)", error::api_bad_field_type, "connections answer is not an object"},
            {R"({"items":[]} x)", error::api_not_json, "not JSON"},
            {R"({"items":[)", error::api_not_json, "not JSON"},
            {"", error::api_not_json, "not JSON"},
        };
        for (auto const& bc : cases) {
            INFO(bc.json);
            auto const e = error_of([&] { parse_page<connection>(bc.json); });
            CHECK(e.code() == bc.expected);
            CHECK_THAT(e.what(), Catch::Contains(bc.what));
        }
    }
}

namespace {
/// A page of `n` connections whose strings are long enough to need a new block, with escapes.
std::string big_page(int n) {
    std::string body = R"({"hasMore":false,"items":[)";
    for (int i = 0; i < n; ++i) {
        auto const id = "C" + std::to_string(i);
        body += (i ? "," : "") + std::string(R"({"id":")") + id + R"(","name":"Connection \u00e9\"quoted\" )" +
                std::string(static_cast<std::size_t>(i * 37 % 300), 'x') +
                R"(","adapterType":{"name":"rest","displayName":"REST"},"usage":)" + std::to_string(i) +
                R"(,"lockedFlag":)" + (i % 2 ? "true" : "false") + R"(,"connectionProperties":[)";
        for (int k = 0; k < i % 4; ++k)
            body += (k ? "," : "") + std::string(R"({"propertyName":"p)") + std::to_string(k) +
                    R"(","propertyValue":"https://h/)" + id + R"(\/v","displayName":"P"})";
        body += R"(],"links":[{"href":"x","rel":"self"}],"createdBy":"someone@example.com"})";
    }
    return body + R"(],"totalResults":)" + std::to_string(n) + "}";
}

/// Reads `body` in the pieces `sizes` gives (cycled), as the connection's read buffer would hand it over.
page<connection> read_in_pieces(std::string_view body, std::vector<std::size_t> const& sizes, bool keep_json,
                                std::optional<std::uint64_t> length) {
    page<connection> out;
    detail::page_reader<connection> reader(&out, nullptr, keep_json);
    REQUIRE_FALSE(reader.start(length));
    for (std::size_t at = 0, k = 0; at < body.size(); ++k) {
        auto const n = std::min(sizes[k % sizes.size()], body.size() - at);
        REQUIRE_FALSE(reader.write(boost::asio::buffer(body.substr(at, n))));
        at += n;
    }
    std::string what;
    if (auto ec = reader.finish(what))
        fail(ec, std::move(what));
    return out;
}
} // namespace

TEST_CASE("a page read as its bytes arrive: every split gives the items of the whole", "[unit][api][stream]") {
    auto const body = big_page(60);
    auto const whole = parse_page<connection>(body);
    REQUIRE(whole.items.size() == 60);
    CHECK(whole.items[3].properties.size() == 3);
    CHECK(whole.items[8].name.size() > 290); // strings long enough to move to a new block
    std::vector<std::string> expected;
    for (auto const& c : whole.items)
        expected.push_back(fields_of(c));

    auto check = [&](page<connection> const& p, bool kept) {
        REQUIRE(p.items.size() == expected.size());
        CHECK(p.total_results == 60);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(fields_of(p.items[i]) == expected[i]);
            CHECK(p.items[i].json() == (kept ? whole.items[i].json() : std::string_view()));
        }
    };
    SECTION("two pieces, split at every byte") {
        for (std::size_t split = 1; split < body.size(); split += 7)
            check(read_in_pieces(body, {split, body.size()}, false, body.size()), false);
    }
    SECTION("random piece sizes, the length known or not, the text kept or not") {
        std::mt19937 rng(42);
        for (int run = 0; run < 200; ++run) {
            std::vector<std::size_t> sizes;
            for (int k = 0; k < 16; ++k)
                sizes.push_back(std::uniform_int_distribution<std::size_t>(1, run % 2 ? 40 : 4000)(rng));
            bool const keep = run % 3 == 0;
            check(read_in_pieces(body, sizes, keep, run % 4 ? std::optional<std::uint64_t>(body.size()) : std::nullopt),
                  keep);
        }
    }
    SECTION("one byte at a time") {
        check(read_in_pieces(body, {1}, true, std::nullopt), true);
    }
    SECTION("a refusal mid-body names the field, whatever the split, and leaves no items") {
        auto bad = big_page(5);
        bad.replace(bad.rfind(R"("usage":4)"), 9, R"("usage":"4")");
        auto const key = bad.rfind(R"("usage":"4")");
        // Pieces of one size, then two pieces with the key whole in the first and its value in the
        // second: the key's bytes are gone when the value is refused.
        std::vector<std::vector<std::size_t>> splits{{1}, {3}, {100}, {1000}};
        for (std::size_t end_of_key : {key + 7, key + 8})
            splits.push_back({end_of_key, bad.size()});
        for (auto const& split : splits) {
            auto const e = error_of([&] { read_in_pieces(bad, split, false, std::nullopt); });
            CHECK(e.code() == error::api_bad_field_type);
            CHECK_THAT(e.what(), Catch::Contains("items[4].usage is not an integer"));
        }
        page<connection> out;
        detail::page_reader<connection> reader(&out, nullptr, false);
        CHECK_FALSE(reader.write(boost::asio::buffer(std::string_view(
            R"({"hasMore":true,"totalResults":9,"limit":2,"offset":0,"items":[{"id":"A"},{"usage":"x"})"))));
        CHECK_FALSE(reader.write(boost::asio::buffer(std::string_view("garbage after a refusal is read and dropped"))));
        std::string what;
        CHECK(reader.finish(what) == error::api_bad_field_type);
        // Nothing of the refused page is left: a caller that reads on cannot take it for a real one.
        CHECK(out.items.empty());
        CHECK_FALSE(out.has_more);
        CHECK_FALSE(out.total_results);
        CHECK_FALSE(out.limit);
        CHECK_FALSE(out.offset);
    }
}

TEST_CASE("strings of every length read back exactly, whole or split", "[unit][api][stream]") {
    // The parser copies a string that fits inside a text word by word (`text::assign_short`): every
    // length up to past the inline limit, distinct bytes, so that a byte out of place shows.
    std::string body = R"({"items":[)";
    std::vector<std::string> ids;
    for (std::size_t n = 0; n <= 40; ++n) {
        std::string id;
        for (std::size_t i = 0; i < n; ++i)
            id += static_cast<char>('A' + (i * 7 + n) % 26);
        body += (n ? "," : "") + std::string(R"({"id":")") + id + R"(","status":"ok"})";
        ids.push_back(std::move(id));
    }
    body += "]}";
    for (std::size_t piece : {body.size(), std::size_t(1), std::size_t(5), std::size_t(13)}) {
        auto const p = read_in_pieces(body, {piece}, false, std::nullopt);
        REQUIRE(p.items.size() == ids.size());
        for (std::size_t n = 0; n < ids.size(); ++n) {
            CHECK(p.items[n].id.view() == ids[n]);
            CHECK(p.items[n].id == text(ids[n])); // as a text built by hand
            CHECK(p.items[n].status == "ok");
        }
    }
}

TEST_CASE("items share their page's storage and stay valid on their own", "[unit][api][stream]") {
    // Under ASan, any view left pointing into freed storage fails here.
    std::vector<connection> kept;
    connection moved;
    text name;
    shared_span<connection_property> properties;
    {
        auto page = parse_page<connection>(big_page(8));
        REQUIRE(page.items.size() == 8);
        kept.push_back(page.items[3]);         // a copy
        moved = std::move(page.items[7]);      // a move
        name = page.items[5].name;             // one field
        properties = page.items[6].properties; // one nested list
        page.items[5] = page.items[2];         // assigned over: its old fields go
        page.items.erase(page.items.begin());  // items move inside the vector
    }                                          // the page, its vector and every other item are gone
    CHECK(kept[0].id == "C3");
    CHECK(kept[0].properties.size() == 3);
    CHECK(kept[0].properties[2].value == "https://h/C3/v");
    CHECK(moved.id == "C7");
    CHECK(moved.name.view().starts_with("Connection \xc3\xa9\"quoted\" "));
    CHECK(name.view().starts_with("Connection "));
    REQUIRE(properties.size() == 2);
    CHECK(properties[1].name == "p1");
    CHECK(std::string(properties.back().value) == "https://h/C6/v");

    SECTION("a model built by hand owns copies of what it is given") {
        connection c;
        {
            std::string id = "HAND_MADE";
            c.id = id;
            c.name = std::string_view(id).substr(0, 4);
            id.assign(40, '!'); // the model does not see the caller's string change
            c.adapter.name = "rest";
            c.properties = {connection_property{.name = "k", .value = std::string(100, 'v'), .display_name = "K"}};
        }
        CHECK(c.id == "HAND_MADE");
        CHECK(c.name == "HAND");
        CHECK(c.properties[0].value.size() == 100);
        connection copy = c;
        c = connection{};
        CHECK(copy.id == "HAND_MADE");
        CHECK(c.id.empty());
        CHECK(copy.json().empty());            // not read from an answer
        std::string const as_string = copy.id; // an id passes on as a std::string
        CHECK(as_string == "HAND_MADE");
    }
    SECTION("up to 22 bytes live inside the text; longer strings share one block") {
        auto inside = [](text const& t) {
            auto const* p = reinterpret_cast<char const*>(&t);
            return t.data() >= p && t.data() < p + sizeof t;
        };
        text small(std::string(22, 's')), big(std::string(23, 'b'));
        CHECK(inside(small));
        CHECK_FALSE(inside(big));
        text big_copy = big;
        CHECK(big_copy.data() == big.data()); // shared, not copied
        text small_copy = small;
        CHECK(small_copy == small);
        small = big;         // inline takes shared
        big = text{};        // the block still has two owners
        big_copy = big_copy; // NOLINT: self-assignment keeps it
        CHECK(small.view() == std::string(23, 'b'));
        CHECK(big_copy == small);
        CHECK(big.empty());
        text moved = std::move(small_copy);
        CHECK(moved == std::string(22, 's'));
        CHECK(small_copy.empty());                          // NOLINT: a moved-from text is empty
        CHECK(kept[0].created_by == "someone@example.com"); // 19 bytes: inline, from the page
        CHECK(inside(kept[0].created_by));
        CHECK_FALSE(inside(kept[0].name));
    }
    SECTION("copies are shared between threads: only counts change") {
        std::vector<std::thread> threads;
        std::atomic<int> good{0};
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 1000; ++i) {
                    connection c = kept[0];
                    text n = t % 2 ? moved.name : name;
                    good += c.id == "C3" && !n.empty();
                }
            });
        for (auto& t : threads)
            t.join();
        CHECK(good == 4000);
    }
}

TEST_CASE("integrations parse into their model, and errors name the item type", "[unit][api]") {
    auto const page = parse_page<integration>(
        R"({"items":[{"id":"HELLO_WORLD|01.02.0000","code":"HELLO_WORLD","version":"01.02.0000",)"
        R"("name":"Hello World","status":"ACTIVATED","pattern":"Orchestration","lockedFlag":true,)"
        R"("percentageComplete":100,"dependencies":{"connections":[{"id":"ACME_REST"}]}}],"hasMore":false})");
    REQUIRE(page.items.size() == 1);
    auto const& x = page.items[0];
    CHECK(x.id == "HELLO_WORLD|01.02.0000");
    CHECK(x.code == "HELLO_WORLD");
    CHECK(x.version == "01.02.0000");
    CHECK(x.status == "ACTIVATED");
    CHECK(x.pattern == "Orchestration");
    CHECK(x.locked);
    CHECK(x.percentage_complete == 100);
    CHECK(x.raw().at("dependencies").at("connections").as_array().size() == 1);

    auto const e = error_of([] { parse_page<integration>(R"({"items":[{"version":1}]})"); });
    CHECK(e.code() == error::api_bad_field_type);
    CHECK_THAT(e.what(), Catch::Contains("items[0].version is not a string"));
    auto const single = error_of([] { parse_item<integration>(R"({"lockedFlag":"yes"})"); });
    CHECK_THAT(single.what(), Catch::Contains("integration.lockedFlag is not a boolean"));
    auto const not_json = error_of([] { parse_page<integration>("<html>"); });
    CHECK(not_json.code() == error::api_not_json);
    CHECK_THAT(not_json.what(), Catch::Contains("integrations answer is not JSON"));
}

TEST_CASE("errored instances and instances parse into their models; errors name the field", "[unit][api][monitoring]") {
    auto const errors = parse_page<errored_instance>(
        R"({"items":[{"id":"2HVm-j8dEfG8Ab8Y-P4nAQ","integration":{"code":"ASYNC_MAIN","version":"01.00.0000",)"
        R"("name":"Async Main","links":[{"rel":"self"}]},"errorCode":"500","errorMessage":"Invalid product",)"
        R"("errorDetails":"Invalid product 'iCar'","faultId":"f-1","recoverable":true,"retryCount":2,)"
        R"("status":"FAILED","creationDate":"2026-04-23T14:10:50.525+0000","primaryName":"Order",)"
        R"("primaryValue":"O-1","connection":{"code":"X"},"currentTraceLevel":"Debug"},)"
        R"({"id":"B","integration":null,"recoverable":false}],"hasMore":true,"totalResults":7})");
    REQUIRE(errors.items.size() == 2);
    auto const& e = errors.items[0];
    CHECK(e.id == "2HVm-j8dEfG8Ab8Y-P4nAQ");
    CHECK(e.integration_code == "ASYNC_MAIN");
    CHECK(e.integration_version == "01.00.0000");
    CHECK(e.integration_name == "Async Main");
    CHECK(e.integration_id() == "ASYNC_MAIN|01.00.0000");
    CHECK(e.error_code == "500");
    CHECK(e.error_message == "Invalid product");
    CHECK(e.error_details == "Invalid product 'iCar'");
    CHECK(e.fault_id == "f-1");
    CHECK(e.recoverable);
    CHECK(e.retry_count == 2);
    CHECK(e.status == "FAILED");
    CHECK(e.creation_date == "2026-04-23T14:10:50.525+0000");
    CHECK(e.primary_name == "Order");
    CHECK(e.primary_value == "O-1");
    CHECK(e.raw().at("currentTraceLevel") == "Debug"); // unmodelled fields stay reachable
    CHECK(errors.items[1].integration_code.empty());
    CHECK(errors.items[1].integration_id().empty());
    CHECK_FALSE(errors.items[1].recoverable);
    CHECK(errors.has_more);
    CHECK(errors.total_results == 7);

    auto const runs = parse_page<integration_instance>(
        R"({"items":[{"id":"I-1","integrationId":"HELLO","integrationName":"Hello","integrationVersion":"01.00.0000",)"
        R"("status":"COMPLETED","creationDate":"c","lastTrackedTime":"t","runId":"r"}],"hasMore":false})");
    REQUIRE(runs.items.size() == 1);
    CHECK(runs.items[0].id == "I-1");
    CHECK(runs.items[0].integration_id == "HELLO");
    CHECK(runs.items[0].integration_name == "Hello");
    CHECK(runs.items[0].integration_version == "01.00.0000");
    CHECK(runs.items[0].status == "COMPLETED");
    CHECK(runs.items[0].last_tracked_time == "t");
    CHECK(runs.items[0].run_id == "r");

    CHECK_THAT(error_of([] { parse_page<errored_instance>(R"({"items":[{"integration":{"version":1}}]})"); }).what(),
               Catch::Contains("items[0].integration.version is not a string"));
    CHECK_THAT(error_of([] { parse_page<errored_instance>(R"({"items":[{"integration":"X"}]})"); }).what(),
               Catch::Contains("items[0].integration is not an object"));
    CHECK_THAT(error_of([] { parse_page<errored_instance>(R"({"items":[{"recoverable":"yes"}]})"); }).what(),
               Catch::Contains("items[0].recoverable is not a boolean"));
    CHECK_THAT(error_of([] { parse_item<integration_instance>(R"({"status":3})"); }).what(),
               Catch::Contains("instance.status is not a string"));
    CHECK_THAT(error_of([] { parse_page<errored_instance>("<html>"); }).what(),
               Catch::Contains("errored instances answer is not JSON"));
    // A connection's nested object is still its adapter, not an errored instance's integration.
    CHECK(parse_item<connection>(R"({"integration":{"code":1},"adapterType":{"name":"rest"}})").adapter.name == "rest");
}

TEST_CASE("resubmit answers: Oracle's hyphenated names, camelCase, ids as numbers, no body",
          "[unit][api][monitoring]") {
    auto const many = parse_resubmit_result(
        202, R"({"accepted-ids":["a","b"],"invalid-ids":[19],"non-recoverable-ids":["c"],"message":"2 of 4",)"
             R"("recovery-job-id":"77","resubmit-requested":true,"resubmitted-instances-count":2})");
    CHECK(many.http_status == 202);
    CHECK(many.accepted_ids == std::vector<std::string>{"a", "b"});
    CHECK(many.invalid_ids == std::vector<std::string>{"19"});
    CHECK(many.non_recoverable_ids == std::vector<std::string>{"c"});
    CHECK(many.message == "2 of 4");
    CHECK(many.recovery_job_id == "77");
    CHECK(many.accepted == true);
    CHECK_THAT(many.json, Catch::Contains("resubmitted-instances-count"));

    auto const camel =
        parse_resubmit_result(200, R"({"acceptedIds":["x"],"recoveryJobId":12,"resubmitSuccessful":false})");
    CHECK(camel.accepted_ids == std::vector<std::string>{"x"});
    CHECK(camel.recovery_job_id == "12");
    CHECK(camel.accepted == false);

    auto const none = parse_resubmit_result(202, "");
    CHECK(none.http_status == 202);
    CHECK_FALSE(none.accepted);
    CHECK(none.accepted_ids.empty());

    auto const not_json = error_of([] { parse_resubmit_result(200, "<html>"); });
    CHECK(not_json.code() == error::api_not_json);
    CHECK_THAT(error_of([] { parse_resubmit_result(202, R"({"accepted-ids":"a"})"); }).what(),
               Catch::Contains("accepted-ids is not an array"));
    CHECK_THAT(error_of([] { parse_resubmit_result(202, R"({"invalid-ids":["a",{}]})"); }).what(),
               Catch::Contains("invalid-ids[1] is not a string or an integer"));
    CHECK_THAT(error_of([] { parse_resubmit_result(200, R"({"resubmit-successful":"yes"})"); }).what(),
               Catch::Contains("resubmit-successful is not a boolean"));
    CHECK(error_of([] { parse_resubmit_result(200, "[]"); }).code() == error::api_bad_field_type);
}

TEST_CASE("connections query string", "[unit][api]") {
    connections_query q;
    CHECK(to_query_string(q).empty());
    q.q = "{name : /RN/, status : 'CONFIGURED'}";
    q.limit = 10;
    q.offset = 20;
    q.order_by = "name";
    q.expand = "adapter";
    CHECK(to_query_string(q) == "q=%7Bname%20%3A%20%2FRN%2F%2C%20status%20%3A%20%27CONFIGURED%27%7D&limit=10&offset=20&"
                                "orderBy=name&expand=adapter");
}
