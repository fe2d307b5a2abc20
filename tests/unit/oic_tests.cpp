// The top-level headers, sans-io: error conditions (oic/error.hpp), secrets that never print
// (oic/secret.hpp), text escaped for terminals and logs (oic/text.hpp).

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

TEST_CASE("secret never prints", "[unit][secret]") {
    secret const s("hunter2-very-secret");
    std::ostringstream os;
    os << s;
    CHECK(os.str() == "<redacted>");
    CHECK(s.reveal() == "hunter2-very-secret");
    CHECK(s == secret("hunter2-very-secret"));
    CHECK_FALSE(s == secret("hunter2-very-secreT"));
}

TEST_CASE("printable escapes what a terminal or a log would obey", "[unit][text]") {
    CHECK(printable("plain text, Zürich") == "plain text, Zürich");
    CHECK(printable("a\x1b[2Jb") == "a\\x1b[2Jb");
    CHECK(printable("line\r\nforged: entry") == "line\\x0d\\x0aforged: entry");
    CHECK(printable(std::string_view("nul\0x", 5)) == "nul\\x00x");
    CHECK(printable("del\x7f") == "del\\x7f");
    CHECK(printable("csi\xc2\x9b"
                    "31m") == "csi\\xc2\\x9b31m");
    CHECK(printable("back\\x1b") == "back\\\\x1b");
}

TEST_CASE("error conditions group codes from every category", "[unit][error]") {
    namespace aerr = boost::asio::error;
    struct row {
        error_code code;
        std::vector<condition> holds;
    };
    row const rows[] = {
        {error::bad_url, {condition::configuration}},
        {error::insecure_transport, {condition::configuration}},
        {error::token_rejected, {condition::token_endpoint}},
        {error::token_unsupported_type, {condition::token_endpoint}},
        {error::api_http_status, {condition::api}},
        {error::redirect_refused, {condition::api}},
        {error::api_too_many_pages, {condition::api}},
        {error::timeout, {condition::timeout, condition::network}},
        {error::response_too_large, {condition::network}},
        {aerr::timed_out, {condition::timeout, condition::network}},
        {aerr::connection_refused, {condition::network}},
        {boost::asio::ssl::error::stream_truncated, {condition::network}},
        {aerr::operation_aborted, {condition::cancelled}},
    };
    condition const all[] = {condition::configuration, condition::token_endpoint, condition::api,
                             condition::network,       condition::cancelled,      condition::timeout};
    for (auto const& r : rows) {
        INFO(r.code.message());
        for (auto c : all)
            CHECK((r.code == c) == (std::find(r.holds.begin(), r.holds.end(), c) != r.holds.end()));
    }
    CHECK(error_code(error::timeout).category() == error_category());
    CHECK(std::string(make_error_condition(condition::cancelled).category().name()) == "oic.condition");
}
