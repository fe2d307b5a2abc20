// libFuzzer target: the connections page parser (`read_page`) and the one-item parser on any bytes.
// Besides not crashing: a page it accepts hands out, for every item, a `json()` slice that is one
// whole JSON object of the body; a body it refuses names why.

#include <oic/api/parse.hpp>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string const body(reinterpret_cast<char const*>(data), size);
    oic::connections_page page;
    std::string what;
    if (auto ec = oic::detail::read_page(body, page, what)) {
        if (what.empty())
            std::abort(); // a refusal always says why
    } else {
        for (auto const& item : page.items) {
            auto const text = item.json();
            if (text.empty() || text.front() != '{' || text.back() != '}')
                std::abort();
            boost::system::error_code jec;
            auto const v = boost::json::parse(text, jec);
            if (jec || !v.is_object())
                std::abort();
        }
    }
    oic::integration one;
    std::string why;
    if (oic::detail::read_item(body, one, why) && why.empty())
        std::abort();
    return 0;
}
