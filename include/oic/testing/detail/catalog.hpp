#pragma once
/**
 * @file The query language of the mock's list endpoints (`GET /connections`, `GET /integrations`)
 * and the catalog that answers it: the `q` filter parser, the list-request parser and paging.
 * Plain functions without I/O, tested on their own. Each endpoint describes its fields in a
 * `list_schema`; records expose them through `field(name)`.
 */

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/url/params_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace oic::testing::detail {

namespace json = boost::json;
namespace urls = boost::urls;

/// A rejected query parameter; `message` goes into the 400 answer.
struct query_error {
    std::string message;
};

/// A field `q` may filter on, and the values an exact match may name (empty: any).
struct query_field {
    std::string_view name;
    std::vector<std::string_view> values;
};

/// What one list endpoint accepts.
struct list_schema {
    std::vector<query_field> fields;      ///< for `q`
    std::vector<std::string_view> orders; ///< for `orderBy`: among `name`, `time` (newest first), `type`
};

/// `a, b or c`
inline std::string one_of(std::vector<std::string_view> const& words) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i > 0)
            out += i + 1 == words.size() ? " or " : ", ";
        out += words[i];
    }
    return out;
}

/// The parsed `q` parameter: every condition must hold.
struct record_filter {
    struct condition {
        std::string field;
        std::string value;
        bool contains = false; ///< `/value/` (substring, case-sensitive) rather than `'value'` (exact).
    };
    std::vector<condition> conditions;

    template <class Record>
    bool matches(Record const& r) const {
        return std::all_of(conditions.begin(), conditions.end(), [&](condition const& cond) {
            std::string const& actual = r.field(cond.field);
            return cond.contains ? actual.find(cond.value) != std::string::npos : actual == cond.value;
        });
    }
};

/**
 * Parses OIC's `q` syntax: `{name:'Exact Name'}`, `{name: /part/}`, `{status:'CONFIGURED'}` and
 * comma-separated combinations such as `{name : /RN/, status : 'CONFIGURED'}`. Whitespace is free
 * between tokens; `\` escapes the next character inside a value. An empty `q` filters nothing.
 */
class query_parser {
public:
    query_parser(std::string_view text, list_schema const& schema) : text_(text), schema_(schema) {}

    std::variant<record_filter, query_error> parse() {
        record_filter filter;
        skip_space();
        if (at_end())
            return filter;
        if (!consume('{'))
            return error("expected '{'");
        skip_space();
        if (!consume('}')) {
            for (;;) {
                auto cond = parse_condition();
                if (auto* e = std::get_if<query_error>(&cond))
                    return std::move(*e);
                auto& c = std::get<record_filter::condition>(cond);
                for (auto const& existing : filter.conditions)
                    if (existing.field == c.field)
                        return error("field '" + c.field + "' appears twice");
                filter.conditions.push_back(std::move(c));
                skip_space();
                if (consume(','))
                    continue;
                if (consume('}'))
                    break;
                return error("expected ',' or '}'");
            }
        }
        skip_space();
        if (!at_end())
            return error("unexpected text after '}'");
        return filter;
    }

private:
    std::variant<record_filter::condition, query_error> parse_condition() {
        skip_space();
        std::size_t const start = pos_;
        while (!at_end() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
            ++pos_;
        record_filter::condition cond;
        cond.field = std::string(text_.substr(start, pos_ - start));
        if (cond.field.empty())
            return error("expected a field name");
        auto const field = std::find_if(schema_.fields.begin(), schema_.fields.end(),
                                        [&](query_field const& f) { return f.name == cond.field; });
        if (field == schema_.fields.end()) {
            std::vector<std::string_view> names;
            for (auto const& f : schema_.fields)
                names.push_back(f.name);
            return error("unsupported field '" + cond.field + "' (supported: " + one_of(names) + ")");
        }
        skip_space();
        if (!consume(':'))
            return error("expected ':' after '" + cond.field + "'");
        skip_space();
        if (at_end() || (text_[pos_] != '\'' && text_[pos_] != '"' && text_[pos_] != '/'))
            return error("expected a 'quoted' or /delimited/ value");
        cond.contains = text_[pos_] == '/';
        auto value = delimited(text_[pos_]);
        if (!value)
            return error("unterminated value");
        cond.value = std::move(*value);
        if (!cond.contains && !field->values.empty() &&
            std::find(field->values.begin(), field->values.end(), cond.value) == field->values.end())
            return error(cond.field + " must be " + one_of(field->values));
        return cond;
    }

    /// Reads a value between two `delimiter`s, the first being at the current position.
    std::optional<std::string> delimited(char delimiter) {
        ++pos_;
        std::string value;
        while (!at_end()) {
            char c = text_[pos_++];
            if (c == delimiter)
                return value;
            if (c == '\\') {
                if (at_end())
                    break;
                c = text_[pos_++];
            }
            value.push_back(c);
        }
        return std::nullopt;
    }

    bool at_end() const { return pos_ >= text_.size(); }

    void skip_space() {
        while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_])))
            ++pos_;
    }

    bool consume(char c) {
        if (at_end() || text_[pos_] != c)
            return false;
        ++pos_;
        return true;
    }

    query_error error(std::string const& what) const {
        return query_error{"q: " + what + " at offset " + std::to_string(pos_) + " of \"" + std::string(text_) + "\""};
    }

    std::string_view text_;
    list_schema const& schema_;
    std::size_t pos_ = 0;
};

/// A parsed list request.
struct list_request {
    record_filter filter;
    std::string order;       ///< empty: catalog order
    std::size_t limit = 100; ///< Clamped to 1..1000.
    std::size_t offset = 0;
};

/// Parses a whole string as a decimal integer (no sign `+`, no spaces).
inline std::optional<long long> parse_integer(std::string_view text) {
    long long value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

/// The value of the first query parameter `key` ("" when it has no value), or nothing.
inline std::optional<std::string> query_value(urls::params_view const& params, std::string_view key) {
    auto const it = params.find(key);
    if (it == params.end())
        return std::nullopt;
    return std::string((*it).value);
}

/// Reads `q`, `limit`, `offset` and `orderBy`. Other parameters (`expand`, ...) are accepted and ignored.
inline std::variant<list_request, query_error> parse_list_request(urls::params_view const& params,
                                                                  list_schema const& schema) {
    list_request request;
    if (auto const q = query_value(params, "q")) {
        auto filter = query_parser(*q, schema).parse();
        if (auto* e = std::get_if<query_error>(&filter))
            return std::move(*e);
        request.filter = std::move(std::get<record_filter>(filter));
    }
    if (auto const text = query_value(params, "limit")) {
        auto const limit = parse_integer(*text);
        if (!limit)
            return query_error{"limit must be an integer, not \"" + *text + "\""};
        request.limit = static_cast<std::size_t>(std::clamp(*limit, 1LL, 1000LL));
    }
    if (auto const text = query_value(params, "offset")) {
        auto const offset = parse_integer(*text);
        if (!offset || *offset < 0)
            return query_error{"offset must be a non-negative integer, not \"" + *text + "\""};
        request.offset = static_cast<std::size_t>(*offset);
    }
    if (auto const order = query_value(params, "orderBy")) {
        if (std::find(schema.orders.begin(), schema.orders.end(), *order) == schema.orders.end())
            return query_error{"orderBy must be " + one_of(schema.orders) + ", not \"" + *order + "\""};
        request.order = *order;
    }
    return request;
}

/**
 * The data set one mock endpoint serves (fixed, but for what write calls add or change). `Record` has `id`, `json`
 * (what the API returns) and `field(name)` for `name`, `time` (sortable text, newest last), `type` and the schema's `q`
 * fields.
 */
template <class Record>
class catalog {
public:
    explicit catalog(std::vector<Record> records) : records_(std::move(records)) {}

    std::vector<Record> const& records() const { return records_; }

    Record const* find(std::string_view id) const {
        for (auto const& r : records_)
            if (r.id == id)
                return &r;
        return nullptr;
    }
    Record* find_mutable(std::string_view id) { return const_cast<Record*>(std::as_const(*this).find(id)); }

    /// Adds `r` after the others (its id must be new): lists, counts and lookups include it from now
    /// on. Pointers from `find` and `find_mutable` are invalid afterwards.
    void add(Record r) { records_.push_back(std::move(r)); }

    /// The list envelope for `request`.
    json::object list(list_request const& request) const {
        std::vector<Record const*> selected;
        for (auto const& r : records_)
            if (request.filter.matches(r))
                selected.push_back(&r);
        auto by = [&selected](auto less) { std::stable_sort(selected.begin(), selected.end(), less); };
        if (request.order == "name")
            by([](Record const* a, Record const* b) { return a->field("name") < b->field("name"); });
        else if (request.order == "time") // newest first
            by([](Record const* a, Record const* b) { return a->field("time") > b->field("time"); });
        else if (request.order == "type")
            by([](Record const* a, Record const* b) {
                return std::tie(a->field("type"), a->field("name")) < std::tie(b->field("type"), b->field("name"));
            });

        std::size_t const begin = std::min(request.offset, selected.size());
        std::size_t const end = begin + std::min(request.limit, selected.size() - begin);
        json::array items;
        for (std::size_t i = begin; i < end; ++i)
            items.push_back(selected[i]->json);
        return {
            {"items", std::move(items)}, {"hasMore", end < selected.size()}, {"totalResults", selected.size()},
            {"limit", request.limit},    {"offset", request.offset},         {"count", end - begin},
        };
    }

private:
    std::vector<Record> records_;
};

} // namespace oic::testing::detail
