// libFuzzer target: the connections page parser and the one-item parser on any bytes, whole and
// as they arrive. Besides not crashing:
// - a page it accepts hands out, for every item, a `json()` slice that is one whole JSON object;
// - a body it refuses names why;
// - the same body fed in pieces (sizes drawn from the input's first bytes), its length known or
//   not, its text kept or not, gives the same verdict and the same items as the whole.

#include "model_fields.hpp"
#include <oic/api/parse.hpp>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using oic_test::fields_of;

void check(bool ok) {
    if (!ok)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 4)
        return 0;
    std::uint32_t seed = data[0] | data[1] << 8 | data[2] << 16 | std::uint32_t(data[3]) << 24;
    std::string const body(reinterpret_cast<char const*>(data) + 4, size - 4);

    oic::connections_page whole;
    std::string what;
    auto const verdict = oic::detail::read_page(body, whole, what);
    if (verdict) {
        check(!what.empty()); // a refusal always says why
        check(whole.items.empty());
    } else {
        for (auto const& item : whole.items) {
            auto const text = item.json();
            check(!text.empty() && text.front() == '{' && text.back() == '}');
            boost::system::error_code jec;
            auto const v = boost::json::parse(text, jec);
            check(!jec && v.is_object());
        }
    }

    // The same bytes as a connection would hand them over.
    bool const keep = seed & 1;
    oic::connections_page pieces;
    oic::detail::page_reader<oic::connection> reader(&pieces, nullptr, keep);
    check(!reader.start(seed & 2 ? std::optional<std::uint64_t>(body.size()) : std::nullopt));
    for (std::size_t at = 0; at < body.size();) {
        seed = seed * 1103515245u + 12345u;
        std::size_t const n = std::min<std::size_t>(1 + (seed >> 16) % 64, body.size() - at);
        check(!reader.write(boost::asio::buffer(body.data() + at, n)));
        at += n;
    }
    std::string why;
    auto const streamed = reader.finish(why);
    check(streamed == verdict);
    check(why == what);
    check(pieces.items.size() == whole.items.size());
    check(pieces.has_more == whole.has_more && pieces.total_results == whole.total_results);
    for (std::size_t i = 0; i < whole.items.size(); ++i) {
        check(fields_of(pieces.items[i]) == fields_of(whole.items[i]));
        check(pieces.items[i].json() == (keep ? whole.items[i].json() : std::string_view()));
    }

    oic::integration one;
    std::string refused;
    if (oic::detail::read_item(body, one, refused) && refused.empty())
        std::abort();
    return 0;
}
