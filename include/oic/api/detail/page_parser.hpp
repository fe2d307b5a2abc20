#pragma once
/**
 * @file A Boost.JSON `basic_parser` handler that reads a list answer (or one item) straight into
 * the typed models as its bytes arrive: no DOM, no body kept, each decoded string written once into
 * a block shared by the page's items (`text_arena`). Every type error names the field path
 * (`items[3].adapterType.name`); unknown fields are skipped.
 */

#include <oic/api/connection.hpp>
#include <oic/api/integration.hpp>
#include <oic/api/monitoring.hpp>
#include <oic/error.hpp>

#include <boost/config.hpp>
#include <boost/container/static_vector.hpp>
#include <boost/json/basic_parser.hpp>
#include <boost/json/error.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace oic::detail {

/// The elements of a page's nested arrays (a connection's properties), as `text_arena` holds its
/// strings: each array contiguous in a block that the `shared_span`s made from it share.
template <class T>
class span_arena {
public:
    void reset() {
        block_.reset();
        capacity_ = used_ = open_ = 0;
        next_size_ = 128;
    }

    /// A new array begins: the elements of one that was not taken are dropped.
    void start() { open_ = used_; }

    /// A new element at the end of the current array.
    T& add() {
        if (open_ == capacity_)
            grow();
        T& t = block_[open_++];
        t = T{}; // a dropped array may have left a value here
        return t;
    }

    /// The current element.
    T& back() { return block_[open_ - 1]; }

    /// The array built since `start`.
    shared_span<T> take() {
        if (open_ == used_)
            return {};
        shared_span<T> s(std::shared_ptr<T const>(block_, block_.get() + used_), open_ - used_);
        used_ = open_;
        return s;
    }

private:
    void grow() {
        std::size_t const pending = open_ - used_;
        std::size_t const size = std::max(next_size_, pending * 2);
        auto block = std::make_shared<T[]>(size);
        std::move(block_.get() + used_, block_.get() + open_, block.get());
        block_ = std::move(block);
        capacity_ = size;
        used_ = 0;
        open_ = pending;
        next_size_ = size * 2;
    }

    std::shared_ptr<T[]> block_;
    std::size_t capacity_ = 0;
    std::size_t used_ = 0;
    std::size_t open_ = 0;
    std::size_t next_size_ = 128;
};

/// Where the value of a flat field goes: one of the three is set.
struct field_target {
    text* string = nullptr;
    std::optional<std::int64_t>* integer = nullptr;
    bool* boolean = nullptr;
};

/// Names and paths of each item type of the Developer API.
template <class Item>
struct api_item_traits;
template <>
struct api_item_traits<connection> {
    static constexpr std::string_view path = "/ic/api/integration/v1/connections";
    static constexpr std::string_view answer = "connections answer";
    static constexpr std::string_view item = "connection";
    static constexpr std::string_view nested = "adapterType"; ///< the one nested object the model reads
};
template <>
struct api_item_traits<integration> {
    static constexpr std::string_view path = "/ic/api/integration/v1/integrations";
    static constexpr std::string_view answer = "integrations answer";
    static constexpr std::string_view item = "integration";
    static constexpr std::string_view nested = "";
};
template <>
struct api_item_traits<errored_instance> {
    static constexpr std::string_view path = "/ic/api/integration/v1/monitoring/errors";
    static constexpr std::string_view answer = "errored instances answer";
    static constexpr std::string_view item = "errored instance";
    static constexpr std::string_view nested = "integration";
};
template <>
struct api_item_traits<integration_instance> {
    static constexpr std::string_view path = "/ic/api/integration/v1/monitoring/instances";
    static constexpr std::string_view answer = "instances answer";
    static constexpr std::string_view item = "instance";
    static constexpr std::string_view nested = "";
};

/// Whether `key` is `name`: a compare of constant length, which the compiler makes a few
/// instructions, where `==` on two string_views calls memcmp (these run for every key of a page).
template <std::size_t N>
BOOST_FORCEINLINE bool key_is(std::string_view key, char const (&name)[N]) noexcept {
    return key.size() == N - 1 && std::memcmp(key.data(), name, N - 1) == 0;
}

// Key tables, one line per JSON key, by length first: a key is compared with the names of its own
// length only (this dispatch runs for every key of every item). Forced inline: returned through
// memory, the three pointers stalled the load that followed each call.
// clang-format off

/// The flat fields of a connection (its nested ones are `adapterType` and `connectionProperties`).
BOOST_FORCEINLINE field_target select_field(connection& c, std::string_view key) {
    switch (key.size()) {
    case 2:
        if (key_is(key, "id")) return {&c.id};
        break;
    case 4:
        if (key_is(key, "name")) return {&c.name};
        if (key_is(key, "role")) return {&c.role};
        break;
    case 5:
        if (key_is(key, "usage")) return {nullptr, &c.usage};
        break;
    case 6:
        if (key_is(key, "status")) return {&c.status};
        break;
    case 7:
        if (key_is(key, "created")) return {&c.created};
        break;
    case 9:
        if (key_is(key, "createdBy")) return {&c.created_by};
        break;
    case 10:
        if (key_is(key, "lockedFlag")) return {nullptr, nullptr, &c.locked};
        break;
    case 11:
        if (key_is(key, "lastUpdated")) return {&c.last_updated};
        if (key_is(key, "usageActive")) return {nullptr, &c.usage_active};
        break;
    case 13:
        if (key_is(key, "lastUpdatedBy")) return {&c.last_updated_by};
        break;
    case 14:
        if (key_is(key, "securityPolicy")) return {&c.security_policy};
        break;
    case 18:
        if (key_is(key, "percentageComplete")) return {nullptr, &c.percentage_complete};
        break;
    default: break;
    }
    return {};
}

BOOST_FORCEINLINE field_target select_field(integration& x, std::string_view key) {
    switch (key.size()) {
    case 2:
        if (key_is(key, "id")) return {&x.id};
        break;
    case 4:
        if (key_is(key, "code")) return {&x.code};
        if (key_is(key, "name")) return {&x.name};
        break;
    case 5:
        if (key_is(key, "style")) return {&x.style};
        break;
    case 6:
        if (key_is(key, "status")) return {&x.status};
        break;
    case 7:
        if (key_is(key, "version")) return {&x.version};
        if (key_is(key, "pattern")) return {&x.pattern};
        if (key_is(key, "created")) return {&x.created};
        break;
    case 9:
        if (key_is(key, "createdBy")) return {&x.created_by};
        break;
    case 10:
        if (key_is(key, "lockedFlag")) return {nullptr, nullptr, &x.locked};
        break;
    case 11:
        if (key_is(key, "description")) return {&x.description};
        if (key_is(key, "packageName")) return {&x.package_name};
        if (key_is(key, "lastUpdated")) return {&x.last_updated};
        break;
    case 13:
        if (key_is(key, "lastUpdatedBy")) return {&x.last_updated_by};
        break;
    case 18:
        if (key_is(key, "percentageComplete")) return {nullptr, &x.percentage_complete};
        break;
    default: break;
    }
    return {};
}

BOOST_FORCEINLINE field_target select_field(errored_instance& x, std::string_view key) {
    switch (key.size()) {
    case 2:
        if (key_is(key, "id")) return {&x.id};
        break;
    case 5:
        if (key_is(key, "runId")) return {&x.run_id};
        break;
    case 6:
        if (key_is(key, "status")) return {&x.status};
        break;
    case 7:
        if (key_is(key, "faultId")) return {&x.fault_id};
        break;
    case 9:
        if (key_is(key, "errorCode")) return {&x.error_code};
        break;
    case 10:
        if (key_is(key, "retryCount")) return {nullptr, &x.retry_count};
        break;
    case 11:
        if (key_is(key, "recoverable")) return {nullptr, nullptr, &x.recoverable};
        if (key_is(key, "primaryName")) return {&x.primary_name};
        break;
    case 12:
        if (key_is(key, "errorMessage")) return {&x.error_message};
        if (key_is(key, "errorDetails")) return {&x.error_details};
        if (key_is(key, "creationDate")) return {&x.creation_date};
        if (key_is(key, "primaryValue")) return {&x.primary_value};
        break;
    case 15:
        if (key_is(key, "lastTrackedTime")) return {&x.last_tracked_time};
        break;
    default: break;
    }
    return {};
}

BOOST_FORCEINLINE field_target select_field(integration_instance& x, std::string_view key) {
    switch (key.size()) {
    case 2:
        if (key_is(key, "id")) return {&x.id};
        break;
    case 5:
        if (key_is(key, "runId")) return {&x.run_id};
        break;
    case 6:
        if (key_is(key, "status")) return {&x.status};
        break;
    case 12:
        if (key_is(key, "creationDate")) return {&x.creation_date};
        break;
    case 13:
        if (key_is(key, "integrationId")) return {&x.integration_id};
        break;
    case 15:
        if (key_is(key, "integrationName")) return {&x.integration_name};
        if (key_is(key, "lastTrackedTime")) return {&x.last_tracked_time};
        break;
    case 18:
        if (key_is(key, "integrationVersion")) return {&x.integration_version};
        break;
    default: break;
    }
    return {};
}

// clang-format on

/// The string fields of the nested object an item type reads (`api_item_traits::nested`).
inline text* select_nested(connection& c, std::string_view key) {
    auto& a = c.adapter;
    return key_is(key, "name")          ? &a.name
           : key_is(key, "displayName") ? &a.display_name
           : key_is(key, "type")        ? &a.type
                                        : nullptr;
}
inline text* select_nested(errored_instance& x, std::string_view key) {
    return key_is(key, "code")      ? &x.integration_code
           : key_is(key, "version") ? &x.integration_version
           : key_is(key, "name")    ? &x.integration_name
                                    : nullptr;
}
template <class Item>
text* select_nested(Item&, std::string_view) {
    return nullptr;
}

/// Reads a page of `Item` (or one `Item`) as the parser walks it; see the file comment.
template <class Item>
class page_handler {
public:
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    /// Reads a page envelope into `page`, or (without page) one item into `single`.
    page_handler(page<Item>* page, Item* single) : page_(page), single_(single) {}

    /// How many items the page was asked for (its `limit`): the first reservation, up to 256.
    void expect_items(std::size_t n) { first_items_ = std::clamp<std::size_t>(n, 1, 256); }

    /// Ready for a new document; `body_size` (0: unknown) sizes the first block of strings.
    void restart(std::size_t body_size) {
        item_ = nullptr;
        levels_.clear();
        index_.clear();
        expect_ = slot::document;
        target_ = {};
        key_.clear();
        field_ = {};
        seen_ = 0;
        skip_depth_ = 0;
        what_.clear();
        // The strings longer than a text holds inline take about a fifth of a page's bytes (the
        // rest: keys, syntax, skipped fields, short strings); a page with more gets a second block.
        arena_.reset(body_size ? body_size / 4 : 4096);
        properties_.reset();
    }

    /// Copies the key whose value comes next, which points into the parser's input until then:
    /// called when a piece of the body has been parsed, before its bytes go.
    void hold_field() noexcept {
        if (field_.data() == held_field_.data())
            return;
        std::size_t const n = std::min(field_.size(), held_field_.size()); // a modelled key always fits
        if (n > 0)
            std::memcpy(held_field_.data(), field_.data(), n);
        field_ = {held_field_.data(), n};
    }

    /// Why the handler stopped the parse (names the field), empty if it did not.
    std::string const& what() const noexcept { return what_; }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_comment_part(std::string_view, error_code&) { return true; }
    bool on_comment(std::string_view, error_code&) { return true; }

    bool on_object_begin(error_code& ec) {
        if (skipping())
            return skip_begin();
        switch (expect_) {
        case slot::document:
            push(page_ ? level::envelope : level::item);
            if (single_)
                item_ = single_;
            return true;
        case slot::item:
            if (page_->items.size() == page_->items.capacity()) // the page's limit (else 16), then x4
                page_->items.reserve(page_->items.empty() ? first_items_ : page_->items.capacity() * 4);
            page_->items.emplace_back();
            item_ = &page_->items.back();
            push(level::item);
            return true;
        case slot::nested: push(level::nested); return true;
        case slot::property:
            if constexpr (std::is_same_v<Item, connection>)
                properties_.add();
            push(level::property);
            return true;
        case slot::skip: return skip_begin();
        default: return wrong(ec);
        }
    }

    bool on_object_end(std::size_t, error_code&) {
        if (skipping())
            return skip_end();
        pop();
        return true;
    }

    bool on_array_begin(error_code& ec) {
        if (skipping())
            return skip_begin();
        switch (expect_) {
        case slot::items: push(level::items); return true;
        case slot::properties: push(level::properties); return true;
        case slot::skip: return skip_begin();
        default: return wrong(ec);
        }
    }

    bool on_array_end(std::size_t, error_code&) {
        if (skipping())
            return skip_end();
        pop();
        return true;
    }

    bool on_key_part(std::string_view s, std::size_t, error_code&) {
        if (!skipping())
            key_.append(s);
        return true;
    }

    bool on_key(std::string_view s, std::size_t, error_code& ec) {
        if (skipping())
            return true;
        if (key_.empty())
            return select(s, ec);
        key_.append(s);
        bool const ok = select(key_, ec);
        hold_field();
        key_.clear();
        return ok;
    }

    bool on_string_part(std::string_view s, std::size_t, error_code&) {
        // A string where none belongs is refused when it ends (`on_string`), not here: a syntax
        // error inside it then comes first however the body was split.
        if (!skipping() && expect_ != slot::skip && target_.string)
            arena_.append(s);
        return true;
    }

    bool on_string(std::string_view s, std::size_t, error_code& ec) {
        if (skipping())
            return true;
        if (expect_ != slot::skip) {
            if (!target_.string)
                return wrong(ec);
            arena_.finish(s, *target_.string);
        }
        return next();
    }

    bool on_number_part(std::string_view, error_code&) { return true; }

    bool on_int64(std::int64_t i, std::string_view, error_code& ec) { return integer(i, ec); }

    bool on_uint64(std::uint64_t u, std::string_view, error_code& ec) {
        if (u > static_cast<std::uint64_t>(INT64_MAX))
            return not_integer(ec);
        return integer(static_cast<std::int64_t>(u), ec);
    }

    bool on_double(double d, std::string_view, error_code& ec) {
        if (d >= -9.2e18 && d <= 9.2e18 && static_cast<double>(static_cast<std::int64_t>(d)) == d)
            return integer(static_cast<std::int64_t>(d), ec); // 3.0 and 3e0 are integers too
        return not_integer(ec);
    }

    bool on_bool(bool b, error_code& ec) {
        if (skipping())
            return true;
        if (expect_ != slot::skip) {
            if (!target_.boolean)
                return wrong(ec);
            *target_.boolean = b;
        }
        return next();
    }

    /// A null field stays empty; a null where an item or the answer should be is an error.
    bool on_null(error_code& ec) {
        if (skipping())
            return true;
        if (expect_ == slot::document || expect_ == slot::item || expect_ == slot::property)
            return wrong(ec);
        if (target_.string)
            *target_.string = {};
        return next();
    }

private:
    /// What an object or array at some depth is.
    enum class level { envelope, items, item, nested, properties, property }; // nested: `api_item_traits::nested`
    /// What the next value is for.
    enum class slot { document, value, items, item, nested, properties, property, skip };

    bool skipping() const noexcept { return skip_depth_ > 0; }
    bool skip_begin() {
        ++skip_depth_;
        return true;
    }
    bool skip_end() {
        if (--skip_depth_ == 0)
            return next();
        return true;
    }

    void push(level l) {
        levels_.push_back(l);
        if (l == level::items)
            index_.push_back(0);
        if (l == level::properties)
            index_.push_back(0);
        set_slot_for_container();
    }

    void pop() {
        level const l = levels_.back();
        levels_.pop_back();
        if (l == level::items || l == level::properties)
            index_.pop_back();
        if constexpr (std::is_same_v<Item, connection>)
            if (l == level::properties)
                item_->properties = properties_.take();
        next();
    }

    /// After a value: inside an array the next element has the same slot; inside an object a key comes.
    bool next() {
        target_ = {};
        if (levels_.empty()) {
            expect_ = slot::document;
            return true;
        }
        if (levels_.back() == level::items || levels_.back() == level::properties)
            ++index_.back(); // an element is complete
        set_slot_for_container();
        return true;
    }

    void set_slot_for_container() {
        switch (levels_.back()) {
        case level::items: expect_ = slot::item; break;
        case level::properties: expect_ = slot::property; break;
        default: expect_ = slot::skip; break; // until a key selects a field
        }
    }

    /// The field a key of the current object names: sets the slot and the target.
    bool select(std::string_view key, error_code& ec) {
        field_ = key;
        expect_ = slot::value;
        switch (levels_.back()) {
        case level::envelope: return select_envelope(key, ec);
        case level::item: return select_item(key);
        default: break;
        }
        if (levels_.back() == level::nested)
            target_.string = select_nested(*item_, key);
        if constexpr (std::is_same_v<Item, connection>) {
            if (levels_.back() == level::property) {
                auto& p = properties_.back();
                target_.string = key_is(key, "propertyName")    ? &p.name
                                 : key_is(key, "propertyValue") ? &p.value
                                 : key_is(key, "displayName")   ? &p.display_name
                                                                : nullptr;
            }
        }
        if (!target_.string)
            expect_ = slot::skip;
        return true;
    }

    bool select_envelope(std::string_view key, error_code& ec) {
        unsigned bit = 0;
        if (key_is(key, "items")) {
            expect_ = slot::items;
            bit = 1;
        } else if (key_is(key, "hasMore")) {
            target_.boolean = &page_->has_more;
            bit = 2;
        } else if (key_is(key, "totalResults")) {
            target_.integer = &page_->total_results;
            bit = 4;
        } else if (key_is(key, "limit")) {
            target_.integer = &page_->limit;
            bit = 8;
        } else if (key_is(key, "offset")) {
            target_.integer = &page_->offset;
            bit = 16;
        } else {
            expect_ = slot::skip;
        }
        if (seen_ & bit) { // two values for one field: which one would a reader believe?
            what_ = std::string(api_item_traits<Item>::answer) + " has \"" + std::string(key) + "\" more than once";
            ec = error::api_bad_field_type;
            return false;
        }
        seen_ |= bit;
        return true;
    }

    bool select_item(std::string_view key) {
        if (!api_item_traits<Item>::nested.empty() && key == api_item_traits<Item>::nested) {
            expect_ = slot::nested;
            return true;
        }
        if constexpr (std::is_same_v<Item, connection>) {
            if (key_is(key, "connectionProperties")) {
                item_->properties = {};
                properties_.start();
                expect_ = slot::properties;
                return true;
            }
        }
        target_ = select_field(*item_, key);
        if (!target_.string && !target_.integer && !target_.boolean)
            expect_ = slot::skip;
        return true;
    }

    bool integer(std::int64_t i, error_code& ec) {
        if (skipping())
            return true;
        if (expect_ != slot::skip) {
            if (!target_.integer)
                return wrong(ec);
            *target_.integer = i;
        }
        return next();
    }

    /// A number no field can hold (a fraction, or past int64): fine where it is skipped.
    bool not_integer(error_code& ec) {
        if (skipping())
            return true;
        if (expect_ != slot::skip)
            return wrong(ec);
        return next();
    }

    char const* expected_name() const noexcept {
        if (target_.string)
            return "a string";
        if (target_.integer)
            return "an integer";
        if (target_.boolean)
            return "a boolean";
        switch (expect_) {
        case slot::items:
        case slot::properties: return "an array";
        default: return "an object";
        }
    }

    /// The path of the value being read, e.g. `items[3].connectionProperties[0].propertyValue`.
    std::string path() const {
        std::string p = page_ ? "" : std::string(api_item_traits<Item>::item);
        std::size_t index = 0;
        for (std::size_t d = 0; d < levels_.size(); ++d) {
            switch (levels_[d]) {
            case level::envelope: p = std::string(api_item_traits<Item>::answer); break;
            case level::items: p = "items[" + std::to_string(index_[index++]) + "]"; break;
            case level::nested: p += "." + std::string(api_item_traits<Item>::nested); break;
            case level::properties: p += ".connectionProperties[" + std::to_string(index_[index++]) + "]"; break;
            default: break;
            }
        }
        switch (expect_) {
        case slot::items: return "items";
        case slot::document: return std::string(page_ ? api_item_traits<Item>::answer : api_item_traits<Item>::item);
        case slot::nested: return p + "." + std::string(api_item_traits<Item>::nested);
        case slot::properties: return p + ".connectionProperties";
        default: break;
        }
        if (levels_.back() == level::items || levels_.back() == level::properties)
            return p;
        if (levels_.back() == level::envelope)
            return std::string(field_);
        return p + "." + std::string(field_);
    }

    bool wrong(error_code& ec) {
        what_ = path() + " is not " + expected_name();
        ec = error::api_bad_field_type;
        return false;
    }

    page<Item>* page_;
    Item* single_;
    std::size_t first_items_ = 16;
    Item* item_ = nullptr;

    // Fixed capacity: values nested deeper than a model reads are skipped, not stacked.
    boost::container::static_vector<level, 8> levels_;
    boost::container::static_vector<std::size_t, 4> index_; // element index of each open array
    slot expect_ = slot::document;
    field_target target_;               // where the next value goes, if anywhere
    std::string key_;                   // a key split by the network or escapes, as its parts arrive
    std::string_view field_;            // the key whose value comes next, for errors (see hold_field)
    std::array<char, 32> held_field_{}; // its bytes once the body's are gone
    text_arena arena_;
    span_arena<connection_property> properties_; // connections only
    unsigned seen_ = 0;                          // envelope fields read so far
    std::size_t skip_depth_ = 0;
    std::string what_;
};

} // namespace oic::detail
