#pragma once
/**
 * @file
 * Parsers for the Developer API's list answers and items (connections, integrations,
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
#include <oic/http/body_sink.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace oic {
namespace detail {

/**
 * Reads a page of `Item` (or one `Item`) from a body as its bytes arrive: a `body_sink` that feeds
 * each piece straight to the parser, from the connection's read buffer, so that no body is
 * assembled. Keeps the body text for `answer_item::json()` only when asked (`keep_json`).
 *
 * A body it refuses is still read to its end (and dropped): the call then ends with its answer
 * whole, and `finish` says what was wrong with it.
 */
template <class Item>
class page_reader final : public http::body_sink {
public:
    /// Reads a page into `*out_page`, or (with `out_page` null) one item into `*out_item`;
    /// `expected_items` (the page's limit, 0 if none) sizes the items' first allocation.
    page_reader(page<Item>* out_page, Item* out_item, bool keep_json, std::size_t expected_items = 0)
        : parser_(boost::json::parse_options{}, out_page, out_item), page_(out_page), item_(out_item),
          keep_json_(keep_json) {
        if (expected_items > 0)
            parser_.handler().expect_items(expected_items);
        start(std::nullopt); // a body may never start (an empty one): it is then not JSON
    }

    error_code start(std::optional<std::uint64_t> content_length) override {
        std::size_t const size = content_length ? static_cast<std::size_t>(*content_length) : 0;
        parser_.reset();
        parser_.handler().restart(size);
        if (page_) { // what a page said before a new body (or a failure) holds no more; its URL does
            page_->items.clear();
            page_->has_more = false;
            page_->total_results = page_->limit = page_->offset = std::nullopt;
        } else {
            *item_ = Item{};
        }
        failure_ = {};
        body_.clear();
        if (keep_json_)
            body_.reserve(size);
        return {};
    }

    error_code write(boost::asio::const_buffer bytes) override {
        std::string_view piece(static_cast<char const*>(bytes.data()), bytes.size());
        if (keep_json_)
            body_.append(piece);
        if (failure_)
            return {}; // refused already: the rest is read and dropped
        if (!parser_.done()) {
            error_code ec;
            piece.remove_prefix(parser_.write_some(true, piece.data(), piece.size(), ec));
            parser_.handler().hold_field(); // the piece's bytes go when this returns
            if (ec)
                failure_ = ec;
        }
        // What the parser left: only white space may follow the document.
        if (!failure_ && piece.find_first_not_of(" \t\r\n") != std::string_view::npos)
            failure_ = error::api_not_json;
        return {};
    }

    /// The body is whole: the parse's verdict. A syntax error is `api_not_json`, a handler's refusal
    /// its own code; `what` then names the field or says the body is not JSON, and the page or item
    /// is emptied.
    error_code finish(std::string& what) {
        if (!failure_ && !parser_.done()) {
            error_code ec;
            parser_.write_some(false, nullptr, 0, ec);
            if (ec || !parser_.done())
                failure_ = ec ? ec : error_code(error::api_not_json);
        }
        if (failure_) {
            bool const refused = failure_.category() == error_category() && failure_ != error::api_not_json;
            error_code const ec = refused ? failure_ : error_code(error::api_not_json);
            what = refused ? parser_.handler().what()
                   : page_ ? std::string(api_item_traits<Item>::answer) + " is not JSON"
                           : std::string(api_item_traits<Item>::item) + " answer is not JSON";
            start(std::nullopt); // no half page
            return ec;
        }
        if (keep_json_) {
            auto const text = std::make_shared<json_text const>(std::move(body_));
            if (page_)
                for (std::size_t i = 0; i < page_->items.size(); ++i)
                    page_->items[i].attach(text, i);
            else
                item_->attach(text, answer_item::whole_text);
        }
        return {};
    }

private:
    boost::json::basic_parser<page_handler<Item>> parser_;
    page<Item>* page_;
    Item* item_;
    bool keep_json_;
    std::string body_; // with keep_json
    error_code failure_;
};

/// Reads a page of `Item` from the whole of `body` (kept, shared by the items for
/// `answer_item::json()`). On failure `what` names the field (or says the body is not JSON) and
/// `out` is empty.
template <class Item>
error_code read_page(std::string_view body, page<Item>& out, std::string& what) {
    page_reader<Item> reader(&out, nullptr, true);
    reader.start(body.size());
    reader.write(boost::asio::buffer(body));
    return reader.finish(what);
}

/// Reads one `Item` (`GET .../{id}`) from `body`; as `read_page`.
template <class Item>
error_code read_item(std::string_view body, Item& out, std::string& what) {
    page_reader<Item> reader(nullptr, &out, true);
    reader.start(body.size());
    reader.write(boost::asio::buffer(body));
    return reader.finish(what);
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
page<Item> parse_page(std::string_view body) {
    page<Item> out;
    std::string what;
    if (auto ec = detail::read_page(body, out, what))
        fail(ec, std::move(what));
    return out;
}

/// Parses one item, e.g. `parse_item<integration>(body)`; as `parse_page`.
template <class Item>
Item parse_item(std::string_view body) {
    Item out;
    std::string what;
    if (auto ec = detail::read_item(body, out, what))
        fail(ec, std::move(what));
    return out;
}

} // namespace oic
