#pragma once
/**
 * @file Models and parsers for `GET /ic/api/integration/v1/connections`. No I/O here: parsers take
 * a JSON value and return a model or throw `error::api_bad_field_type` naming the field.
 */

#include <oic/error.hpp>
#include <oic/http/url.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
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

/// An OIC connection. Absent fields stay empty; `raw` keeps every field, modelled or not.
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
    boost::json::object raw;
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

namespace detail {

/// Reads typed fields of one JSON object; every error names the full field path.
class field_reader {
public:
    field_reader(boost::json::object const& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

    [[noreturn]] void wrong_type(std::string_view key, char const* expected) const {
        fail(error::api_bad_field_type, path_ + "." + std::string(key) + " is not " + expected);
    }
    std::string string(std::string_view key) const {
        auto const* v = obj_.if_contains(key);
        if (!v || v->is_null())
            return {};
        if (!v->is_string())
            wrong_type(key, "a string");
        return std::string(v->get_string());
    }
    std::optional<std::int64_t> integer(std::string_view key) const {
        auto const* v = obj_.if_contains(key);
        if (!v || v->is_null())
            return std::nullopt;
        if (v->is_int64())
            return v->get_int64();
        if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
            return static_cast<std::int64_t>(v->get_uint64());
        if (v->is_double() && v->get_double() == static_cast<double>(static_cast<std::int64_t>(v->get_double())))
            return static_cast<std::int64_t>(v->get_double());
        wrong_type(key, "an integer");
    }
    bool boolean(std::string_view key) const {
        auto const* v = obj_.if_contains(key);
        if (!v || v->is_null())
            return false;
        if (!v->is_bool())
            wrong_type(key, "a boolean");
        return v->get_bool();
    }
    boost::json::object const* object(std::string_view key) const {
        auto const* v = obj_.if_contains(key);
        if (!v || v->is_null())
            return nullptr;
        if (!v->is_object())
            wrong_type(key, "an object");
        return &v->get_object();
    }
    boost::json::array const* array(std::string_view key) const {
        auto const* v = obj_.if_contains(key);
        if (!v || v->is_null())
            return nullptr;
        if (!v->is_array())
            wrong_type(key, "an array");
        return &v->get_array();
    }
    std::string const& path() const noexcept { return path_; }

private:
    boost::json::object const& obj_;
    std::string path_;
};

} // namespace detail

/// Parses one connection object; `path` names it in errors (e.g. `items[3]`). Takes `v` by value:
/// the object moves into `raw` rather than being copied.
inline connection parse_connection(boost::json::value v, std::string path = "connection") {
    if (!v.is_object())
        fail(error::api_bad_field_type, path + " is not an object");
    detail::field_reader const f(v.get_object(), path);
    connection c;
    c.id = f.string("id");
    c.name = f.string("name");
    c.status = f.string("status");
    c.role = f.string("role");
    c.security_policy = f.string("securityPolicy");
    c.usage = f.integer("usage");
    c.usage_active = f.integer("usageActive");
    c.locked = f.boolean("lockedFlag");
    c.percentage_complete = f.integer("percentageComplete");
    c.created = f.string("created");
    c.created_by = f.string("createdBy");
    c.last_updated = f.string("lastUpdated");
    c.last_updated_by = f.string("lastUpdatedBy");
    if (auto const* a = f.object("adapterType")) {
        detail::field_reader const af(*a, path + ".adapterType");
        c.adapter = {af.string("name"), af.string("displayName"), af.string("type")};
    }
    if (auto const* props = f.array("connectionProperties")) {
        for (std::size_t i = 0; i < props->size(); ++i) {
            auto const p = path + ".connectionProperties[" + std::to_string(i) + "]";
            if (!(*props)[i].is_object())
                fail(error::api_bad_field_type, p + " is not an object");
            detail::field_reader const pf((*props)[i].get_object(), p);
            c.properties.push_back({pf.string("propertyName"), pf.string("propertyValue"), pf.string("displayName")});
        }
    }
    c.raw = std::move(v.get_object());
    return c;
}

/// Parses the list envelope: `items`, `hasMore`, `totalResults`, `limit`, `offset`.
inline connections_page parse_connections_page(boost::json::value v) {
    if (!v.is_object())
        fail(error::api_bad_field_type, "connections answer is not an object");
    detail::field_reader const f(v.get_object(), "connections answer");
    connections_page page;
    page.has_more = f.boolean("hasMore");
    page.total_results = f.integer("totalResults");
    page.limit = f.integer("limit");
    page.offset = f.integer("offset");
    if (f.array("items")) {
        auto& items = v.get_object()["items"].get_array();
        page.items.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i)
            page.items.push_back(parse_connection(std::move(items[i]), "items[" + std::to_string(i) + "]"));
    }
    return page;
}

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
