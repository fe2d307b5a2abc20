#pragma once
/**
 * @file Parsers for the Developer API's list answers and items (connections, integrations,
 * errored instances, instances) and the resubmit answers. No
 * I/O here: they read an answer body straight into the models (no DOM) and name the field of any
 * error.
 */

#include <oic/api/connection.hpp>
#include <oic/api/detail/json_text.hpp>
#include <oic/api/detail/page_parser.hpp>
#include <oic/api/integration.hpp>
#include <oic/api/monitoring.hpp>
#include <oic/error.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

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

/// Reads a resubmit answer (`body` may be empty: Oracle documents 202 without one). Ids may be
/// strings or numbers (Oracle's own example sends `{"ids":[19,20,21]}`); numbers become their text.
inline error_code read_resubmit(std::string body, resubmit_result& out, std::string& what) {
    out.message.clear();
    out.recovery_job_id.clear();
    out.accepted.reset();
    out.accepted_ids.clear();
    out.invalid_ids.clear();
    out.non_recoverable_ids.clear();
    out.json = std::move(body);
    if (out.json.find_first_not_of(" \t\r\n") == std::string::npos)
        return {};
    error_code ec;
    auto const v = boost::json::parse(out.json, ec);
    if (ec) {
        what = "resubmit answer is not JSON";
        return error::api_not_json;
    }
    auto const* obj = v.if_object();
    if (!obj) {
        what = "resubmit answer is not an object";
        return error::api_bad_field_type;
    }
    // Oracle's pages name the fields with hyphens; camelCase is read too (not confirmed which is sent).
    auto field = [&](std::string_view hyphenated, std::string_view camel) -> boost::json::value const* {
        if (auto const* f = obj->if_contains(hyphenated); f && !f->is_null())
            return f;
        if (auto const* f = obj->if_contains(camel); f && !f->is_null())
            return f;
        return nullptr;
    };
    auto wrong = [&](std::string_view name, char const* expected) {
        what = "resubmit answer: " + std::string(name) + " is not " + expected;
        return error_code(error::api_bad_field_type);
    };
    for (auto [hyphenated, camel, target] : {std::tuple{"message", "message", &out.message},
                                             std::tuple{"recovery-job-id", "recoveryJobId", &out.recovery_job_id}}) {
        if (auto const* f = field(hyphenated, camel)) {
            if (f->is_string())
                *target = std::string(f->get_string());
            else if (f->is_int64() || f->is_uint64()) // a job id may well be a number
                *target = boost::json::serialize(*f);
            else
                return wrong(hyphenated, "a string");
        }
    }
    for (auto [hyphenated, camel] : {std::pair{"resubmit-successful", "resubmitSuccessful"},
                                     std::pair{"resubmit-requested", "resubmitRequested"}}) {
        if (auto const* f = field(hyphenated, camel)) {
            if (!f->is_bool())
                return wrong(hyphenated, "a boolean");
            out.accepted = f->get_bool();
        }
    }
    for (auto [hyphenated, camel, target] :
         {std::tuple{"accepted-ids", "acceptedIds", &out.accepted_ids},
          std::tuple{"invalid-ids", "invalidIds", &out.invalid_ids},
          std::tuple{"non-recoverable-ids", "nonRecoverableIds", &out.non_recoverable_ids}}) {
        auto const* f = field(hyphenated, camel);
        if (!f)
            continue;
        if (!f->is_array())
            return wrong(hyphenated, "an array");
        for (auto const& id : f->get_array()) {
            if (id.is_string())
                target->emplace_back(id.get_string());
            else if (id.is_int64() || id.is_uint64())
                target->push_back(boost::json::serialize(id));
            else
                return wrong(std::string(hyphenated) + "[" + std::to_string(target->size()) + "]",
                             "a string or an integer");
        }
    }
    return {};
}

} // namespace detail

/// Parses a resubmit answer of HTTP status `status` (see `resubmit_result`).
/// @throws error_with_diagnostics `api_not_json`, or `api_bad_field_type` naming the field.
inline resubmit_result parse_resubmit_result(unsigned status, std::string body) {
    resubmit_result out;
    std::string what;
    if (auto ec = detail::read_resubmit(std::move(body), out, what))
        fail(ec, std::move(what));
    out.http_status = status;
    return out;
}

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
