// libFuzzer target: the `Retry-After` parser. The first 8 bytes pick "now" (any instant a
// system_clock holds), the rest is the header's value. Besides not crashing (UBSan: no overflow in
// the date arithmetic, even for years past 2262): a wait is never negative, and a date is never a
// longer wait than the same value read at an earlier "now".

#include <oic/http/detail/retry.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    using namespace std::chrono;
    if (size < 8)
        return 0;
    std::int64_t raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    // Up to ~290 years either side of 1970: every instant system_clock's nanoseconds can hold.
    system_clock::time_point const now{system_clock::duration(raw)};
    std::string_view const value(reinterpret_cast<char const*>(data) + 8, size - 8);
    auto const wait = oic::http::detail::parse_retry_after(value, now);
    if (!wait)
        return 0;
    if (*wait < oic::http::clock::duration::zero())
        std::abort();
    if (now > system_clock::time_point::min() + hours(1)) {
        auto const earlier = oic::http::detail::parse_retry_after(value, now - hours(1));
        if (!earlier || *earlier < *wait)
            std::abort();
    }
    return 0;
}
