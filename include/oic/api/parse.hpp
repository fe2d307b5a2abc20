#pragma once
/**
 * @file Parsers for the Developer API's list answers and items (connections, integrations). No
 * I/O here: they read an answer body straight into the models (no DOM) and name the field of any
 * error.
 */

#include <oic/api/connection.hpp>
#include <oic/api/detail/json_text.hpp>
#include <oic/api/detail/page_parser.hpp>
#include <oic/api/integration.hpp>
#include <oic/error.hpp>

#include <boost/json/basic_parser_impl.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace oic {
namespace detail {

/// Parses all of `body` with `p`: a syntax error is `api_not_json`, a handler's refusal its own code.
template <class Handler>
error_code parse_all(boost::json::basic_parser<Handler>& p, std::string_view body) {
    error_code ec;
    std::size_t const n = p.write_some(false, body.data(), body.size(), ec);
    if (ec && ec.category() == error_category())
        return ec;
    if (ec || n != body.size())
        return error::api_not_json;
    return {};
}

/// Reads a page of `Item` from `body` (kept, shared by the items for `answer_item::json()`).
/// On failure `what` names the field (or says the body is not JSON) and `out` is unspecified.
template <class Item>
error_code read_page(std::string body, page<Item>& out, std::string& what) {
    out.items.clear();
    boost::json::basic_parser<page_handler<Item>> p(boost::json::parse_options{}, &out, nullptr);
    if (auto ec = parse_all(p, body)) {
        what = ec == error::api_not_json ? std::string(api_item_traits<Item>::answer) + " is not JSON"
                                         : p.handler().what();
        return ec;
    }
    auto const text = std::make_shared<json_text const>(std::move(body));
    for (std::size_t i = 0; i < out.items.size(); ++i)
        out.items[i].attach(text, i);
    return {};
}

/// Reads one `Item` (`GET .../{id}`) from `body`; as `read_page`.
template <class Item>
error_code read_item(std::string body, Item& out, std::string& what) {
    out = Item{};
    boost::json::basic_parser<page_handler<Item>> p(boost::json::parse_options{}, nullptr, &out);
    if (auto ec = parse_all(p, body)) {
        what = ec == error::api_not_json ? std::string(api_item_traits<Item>::item) + " answer is not JSON"
                                         : p.handler().what();
        return ec;
    }
    out.attach(std::make_shared<json_text const>(std::move(body)), answer_item::whole_text);
    return {};
}

} // namespace detail

/// Parses a list answer, e.g. `parse_page<connection>(body)`.
/// @throws error_with_diagnostics `api_not_json`, or `api_bad_field_type` naming the field.
template <class Item>
page<Item> parse_page(std::string body) {
    page<Item> out;
    std::string what;
    if (auto ec = detail::read_page(std::move(body), out, what))
        fail(ec, std::move(what));
    return out;
}

/// Parses one item, e.g. `parse_item<integration>(body)`; as `parse_page`.
template <class Item>
Item parse_item(std::string body) {
    Item out;
    std::string what;
    if (auto ec = detail::read_item(std::move(body), out, what))
        fail(ec, std::move(what));
    return out;
}

} // namespace oic
