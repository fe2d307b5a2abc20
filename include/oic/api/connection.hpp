#pragma once
/// @file The models of `GET /ic/api/integration/v1/connections[/{id}]` and the list's query.

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

/// The adapter behind a connection (`adapterType`).
struct adapter_type {
    std::string name;         ///< e.g. `rest`
    std::string display_name; ///< e.g. `REST`
    std::string type;         ///< e.g. `PREINSTALLED`
};

/// One entry of `connectionProperties`.
struct connection_property {
    std::string name;
    std::string value;
    std::string display_name;
};

/**
 * An OIC connection. Absent and null fields stay empty. Fields the model lacks are in `json()`:
 * the item's text as the server sent it, a slice of the page's body shared by its items (located
 * on first use), and `raw()` parses it.
 */
struct connection {
    std::string id;
    std::string name;
    std::string status;          ///< `CONFIGURED`, `INPROGRESS`, ...
    std::string role;            ///< `SOURCE`, `TARGET`, `SOURCE_AND_TARGET`
    adapter_type adapter;        ///< `adapterType`
    std::string security_policy; ///< `securityPolicy`
    std::optional<std::int64_t> usage;
    std::optional<std::int64_t> usage_active;
    bool locked = false;                              ///< `lockedFlag`
    std::optional<std::int64_t> percentage_complete; ///< `percentageComplete`
    std::string created;
    std::string created_by;
    std::string last_updated;
    std::string last_updated_by;
    std::vector<connection_property> properties; ///< `connectionProperties`

    /// This connection's JSON text as the server sent it: every field, modelled or not. Empty for
    /// a connection not read from an answer.
    std::string_view json() const {
        if (!text_)
            return {};
        return index_ == whole_text ? text_->whole() : text_->item(index_);
    }

    /// `json()` parsed: for the fields the model does not have. Empty for a connection not read
    /// from an answer.
    boost::json::object raw() const {
        auto const text = json();
        if (text.empty())
            return {};
        return boost::json::parse(text).as_object(); // the typed parser accepted this text
    }

    /// Keeps `text` (the answer) and where in it this connection is: `items[index]` or `whole_text`.
    void attach(std::shared_ptr<detail::json_text const> text, std::size_t index) noexcept {
        text_ = std::move(text);
        index_ = index;
    }
    static constexpr std::size_t whole_text = std::size_t(-1);

private:
    std::shared_ptr<detail::json_text const> text_;
    std::size_t index_ = whole_text;
};

/// One page of connections.
struct connections_page {
    std::string url; ///< the URL that answered, after redirects (without query)
    std::vector<connection> items;
    bool has_more = false;
    std::optional<std::int64_t> total_results;
    std::optional<std::int64_t> limit;
    std::optional<std::int64_t> offset;
};

/// Query parameters of the connections list. Empty or unset ones are not sent.
struct connections_query {
    // Not an aggregate on purpose: GCC 12 miscompiles aggregate temporaries with string members
    // inside a co_await expression (`co_await get_connections(c, {})` would free a bad pointer).
    connections_query() = default;

    std::string q;        ///< e.g. `{name: /Oracle/, status: 'CONFIGURED'}`
    std::optional<int> limit;
    std::optional<int> offset;
    std::string order_by; ///< `name`, `time` or `type`
    std::string expand;   ///< `adapter`
};

/// The query string of a connections request (without `integrationInstance`).
inline std::string to_query_string(connections_query const& q) {
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
