// oic/testing, the mock server's parts sans-io: its list query language, its monitoring data, its
// multipart reader, its archives.

#include "common.hpp"
#include <oic/testing/detail/integration_catalog.hpp>
#include <oic/testing/detail/monitoring_catalog.hpp>
#include <oic/testing/detail/multipart_reader.hpp>

#include <boost/url/parse_query.hpp>

#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace oic;
using oic_test::error_of;
namespace bhttp = boost::beast::http;

TEST_CASE("the mock's monitoring data: failed runs are the errored instances; a resubmit takes one off the list",
          "[unit][mock][monitoring]") {
    namespace td = oic::testing::detail;
    auto const conns = td::make_connection_catalog(120, "https://design");
    auto const ints = td::make_integration_catalog(40, "https://design", conns.records());
    auto data = td::make_monitoring_data(60, "https://design", ints.records());
    auto const again = td::make_monitoring_data(60, "https://design", ints.records());
    REQUIRE(data.instances.records().size() == 60);
    REQUIRE(data.errors.records().size() == 15);
    std::set<std::string> codes, ids;
    for (std::size_t i = 0; i < data.instances.records().size(); ++i) {
        auto const& r = data.instances.records()[i];
        CHECK(r.id == again.instances.records()[i].id); // deterministic
        CHECK(r.id.size() == 22);
        codes.insert(r.code);
        ids.insert(r.id);
        CHECK((r.status == "FAILED") == (data.errors.find(r.id) != nullptr));
    }
    CHECK(ids.size() == 60);
    CHECK(codes.size() == 4);
    std::size_t recoverable = 0;
    for (auto const& e : data.errors.records())
        recoverable += e.recoverable;
    CHECK(recoverable == 10);

    auto const list_errors = [&] {
        td::list_request all;
        all.limit = 1000;
        all.filter.conditions.push_back({"status", "FAILED", false});
        return data.errors.list(all).at("items").as_array();
    };
    auto const it = std::find_if(data.errors.records().begin(), data.errors.records().end(),
                                 [](auto const& e) { return e.recoverable; });
    auto const stuck = std::find_if(data.errors.records().begin(), data.errors.records().end(),
                                    [](auto const& e) { return !e.recoverable; });
    REQUIRE(it != data.errors.records().end());
    REQUIRE(stuck != data.errors.records().end());
    std::string const id = it->id;
    CHECK(td::resubmit(data, id) == td::resubmit_outcome::accepted);
    CHECK(td::resubmit(data, id) == td::resubmit_outcome::not_errored);
    CHECK(td::resubmit(data, stuck->id) == td::resubmit_outcome::not_recoverable);
    CHECK(td::resubmit(data, "NO_SUCH_ID") == td::resubmit_outcome::not_found);
    auto const listed = list_errors();
    CHECK(listed.size() == 14);
    CHECK(std::none_of(listed.begin(), listed.end(), [&](auto const& x) { return x.at("id").as_string() == id; }));
    CHECK(data.instances.find(id)->status == "RESUBMITTED");
    CHECK(data.errors.find(id)->json.at("retryCount") == 1);

    // q: the documented timewindow values are checked and filter nothing; code filters.
    auto parse = [](std::string_view q, td::list_schema const& schema) {
        std::string encoded;
        oic::http::append_param(encoded, "q", q);
        return td::parse_list_request(boost::urls::parse_query(encoded).value(), schema);
    };
    auto request = parse("{timewindow: '3d', code: '" + it->code + "'}", td::errored_instance_schema());
    auto const filtered =
        data.errors.list(td::without_time_window(std::get<td::list_request>(request))).at("items").as_array();
    REQUIRE_FALSE(filtered.empty());
    CHECK(filtered.size() < 15);
    for (auto const& x : filtered)
        CHECK(x.at("integration").at("code").as_string() == it->code);
    auto const refused = parse("{timewindow: '5y'}", td::errored_instance_schema());
    REQUIRE(std::holds_alternative<td::query_error>(refused));
    CHECK_THAT(std::get<td::query_error>(refused).message, Catch::Contains("timewindow must be 1h, 6h"));
    auto const failed = parse("{status: 'FAILED'}", td::integration_instance_schema());
    CHECK(data.instances.list(std::get<td::list_request>(failed)).at("totalResults") == 14); // one was resubmitted
}

TEST_CASE("the mock's list query language", "[unit][mock]") {
    namespace td = oic::testing::detail;
    // `query` is written readable (`q={name:'x'}&limit=5`); each value is encoded as a client would.
    auto parse = [](std::string_view query, td::list_schema const& schema) {
        std::string encoded;
        for (std::size_t start = 0; start <= query.size();) {
            auto const end = std::min(query.find('&', start), query.size());
            auto const pair = query.substr(start, end - start);
            auto const eq = pair.find('=');
            oic::http::append_param(encoded, pair.substr(0, eq), eq == pair.npos ? "" : pair.substr(eq + 1));
            start = end + 1;
        }
        return td::parse_list_request(boost::urls::parse_query(encoded).value(), schema);
    };
    auto error_text = [&](std::string_view query, td::list_schema const& schema) {
        auto r = parse(query, schema);
        auto const* e = std::get_if<td::query_error>(&r);
        return e ? e->message : std::string("(accepted)");
    };
    auto const& connections = td::connection_schema();
    auto const& integrations = td::integration_schema();

    SECTION("q: exact and contains conditions, combined") {
        auto r = parse("q={name : /RN/, status : 'CONFIGURED'}&limit=5&offset=2&orderBy=name", connections);
        auto const& req = std::get<td::list_request>(r);
        REQUIRE(req.filter.conditions.size() == 2);
        CHECK(req.filter.conditions[0].field == "name");
        CHECK(req.filter.conditions[0].contains);
        CHECK(req.filter.conditions[1].value == "CONFIGURED");
        CHECK_FALSE(req.filter.conditions[1].contains);
        CHECK(req.limit == 5);
        CHECK(req.offset == 2);
        CHECK(req.order == "name");
        CHECK(std::get<td::list_request>(parse("q={name:'It\\'s'}", connections)).filter.conditions[0].value == "It's");
        CHECK(std::get<td::list_request>(parse("limit=0", connections)).limit == 1); // clamped
        CHECK(std::get<td::list_request>(parse("limit=5000", connections)).limit == 1000);
    }
    SECTION("every refusal says what was wrong") {
        CHECK_THAT(error_text("q={role:'SOURCE'}", integrations),
                   Catch::Contains("unsupported field 'role' (supported: name or status)"));
        CHECK_THAT(error_text("q={status:'ACTIVATED'}", connections),
                   Catch::Contains("status must be CONFIGURED or INPROGRESS"));
        CHECK_THAT(error_text("q={status:'DRAFT'}", integrations),
                   Catch::Contains("status must be ACTIVATED, CONFIGURED, INPROGRESS or FAILEDACTIVATION"));
        CHECK_THAT(error_text("q={name:'a', name:'b'}", connections), Catch::Contains("field 'name' appears twice"));
        CHECK_THAT(error_text("q={name:'a}", connections), Catch::Contains("unterminated value"));
        CHECK_THAT(error_text("q={name:'a'} x", connections), Catch::Contains("unexpected text after '}'"));
        CHECK_THAT(error_text("q=name", connections), Catch::Contains("expected '{'"));
        CHECK_THAT(error_text("orderBy=type", integrations), Catch::Contains("orderBy must be name or time"));
        CHECK_THAT(error_text("offset=-1", connections), Catch::Contains("offset must be a non-negative integer"));
        CHECK_THAT(error_text("limit=ten", connections), Catch::Contains("limit must be an integer"));
        CHECK(error_text("q=&expand=adapter", connections) == "(accepted)");
    }
    SECTION("the catalogs filter, sort and page as the real lists do") {
        auto const conns = td::make_connection_catalog(120, "https://design");
        auto const ints = td::make_integration_catalog(40, "https://design", conns.records());
        auto list = [&](auto const& catalog, std::string_view query, td::list_schema const& schema) {
            return catalog.list(std::get<td::list_request>(parse(query, schema)));
        };
        auto const first = list(conns, "limit=50", connections);
        CHECK(first.at("items").as_array().size() == 50);
        CHECK(first.at("hasMore") == true);
        CHECK(first.at("totalResults") == 120);
        auto const last = list(conns, "limit=50&offset=100", connections);
        CHECK(last.at("items").as_array().size() == 20);
        CHECK(last.at("hasMore") == false);
        auto const past = list(conns, "offset=500", connections);
        CHECK(past.at("items").as_array().empty());

        auto const activated = list(ints, "q={status:'ACTIVATED'}&limit=1000", integrations);
        auto const& items = activated.at("items").as_array();
        REQUIRE_FALSE(items.empty());
        CHECK(items.size() < 40);
        for (auto const& x : items) {
            CHECK(x.at("status") == "ACTIVATED");
            auto const id = std::string(x.at("id").as_string());
            CHECK(id == std::string(x.at("code").as_string()) + "|" + std::string(x.at("version").as_string()));
        }
        auto const newest = list(ints, "orderBy=time&limit=1000", integrations).at("items").as_array();
        for (std::size_t i = 1; i < newest.size(); ++i)
            CHECK(newest[i - 1].at("lastUpdated").as_string() >= newest[i].at("lastUpdated").as_string());
        auto const named = list(conns, "q={name:/Acme/}&limit=1000", connections).at("items").as_array();
        REQUIRE_FALSE(named.empty());
        for (auto const& c : named)
            CHECK(std::string_view(c.at("name").as_string()).find("Acme") != std::string_view::npos);
    }
}

namespace {

namespace td = oic::testing::detail;

/// What reading `body` fed in `pieces` (their sizes, summing to the body's) gives: the form, or
/// the error.
struct form_outcome {
    bool ok = false;
    std::string error;
    td::multipart_upload upload;

    bool operator==(form_outcome const& o) const {
        return ok == o.ok && error == o.error && upload.size == o.upload.size && upload.sha256 == o.upload.sha256 &&
               upload.filename == o.upload.filename && upload.first_line == o.upload.first_line &&
               upload.first_line_ended == o.upload.first_line_ended && upload.parts == o.upload.parts;
    }
};

form_outcome read_form(std::string_view boundary, std::string_view body, std::vector<std::size_t> const& pieces) {
    td::multipart_reader reader(boundary);
    std::size_t at = 0;
    bool ok = true;
    for (std::size_t n : pieces) {
        ok = reader.feed(body.substr(at, n)) && ok;
        at += n;
    }
    REQUIRE(at == body.size());
    ok = reader.finish() && ok;
    CHECK(ok == !reader.failed());
    return {ok, reader.error(), ok ? reader.upload() : td::multipart_upload{}};
}

/// `body` read whole, in two pieces split at every position, in three pieces split at every pair
/// of positions (bodies up to 700 bytes), one byte at a time and in 200 random splits: every way
/// gives the same outcome, which is returned.
form_outcome read_form_every_way(std::string_view boundary, std::string_view body) {
    form_outcome const whole = read_form(boundary, body, {body.size()});
    std::size_t differing = 0;
    auto const same = [&](std::vector<std::size_t> const& pieces) {
        if (!(read_form(boundary, body, pieces) == whole) && ++differing <= 3) {
            std::string sizes;
            for (auto n : pieces)
                sizes += std::to_string(n) + " ";
            FAIL_CHECK("pieces " << sizes << "read differently from the whole body");
        }
    };
    for (std::size_t split = 0; split <= body.size(); ++split)
        same({split, body.size() - split});
    if (body.size() <= 700)
        for (std::size_t a = 0; a <= body.size(); ++a)
            for (std::size_t b = a; b <= body.size(); ++b)
                same({a, b - a, body.size() - b});
    same(std::vector<std::size_t>(body.size(), 1));
    std::mt19937 random(7);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> pieces;
        for (std::size_t left = body.size(); left > 0;) {
            std::size_t const n = std::min(left, std::size_t{1} + random() % (round % 2 ? 5 : 300));
            pieces.push_back(n);
            left -= n;
        }
        same(pieces);
    }
    CHECK(differing == 0);
    return whole;
}

std::string file_part(std::string_view boundary, std::string_view content, std::string_view filename = "flow.iar") {
    return "--" + std::string(boundary) + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
           std::string(filename) + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + std::string(content) +
           "\r\n";
}

} // namespace

TEST_CASE("the multipart reader: every way of splitting a form reads the same file, delimiter look-alikes included",
          "[unit][mock][multipart]") {
    std::string const b = "----oicBoundary7MA4YWxkTrZu0gW";
    // Content that holds the boundary where it is no delimiter: after a lone LF (the first line's
    // end) or CR, after other text, after CRLF but cut short, and CRs at the very end.
    std::string const content = "OIC-MOCK-IAR SPLIT_FLOW|01.00.0000\n--" + b + "--x--" + b + "\n--" + b + "\r--" + b +
                                "\r\n-" + "\r\n--" + b.substr(0, b.size() - 1) + "Z\r\r\n\r\n--\r\r";
    std::string const body = "This is the preamble; --" + b + " in it is no delimiter either.\r\n--" + b +
                             "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--" + b + "  \t\r\n" +
                             "content-disposition: FORM-DATA; filename=\"a \\\"quoted\\\" name.iar\"; NAME=file\r\n" +
                             "Content-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" + b +
                             "--\r\nand an epilogue, with --" + b + "-- again\r\n";
    auto const outcome = read_form_every_way(b, body);
    REQUIRE(outcome.error == "");
    REQUIRE(outcome.ok);
    CHECK(outcome.upload.size == content.size());
    CHECK(outcome.upload.sha256 == oic::testing::sha256_hex(content));
    CHECK(outcome.upload.first_line == "OIC-MOCK-IAR SPLIT_FLOW|01.00.0000");
    CHECK(outcome.upload.first_line_ended);
    CHECK(outcome.upload.filename == "a \"quoted\" name.iar");
    CHECK(outcome.upload.parts == std::vector<std::string>{"note", "file"});

    SECTION("a body that starts with the delimiter, an empty file, a one-character boundary") {
        auto const empty = read_form_every_way("x", file_part("x", "") + "--x--");
        REQUIRE(empty.ok);
        CHECK(empty.upload.size == 0);
        CHECK(empty.upload.sha256 == oic::testing::sha256_hex(""));
        CHECK(empty.upload.first_line == "");
        CHECK_FALSE(empty.upload.first_line_ended);
    }
    SECTION("a mock archive: its first line names the integration") {
        auto const archive = oic::testing::make_mock_archive("HELLO|01.00.0000", 1000);
        auto const read = read_form_every_way("B", file_part("B", archive) + "--B--\r\n");
        REQUIRE(read.ok);
        CHECK(read.upload.size == 1000);
        CHECK(read.upload.sha256 == oic::testing::sha256_hex(archive));
        CHECK(read.upload.first_line == "OIC-MOCK-IAR HELLO|01.00.0000");
    }
    SECTION("the first line: at most 200 bytes, CRLF or LF") {
        auto const first = [](std::string const& content) {
            std::string const body = file_part("B", content) + "--B--";
            auto const r = read_form("B", body, {body.size()});
            REQUIRE(r.ok);
            return std::pair{r.upload.first_line, r.upload.first_line_ended};
        };
        CHECK(first(std::string(200, 'a') + "\r\nrest") == std::pair{std::string(200, 'a'), true});
        CHECK(first(std::string(200, 'a') + "\nrest") == std::pair{std::string(200, 'a'), true});
        CHECK(first(std::string(201, 'a') + "\n") == std::pair{std::string(200, 'a'), false});
        CHECK(first(std::string(200, 'a') + "\r") == std::pair{std::string(200, 'a'), false});
        CHECK(first("a\rb\n") == std::pair{std::string("a\rb"), true});
        CHECK(first("no line end") == std::pair{std::string("no line end"), false});
    }
}

TEST_CASE("the multipart reader refuses what RFC 7578 does not allow, wherever the body is split",
          "[unit][mock][multipart]") {
    std::string const b = "bNd";
    std::string const file = file_part(b, "OIC-MOCK-IAR X|1\nbytes");
    struct refused {
        std::string what, body, error;
    };
    std::vector<refused> const cases{
        {"no close delimiter", file, "ended before its close delimiter --bNd--."},
        {"the body ends inside the file", file.substr(0, file.size() - 4), "ended before its close delimiter"},
        {"the body ends inside a delimiter", file + "--bN", "ended before its close delimiter"},
        {"no delimiter at all", "just some text", "(and before any delimiter line)"},
        {"an empty body", "", "ended before its close delimiter --bNd-- (and before any delimiter line)."},
        {"no file part",
         "--bNd\r\nContent-Disposition: form-data; name=\"other\"; filename=\"x.iar\"\r\n\r\nOIC\r\n--bNd--",
         "No file is uploaded: the form has no part named \"file\"."},
        {"no part at all", "--bNd--\r\n", "No file is uploaded"},
        {"two file parts", file + file + "--bNd--", "The form has more than one part named \"file\"."},
        {"a part without Content-Disposition", file + "--bNd\r\nContent-Type: text/plain\r\n\r\nx\r\n--bNd--",
         "A part has no Content-Disposition header"},
        {"a part without any header", "--bNd\r\n\r\nx\r\n--bNd--", "A part has no Content-Disposition header"},
        {"Content-Disposition without a name", "--bNd\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx",
         "A part's Content-Disposition is not form-data with a name: 'form-data; filename=\"a\"'."},
        {"Content-Disposition that is not form-data", "--bNd\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\n",
         "is not form-data with a name"},
        {"an empty name", "--bNd\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n", "is not form-data with a name"},
        {"an unterminated quoted name", "--bNd\r\nContent-Disposition: form-data; name=\"file\r\n\r\n",
         "is not form-data with a name"},
        {"two Content-Disposition headers",
         "--bNd\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n",
         "more than one Content-Disposition"},
        {"a header line without a colon", "--bNd\r\nContent-Disposition form-data\r\n\r\n",
         "A part header line is malformed: 'Content-Disposition form-data'."},
        {"a folded header line", "--bNd\r\nContent-Disposition: form-data;\r\n name=\"file\"\r\n\r\n",
         "A part header line is malformed"},
        {"a bare LF in the headers", "--bNd\r\nContent-Disposition: form-data; name=\"file\"\n\r\n\r\n",
         "A part header line is malformed"},
        {"part headers over 8 KiB",
         "--bNd\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Pad: " + std::string(9000, 'p') + "\r\n\r\nx",
         "A part's header lines exceed 8 KiB."},
        {"text after a delimiter", "--bNdX\r\n", "A multipart delimiter line --bNd is followed by other text"},
        {"a delimiter line ending in a lone CR", "--bNd\rx", "is followed by other text than CRLF or --."},
        {"the delimiter inside the file, cut off", file.substr(0, file.size() - 2) + "\r\n--bNd-x",
         "is followed by other text"},
        {"a close delimiter with one dash", file + "--bNd-\r\n", "is followed by other text"},
    };
    for (auto const& c : cases) {
        CAPTURE(c.what);
        auto const outcome = read_form_every_way(b, c.body);
        CHECK_FALSE(outcome.ok);
        CHECK_THAT(outcome.error, Catch::Contains(c.error));
    }
    // Headers of exactly 8 KiB (their lines, CRLFs included) are taken.
    std::string const line = "Content-Disposition: form-data; name=\"file\"\r\n";
    std::string pad = "X-Pad: ";
    pad += std::string(td::multipart_reader::max_part_headers - line.size() - pad.size() - 2, 'p') + "\r\n";
    REQUIRE(line.size() + pad.size() == td::multipart_reader::max_part_headers);
    std::string const largest = "--bNd\r\n" + line + pad + "\r\nOIC\r\n--bNd--";
    CHECK(read_form_every_way(b, largest).ok);
    std::string const too_large = "--bNd\r\n" + line + "X" + pad + "\r\nOIC\r\n--bNd--";
    CHECK(read_form_every_way(b, too_large).error == "A part's header lines exceed 8 KiB.");
}

TEST_CASE("the multipart boundary comes from Content-Type: 1 to 70 allowed characters, quoted or not",
          "[unit][mock][multipart]") {
    auto const boundary = [](std::string_view content_type) {
        auto const found = td::form_data_boundary(content_type);
        if (auto const* refusal = std::get_if<td::multipart_refusal>(&found))
            return std::to_string(refusal->status) + " " + refusal->message;
        return "boundary " + std::get<std::string>(found);
    };
    CHECK(boundary("multipart/form-data; boundary=abc") == "boundary abc");
    CHECK(boundary("Multipart/Form-Data;BOUNDARY=\"a b:c?\"") == "boundary a b:c?");
    CHECK(boundary("multipart/form-data; charset=utf-8; boundary=\"x\\:y\"") == "boundary x:y");
    CHECK(boundary("multipart/form-data; boundary=" + std::string(70, 'z')) == "boundary " + std::string(70, 'z'));
    CHECK_THAT(boundary("multipart/form-data; boundary=" + std::string(71, 'z')),
               Catch::StartsWith("400 The multipart boundary '") && Catch::Contains("1 to 70"));
    CHECK_THAT(boundary("multipart/form-data; boundary=\"ends with space \""), Catch::StartsWith("400 "));
    CHECK_THAT(boundary("multipart/form-data; boundary=\"\""), Catch::StartsWith("400 "));
    CHECK_THAT(boundary("multipart/form-data; boundary=a[b]"), Catch::StartsWith("400 "));
    CHECK(boundary("multipart/form-data") == "400 The multipart/form-data Content-Type has no boundary parameter.");
    CHECK(boundary("multipart/form-data; name=boundary") ==
          "400 The multipart/form-data Content-Type has no boundary parameter.");
    CHECK(boundary("multipart/form-data; boundary") == "415 The body must be multipart/form-data, not "
                                                       "'multipart/form-data; boundary'.");
    CHECK(boundary("application/octet-stream") ==
          "415 The body must be multipart/form-data, not 'application/octet-stream'.");
    CHECK(boundary("") == "415 The body must be multipart/form-data, not ''.");
}

TEST_CASE("mock archives: the id on the first line, then bytes that do not compress, exactly the size asked",
          "[unit][mock]") {
    auto const a = oic::testing::make_mock_archive("FLOW|01.00.0000", 4096);
    CHECK(a.size() == 4096);
    CHECK(a.starts_with("OIC-MOCK-IAR FLOW|01.00.0000\n"));
    CHECK(a == oic::testing::make_mock_archive("FLOW|01.00.0000", 4096));
    CHECK(a.substr(29) != oic::testing::make_mock_archive("FLOW|02.00.0000", 4096).substr(29));
    CHECK(oic::testing::make_mock_archive("A|1", 17) == "OIC-MOCK-IAR A|1\n"); // the line and nothing else
    CHECK_THROWS_AS(oic::testing::make_mock_archive("A|1", 16), std::invalid_argument);
    CHECK_THROWS_AS(oic::testing::make_mock_archive("", 1000), std::invalid_argument);
    CHECK_THROWS_AS(oic::testing::make_mock_archive("A\n|1", 1000), std::invalid_argument);
    CHECK_THROWS_AS(oic::testing::make_mock_archive(std::string(188, 'A'), 1000), std::invalid_argument);
    CHECK(oic::testing::make_mock_archive(std::string(187, 'A'), 1000).size() == 1000);
}
