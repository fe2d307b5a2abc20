#pragma once
/// @file
/// What every list answer of the Developer API shares: the item text, the page and the query.

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
 * What every item read from an answer can keep: its JSON text as the server sent it, every field,
 * modelled or not. A list call keeps it when asked (`list_query::keep_json`: the page's body then
 * stays in memory, shared by its items, each item's slice located on first use); a call for one
 * item and `parse_page` always keep it.
 */
class answer_item {
public:
    /// The item's JSON text. Empty for an item not read from an answer, or read by a list call that
    /// did not keep it (`list_query::keep_json`).
    std::string_view json() const {
        if (!text_)
            return {};
        return index_ == whole_text ? text_->whole() : text_->item(index_);
    }

    /// `json()` parsed: for the fields the model does not have. Empty when `json()` is.
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
    /// The `attach` index of an item that is the whole answer (a call for one item), not one of its `items`.
    static constexpr std::size_t whole_text = std::size_t(-1);

private:
    std::shared_ptr<detail::json_text const> text_;
    std::size_t index_ = whole_text;
};

/// One page of a list answer (`items`, `hasMore`, `totalResults`, `limit`, `offset`).
template <class Item>
struct page {
    std::string url;                           ///< the URL that answered, after redirects (without query)
    std::vector<Item> items;                   ///< `items`, in the answer's order
    bool has_more = false;                     ///< `hasMore`: more items follow this page (at a larger `offset`)
    std::optional<std::int64_t> total_results; ///< `totalResults`: matching items, all pages; unset if not sent
    std::optional<std::int64_t> limit;         ///< `limit` as the answer states it; unset if not sent
    std::optional<std::int64_t> offset;        ///< `offset` as the answer states it; unset if not sent
};

/// Query parameters of a list call (empty or unset ones are not sent), and whether to keep the items' JSON.
struct list_query {
    // Not an aggregate on purpose: GCC 12 miscompiles aggregate temporaries with string members
    // inside a co_await expression (`co_await get_connections(c, {})` would free a bad pointer).
    list_query() = default;

    std::string q;             ///< e.g. `{name: /Oracle/, status: 'CONFIGURED'}`
    std::optional<int> limit;  ///< `limit`: items per page; unset: the server's default
    std::optional<int> offset; ///< `offset`: items to skip before this page; unset: not sent (the first page)
    std::string order_by;      ///< connections: `name`, `time` or `type`; integrations: `name` or `time`
    std::string expand;        ///< connections: `adapter`
    /// Not a query parameter: keep each item's JSON text for `answer_item::json()` and `raw()`.
    /// Off, a page holds no body at all (it is parsed as it arrives and dropped).
    bool keep_json = false;
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
