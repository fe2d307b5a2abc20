// oic/redis/detail/sealed_token.hpp: the Redis store's sealed tokens (no Redis needed).

#include "common.hpp"
#include <oic/redis/detail/sealed_token.hpp>

#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace oic;
using oic_test::error_of;
namespace bhttp = boost::beast::http;

TEST_CASE("the Redis store's sealed tokens open only with the same secret, key and bytes", "[unit][fleet]") {
    using oic::redis::detail::sealer;
    using oic::redis::detail::stored_token;
    client_credentials creds;
    creds.token_url = "https://idcs.example/oauth2/v1/token";
    creds.client_id = "client-id-123";
    creds.scope = "urn:opc:resource:consumer::all";
    auto const key = oic::redis::detail::token_key("oic:token:", creds);
    CHECK(key.starts_with("oic:token:"));
    CHECK(key.size() == 10 + 64);
    CHECK(key.find("client-id-123") == std::string::npos);
    auto other = creds;
    other.scope = "another";
    CHECK(oic::redis::detail::token_key("oic:token:", other) != key);

    sealer const s(secret("the-client-secret"), key);
    REQUIRE(s.ok());
    stored_token const t{{secret("tok-VALUE-1"), "Bearer", std::chrono::seconds(3600), "scope-x"},
                         std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'000))};
    auto const value = s.seal(t);
    REQUIRE_FALSE(value.empty());
    CHECK(value.find("tok-VALUE-1") == std::string::npos); // sealed, not encoded
    CHECK(s.seal(t) != value);                             // a fresh nonce each time
    auto const opened = s.open(value);
    REQUIRE(opened);
    CHECK(opened->token.value.reveal() == "tok-VALUE-1");
    CHECK(opened->token.token_type == "Bearer");
    CHECK(opened->token.scope == "scope-x");
    CHECK(opened->token.expires_in == std::chrono::seconds(3600));
    CHECK(opened->expires_at == t.expires_at);

    CHECK_FALSE(sealer(secret("another-secret"), key).open(value));          // foreign
    CHECK_FALSE(sealer(secret("the-client-secret"), key + "x").open(value)); // copied from another key
    for (std::size_t i = 0; i < value.size(); ++i) {                         // any byte changed
        auto tampered = value;
        tampered[i] ^= 0x01;
        CHECK_FALSE(s.open(tampered));
    }
    CHECK_FALSE(s.open(value.substr(0, value.size() - 1)));
    CHECK_FALSE(s.open(""));
    CHECK_FALSE(s.open(R"({"access_token":"x"})"));
}
