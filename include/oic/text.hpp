#pragma once
/**
 * @file The string and array types of the models: `text` and `shared_span`. Both are immutable
 * and share their storage: a page's items point into the few blocks their parse filled, instead
 * of owning one heap string per field, and each value keeps its block alive by itself.
 */

#include <compare>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace oic {

class text;
namespace detail {
/// What concatenates with a `text`: any string but a `text` (that overload is exact).
template <class S>
concept text_operand = std::is_convertible_v<S const&, std::string_view> && !std::is_same_v<S, text>;
} // namespace detail

/**
 * An immutable string that shares its storage. A model's text fields point into the block of
 * decoded strings their page was read into; copying a `text` (or an item) copies a pointer and
 * counts one more owner of that block, so an item, a field or a copy of either stays valid after
 * the page is gone. Built from a string of your own, a `text` copies it once.
 *
 * Reads as a `std::string_view` and converts to one, and to a `std::string` (a copy, also `str()`).
 */
class text {
public:
    text() noexcept = default;
    /// A copy of `s` (one allocation; none when empty).
    text(std::string_view s) : size_(s.size()) { // NOLINT: implicit, as std::string's own
        if (s.empty())
            return;
        auto block = std::make_shared_for_overwrite<char[]>(s.size());
        std::memcpy(block.get(), s.data(), s.size());
        data_ = std::shared_ptr<char const>(std::move(block), block.get());
    }
    text(char const* s) : text(std::string_view(s)) {}        // NOLINT: `c.name = "x"`
    text(std::string const& s) : text(std::string_view(s)) {} // NOLINT
    /// `size` bytes at `data`, kept alive by sharing the ownership of the block they are in.
    text(std::shared_ptr<char const> data, std::size_t size) noexcept : data_(std::move(data)), size_(size) {}

    std::string_view view() const noexcept { return {data_.get(), size_}; }
    operator std::string_view() const noexcept { return view(); } // NOLINT: reads as a string_view
    /// A copy: so that an id passes straight to a call that takes a `std::string`.
    operator std::string() const { return str(); } // NOLINT
    std::string str() const { return std::string(view()); }

    char const* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    char const* begin() const noexcept { return data_.get(); }
    char const* end() const noexcept { return data_.get() + size_; }

    friend bool operator==(text const& a, std::string_view b) noexcept { return a.view() == b; }
    friend std::strong_ordering operator<=>(text const& a, std::string_view b) noexcept { return a.view() <=> b; }
    friend std::ostream& operator<<(std::ostream& os, text const& t) { return os << t.view(); }

    // Concatenation makes a std::string, as with std::string_view on either side.
    template <class S>
    requires detail::text_operand<S>
    friend std::string operator+(text const& a, S const& b) { return join(a, b); }
    template <class S>
    requires detail::text_operand<S>
    friend std::string operator+(S const& a, text const& b) { return join(a, b); }
    friend std::string operator+(text const& a, text const& b) { return join(a, b); }

private:
    static std::string join(std::string_view a, std::string_view b) {
        std::string s;
        s.reserve(a.size() + b.size());
        return s.append(a).append(b);
    }

    std::shared_ptr<char const> data_; // null when empty
    std::size_t size_ = 0;
};

/**
 * An immutable array that shares its storage, as `text` does: a page's nested lists (a
 * connection's properties) are slices of one array per page, and each slice keeps it alive.
 */
template <class T>
class shared_span {
public:
    using value_type = T;
    using const_iterator = T const*;

    shared_span() noexcept = default;
    /// A copy of `items` (one allocation; none when empty).
    shared_span(std::initializer_list<T> items) : shared_span(std::vector<T>(items)) {}
    /// Takes `items` (one allocation for the owner; none when empty).
    explicit shared_span(std::vector<T> items) : size_(items.size()) {
        if (items.empty())
            return;
        auto owner = std::make_shared<std::vector<T> const>(std::move(items));
        data_ = std::shared_ptr<T const>(owner, owner->data());
    }
    /// `size` elements at `data`, kept alive by sharing the ownership of the array they are in.
    shared_span(std::shared_ptr<T const> data, std::size_t size) noexcept : data_(std::move(data)), size_(size) {}

    T const* begin() const noexcept { return data_.get(); }
    T const* end() const noexcept { return data_.get() + size_; }
    T const* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T const& operator[](std::size_t i) const noexcept { return data_.get()[i]; }
    T const& front() const noexcept { return data_.get()[0]; }
    T const& back() const noexcept { return data_.get()[size_ - 1]; }

private:
    std::shared_ptr<T const> data_; // null when empty
    std::size_t size_ = 0;
};

} // namespace oic
