// libFuzzer target: the token endpoint's answer parser on any status and bytes. Besides not
// crashing: an accepted token is a b64token (it goes into a header) with a positive lifetime, and a
// refused answer never repeats the access token it may hold in its diagnostics. (Checked for tokens
// that look like tokens: 16 or more b64token characters. Shorter ones, or ones with spaces, can be
// words of the library's own messages, which the fuzzer finds and feeds back.)

#include <oic/auth/client_credentials.hpp>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 1)
        return 0;
    unsigned const status = data[0] < 128 ? 200 : 400 + data[0] % 200; // mostly 200, some errors
    std::string_view const body(reinterpret_cast<char const*>(data) + 1, size - 1);
    oic::access_token token;
    oic::diagnostics diag;
    if (!oic::detail::parse_token_response(status, body, std::chrono::seconds(3600), token, diag)) {
        auto const value = token.value.reveal();
        if (value.empty() || token.expires_in.count() <= 0)
            std::abort();
        for (char const c : value)
            if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                std::abort();
        return 0;
    }
    boost::system::error_code ec;
    auto const doc = boost::json::parse(body, ec);
    auto const* obj = !ec ? doc.if_object() : nullptr;
    auto const* t = obj ? obj->if_contains("access_token") : nullptr;
    auto const b64token = [](std::string_view v) {
        return v.size() >= 16 && v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                     "0123456789-._~+/=") == std::string_view::npos;
    };
    if (t && t->is_string() && b64token(std::string_view(t->as_string().data(), t->as_string().size()))) {
        std::string_view const secret(t->as_string().data(), t->as_string().size());
        for (auto const* text : {&diag.message, &diag.server_code, &diag.server_message})
            if (text->find(secret) != std::string::npos)
                std::abort(); // the token leaked into an error
    }
    return 0;
}
