#pragma once
/**
 * @file Parsers for `GET /ic/api/integration/v1/connections[/{id}]`. No I/O here: they read an
 * answer body straight into the models (no DOM) and name the field of any error.
 */

#include <oic/api/connection.hpp>
#include <oic/api/detail/connections_parser.hpp>
#include <oic/api/detail/json_text.hpp>
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

/// Reads a connections page from `body` (kept, shared by the items for `connection::json()`).
/// On failure `what` names the field (or says the body is not JSON) and `page` is unspecified.
inline error_code read_connections_page(std::string body, connections_page& page, std::string& what) {
    page.items.clear();
    boost::json::basic_parser<connections_handler> p(boost::json::parse_options{}, &page, nullptr);
    if (auto ec = parse_all(p, body)) {
        what = ec == error::api_not_json ? "connections answer is not JSON" : p.handler().what();
        return ec;
    }
    auto const text = std::make_shared<json_text const>(std::move(body));
    for (std::size_t i = 0; i < page.items.size(); ++i)
        page.items[i].attach(text, i);
    return {};
}

/// Reads one connection (`GET .../connections/{id}`) from `body`; as `read_connections_page`.
inline error_code read_connection(std::string body, connection& c, std::string& what) {
    c = connection{};
    boost::json::basic_parser<connections_handler> p(boost::json::parse_options{}, nullptr, &c);
    if (auto ec = parse_all(p, body)) {
        what = ec == error::api_not_json ? "connection answer is not JSON" : p.handler().what();
        return ec;
    }
    c.attach(std::make_shared<json_text const>(std::move(body)), connection::whole_text);
    return {};
}

} // namespace detail

/// Parses a connections page answer.
/// @throws error_with_diagnostics `api_not_json`, or `api_bad_field_type` naming the field.
inline connections_page parse_connections_page(std::string body) {
    connections_page page;
    std::string what;
    if (auto ec = detail::read_connections_page(std::move(body), page, what))
        fail(ec, std::move(what));
    return page;
}

/// Parses one connection; as `parse_connections_page`.
inline connection parse_connection(std::string body) {
    connection c;
    std::string what;
    if (auto ec = detail::read_connection(std::move(body), c, what))
        fail(ec, std::move(what));
    return c;
}

} // namespace oic
