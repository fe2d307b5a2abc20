#pragma once
/// @file What every list answer of the Developer API shares: the item text, the page and the query.

#include <oic/api/detail/json_text.hpp>
#include <oic/http/url.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oic {

/**
 * What every item read from an answer keeps: its JSON text as the server sent it, every field,
 * modelled or not. The text is a slice of the answer's body, shared by the items of a page and
 * located on first use, so a caller who never asks pays nothing.
 */
class answer_item {
public:
    /// The item's JSON text. Empty for an item not read from an answer.
    std::string_view json() const {
        if (!text_)
            return {};
        return index_ == whole_text ? text_->whole() : text_->item(index_);
    }

    /// `json()` parsed: for the fields the model does not have. Empty for an item not read from an answer.
    boost::json::object raw() const {
        auto const text = json();
        if (text.empty())
            return {};
        return boost::json::parse(text).as_object(); // the typed parser accepted this text
    }

    /// Keeps `text` (the answer) and where in it this item is: `items[index]`, or `whole_text`.
    void attach(std::shared_ptr<detail::json_text const> text, std::size_t index) noexcept {
        text_ = std::move(text);
        index_ = index;
    }
    static constexpr std::size_t whole_text = std::size_t(-1);

private:
    std::shared_ptr<detail::json_text const> text_;
    std::size_t index_ = whole_text;
};

/// One page of a list answer (`items`, `hasMore`, `totalResults`, `limit`, `offset`).
template <class Item>
struct page {
    std::string url; ///< the URL that answered, after redirects (without query)
    std::vector<Item> items;
    bool has_more = false;
    std::optional<std::int64_t> total_results;
    std::optional<std::int64_t> limit;
    std::optional<std::int64_t> offset;
};

/// Query parameters of a list call. Empty or unset ones are not sent.
struct list_query {
    // Not an aggregate on purpose: GCC 12 miscompiles aggregate temporaries with string members
    // inside a co_await expression (`co_await get_connections(c, {})` would free a bad pointer).
    list_query() = default;

    std::string q; ///< e.g. `{name: /Oracle/, status: 'CONFIGURED'}`
    std::optional<int> limit;
    std::optional<int> offset;
    std::string order_by; ///< connections: `name`, `time` or `type`; integrations: `name` or `time`
    std::string expand;   ///< connections: `adapter`
};

/// The query string of a list request (without `integrationInstance`).
inline std::string to_query_string(list_query const& q) {
    std::string s;
    if (!q.q.empty())
        http::append_param(s, "q", q.q);
    if (q.limit)
        http::append_param(s, "limit", std::to_string(*q.limit));
    if (q.offset)
        http::append_param(s, "offset", std::to_string(*q.offset));
    if (!q.order_by.empty())
        http::append_param(s, "orderBy", q.order_by);
    if (!q.expand.empty())
        http::append_param(s, "expand", q.expand);
    return s;
}

} // namespace oic
