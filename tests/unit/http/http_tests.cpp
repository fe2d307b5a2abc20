// oic/http, sans-io: URL and form encoding, redaction, Retry-After and the backoff, the bodies that
// go up (multipart, files).

#include "common.hpp"

#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace oic;
using oic_test::error_of;
namespace bhttp = boost::beast::http;

TEST_CASE("form and percent encoding", "[unit][encode]") {
    CHECK(http::form_encode("a b+c&d=e/f:g~h") == "a+b%2Bc%26d%3De%2Ff%3Ag~h");
    CHECK(http::percent_encode("{name: /Zürich/}") == "%7Bname%3A%20%2FZ%C3%BCrich%2F%7D");
    CHECK(http::path_segment("MY_CONN") == "MY_CONN");
    CHECK(http::path_segment("a/../b?c#d") == "a%2F..%2Fb%3Fc%23d");
    CHECK(http::path_segment("..") == "%2E%2E");
    CHECK(http::path_segment(".") == "%2E");
    std::string q;
    http::append_param(q, "q", "{status:'CONFIGURED'}");
    http::append_param(q, "limit", "5");
    CHECK(q == "q=%7Bstatus%3A%27CONFIGURED%27%7D&limit=5");
    http::append_param(q, "a b", "c&d");
    CHECK(q.ends_with("&a%20b=c%26d"));
}

TEST_CASE("a redacted URL keeps no userinfo, query or fragment", "[unit][encode]") {
    auto redact = [](std::string_view s) { return http::redacted(http::urls::parse_uri(s).value()); };
    CHECK(redact("https://user:pw@host.example:8443/ic/api?access_token=SECRET#frag") ==
          "https://host.example:8443/ic/api");
    CHECK(redact("http://[::1]:80") == "http://[::1]:80");
    CHECK(redact("https://h?x=1") == "https://h");
    CHECK(redact("https://@h/p%20q/") == "https://h/p%20q/");
}

TEST_CASE("Retry-After in seconds and in the three HTTP-date forms; the backoff's bounds", "[unit][retry]") {
    using http::detail::parse_retry_after;
    using namespace std::chrono;
    auto const now = sys_days(year(1994) / November / 6) + 8h + 49min + 7s; // 30 s before the RFC's example
    CHECK(parse_retry_after("120", now) == 120s);
    CHECK(parse_retry_after(" 0 ", now) == 0s);
    CHECK(parse_retry_after("99999999999999999999", now) == http::clock::duration::max());
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 30s);  // IMF-fixdate
    CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == 30s); // RFC 850
    CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == 30s);       // asctime
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == 0s);   // past: no wait
    for (auto const bad : {"", "-5", "1.5", "soon", "Sun, 30 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT",
                           "Sun, 06 Nov 1994", "06 Nov 1994 08:49:37 1995 1996"})
        CHECK_FALSE(parse_retry_after(bad, now));
    // Dates past 2262 do not fit in nanoseconds since 1970: the wait saturates (UBSan caught the overflow).
    CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) == http::clock::duration::max());
    CHECK(parse_retry_after("Mon, 01 Jan 2263 00:00:00 GMT", now) == sys_days(year(2263) / January / 1) - now);
    CHECK(parse_retry_after("Thu, 01 Jan 0001 00:00:00 GMT", now) == 0s);
    auto const later = system_clock::time_point(now) + 250ms; // a now with a fraction of a second
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later) == 29750ms);

    http::retry_options const o{.base_delay = 100ms, .max_delay = 1s};
    CHECK(http::detail::backoff(o, 0, 0.0) == 0ms);
    CHECK(http::detail::backoff(o, 0, 0.5) == 50ms);
    CHECK(http::detail::backoff(o, 3, 0.5) == 400ms);
    CHECK(http::detail::backoff(o, 40, 0.5) == 500ms); // capped, and no overflow
}

namespace {
/// Everything `source` gives, read `piece` bytes at a time; the error, if one ends it.
std::pair<std::string, error_code> drain(http::body_source& source, std::size_t piece) {
    std::string out, buf(piece, '\0');
    for (;;) {
        error_code ec;
        auto const n = source.read(asio::buffer(buf), ec);
        if (ec || n == 0)
            return {out, ec};
        out.append(buf, 0, n);
    }
}

} // namespace

TEST_CASE("a multipart body: framing, the boundary checked across every split, rewind", "[unit][upload]") {
    std::string const content = "PK\x03\x04 an archive\r\n-- not a boundary --B12 nor this\r\n";
    http::string_source file(content);
    http::multipart_source body(file, "file", "my \"odd\"\nname.iar", "application/octet-stream", "B123");
    std::string const expected =
        "--B123\r\nContent-Disposition: form-data; name=\"file\"; filename=\"my _odd__name.iar\""
        "\r\nContent-Type: application/octet-stream\r\n\r\n" +
        content + "\r\n--B123--\r\n";
    CHECK(body.content_type() == "multipart/form-data; boundary=B123");
    CHECK(body.size() == expected.size());
    for (std::size_t piece = 1; piece <= expected.size() + 1; ++piece) {
        REQUIRE(body.rewind());
        auto const [bytes, ec] = drain(body, piece);
        REQUIRE_FALSE(ec);
        REQUIRE(bytes == expected);
    }

    // The boundary in the content, at any offset and across any split, ends the body with an
    // error that says so (the server would otherwise end the part there).
    for (std::size_t at = 0; at <= 20; at += 5) {
        std::string holding = std::string(at, 'x') + "--B123" + std::string(7, 'y');
        for (std::size_t piece = 1; piece <= holding.size() + 1; ++piece) {
            http::string_source inner(holding);
            http::multipart_source colliding(inner, "file", "a.iar", "application/octet-stream", "B123");
            auto const [bytes, ec] = drain(colliding, piece);
            REQUIRE(ec);
            CHECK(colliding.describe(ec).find("boundary --B123") != std::string::npos);
        }
    }

    // A random boundary: 36 characters, a new one each time.
    http::string_source a(content), b(content);
    http::multipart_source one(a, "file", "x"), two(b, "file", "x");
    CHECK(one.boundary().size() == 36);
    CHECK(one.boundary() != two.boundary());

    // Rewinding needs the content again only once it was read.
    oic_test::once_source once(content);
    http::multipart_source over_once(once, "file", "x", "application/octet-stream", "B123");
    CHECK(over_once.rewind());
    CHECK(drain(over_once, 10).first.size() == over_once.size());
    CHECK_FALSE(over_once.rewind());
}

TEST_CASE("a file source names the file that cannot be sent, before any request", "[unit][upload]") {
    oic_test::scratch_folder folder;
    diagnostics d;
    http::file_source missing;
    CHECK(missing.open(folder.path() / "nope.iar", d) == boost::system::errc::no_such_file_or_directory);
    CHECK(d.message.find("nope.iar cannot be read") != std::string::npos);
    http::file_source a_folder;
    CHECK(a_folder.open(folder.path(), d) == boost::system::errc::is_a_directory);
    CHECK(d.message.find("is a folder") != std::string::npos);

    auto const path = folder.path() / "a.iar";
    std::ofstream(path, std::ios::binary) << std::string(100'000, 'z');
    http::file_source file;
    REQUIRE_FALSE(file.open(path, d));
    CHECK(file.size() == 100'000);
    CHECK(drain(file, 4096).first == std::string(100'000, 'z'));
    REQUIRE(file.rewind());
    std::filesystem::resize_file(path, 10); // shrinks while it is sent
    auto const [bytes, ec] = drain(file, 4096);
    CHECK(ec);
    CHECK(bytes.size() == 10);
    CHECK(file.describe(ec) == path.string() + " changed while it was being sent");

    // Progress: counted, reported, started again by a rewind.
    http::string_source text(std::string(1000, 'q'));
    std::vector<http::transfer_progress> reports;
    http::progress_source counted(
        text, [&](http::transfer_progress p) { reports.push_back(p); }, std::chrono::seconds(0));
    (void)drain(counted, 100);
    REQUIRE(reports.size() == 10);
    CHECK(reports.back().done == 1000);
    CHECK(reports.back().total == 1000);
    REQUIRE(counted.rewind());
    (void)drain(counted, 1000);
    CHECK(reports.back().done == 1000);
}
