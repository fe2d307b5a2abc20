#pragma once
/**
 * @file
 * The string and array types of the models: `text` and `shared_span`. Both are immutable
 * and share their storage: a page's items point into the few blocks their parse filled, instead
 * of owning one heap string per field, and each value keeps its block alive by itself.
 */

#include <algorithm>
#include <atomic>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <ostream>
#include <stdexcept>
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

/// Bytes shared by the `text`s that point into them: one allocation, the count of owners in front.
class text_block {
public:
    static text_block* make(std::size_t capacity, std::size_t owners) {
        return ::new (::operator new(sizeof(text_block) + capacity)) text_block(owners);
    }
    char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
    void retain() noexcept { owners_.fetch_add(1, std::memory_order_relaxed); }
    /// Gives up `n` owners; the last one frees the block.
    void release(std::size_t n = 1) noexcept {
        if (owners_.fetch_sub(n, std::memory_order_acq_rel) == n) {
            this->~text_block();
            ::operator delete(this);
        }
    }

private:
    explicit text_block(std::size_t owners) noexcept : owners_(owners) {}
    std::atomic<std::size_t> owners_;
};

class text_arena;
} // namespace detail

/**
 * An immutable string that shares its storage. A model's text fields point into the block of
 * decoded strings their page was read into; copying a `text` (or an item) copies a pointer and
 * counts one more owner of that block, so an item, a field or a copy of either stays valid after
 * the page is gone. Strings of up to 22 bytes live inside the `text` itself, as in a
 * `std::string`: no block, no count. Built from a string of your own, a `text` copies it.
 *
 * Reads as a `std::string_view` and converts to one, and to a `std::string` (a copy, also `str()`).
 */
class text {
public:
    /// The longest string held inside the `text`, without a block.
    static constexpr std::size_t inline_capacity = 22;

    text() noexcept { set_inline({}); }
    /// A copy of `s` (one allocation above `inline_capacity`).
    /// @throws std::length_error for 4 GiB or more.
    text(std::string_view s) { // NOLINT: implicit, as std::string's own
        if (s.size() <= inline_capacity) {
            set_inline(s);
            return;
        }
        if (s.size() > UINT32_MAX)
            throw std::length_error("oic::text of 4 GiB or more");
        auto* const block = detail::text_block::make(s.size(), 1);
        std::memcpy(block->bytes(), s.data(), s.size());
        set_shared({block, block->bytes(), static_cast<std::uint32_t>(s.size())});
    }
    /// A copy of the NUL-terminated `s`; as `text(std::string_view)`.
    text(char const* s) : text(std::string_view(s)) {} // NOLINT: `c.name = "x"`
    /// A copy of `s`; as `text(std::string_view)`.
    text(std::string const& s) : text(std::string_view(s)) {} // NOLINT
    /// Shares `other`'s block (one more owner, no copy of the bytes); copies an inline string.
    text(text const& other) noexcept {
        std::memcpy(rep_, other.rep_, sizeof rep_);
        if (shared())
            shared_rep().block->retain();
    }
    /// Takes `other`'s string; `other` is left empty.
    text(text&& other) noexcept {
        std::memcpy(rep_, other.rep_, sizeof rep_);
        other.set_inline({});
    }
    /// As the copy constructor; the block of the previous value loses an owner.
    text& operator=(text const& other) noexcept {
        text(other).swap(*this);
        return *this;
    }
    /// As the move constructor; the block of the previous value loses an owner.
    text& operator=(text&& other) noexcept {
        text(std::move(other)).swap(*this);
        return *this;
    }
    ~text() { release(); }
    /// Exchanges the two strings (no count changes).
    void swap(text& other) noexcept {
        unsigned char tmp[sizeof rep_];
        std::memcpy(tmp, rep_, sizeof rep_);
        std::memcpy(rep_, other.rep_, sizeof rep_);
        std::memcpy(other.rep_, tmp, sizeof rep_);
    }

    /// The bytes. Valid while this `text` lives and is neither assigned nor moved from: a short
    /// string is stored inside it.
    std::string_view view() const noexcept {
        if (shared()) {
            auto const r = shared_rep();
            return {r.data, r.size};
        }
        return {reinterpret_cast<char const*>(rep_), rep_[inline_capacity]};
    }
    /// `view()`.
    operator std::string_view() const noexcept { return view(); } // NOLINT: reads as a string_view
    /// A copy: so that an id passes straight to a call that takes a `std::string`.
    operator std::string() const { return str(); } // NOLINT
    /// A copy, as a `std::string`.
    std::string str() const { return std::string(view()); }

    char const* data() const noexcept { return view().data(); }  ///< The first byte; may not be NUL-terminated.
    std::size_t size() const noexcept { return view().size(); }  ///< Length in bytes.
    bool empty() const noexcept { return size() == 0; }          ///< Whether `size()` is 0.
    char const* begin() const noexcept { return data(); }        ///< The bytes, in order.
    char const* end() const noexcept { return data() + size(); } ///< Past the last byte.

    /// Compares the bytes, as `std::string_view` does; either side may be the `text`.
    friend bool operator==(text const& a, std::string_view b) noexcept { return a.view() == b; }
    /// Orders by the bytes, as `std::string_view` does.
    friend std::strong_ordering operator<=>(text const& a, std::string_view b) noexcept { return a.view() <=> b; }
    /// Writes the bytes.
    friend std::ostream& operator<<(std::ostream& os, text const& t) { return os << t.view(); }

    // Concatenation makes a std::string, as with std::string_view on either side.
    /// `a` then `b`, in a new `std::string`; `b` is any string but a `text`.
    template <class S>
    requires detail::text_operand<S>
    friend std::string operator+(text const& a, S const& b) { return join(a, b); }
    /// `a` then `b`, in a new `std::string`; `a` is any string but a `text`.
    template <class S>
    requires detail::text_operand<S>
    friend std::string operator+(S const& a, text const& b) { return join(a, b); }
    /// `a` then `b`, in a new `std::string`.
    friend std::string operator+(text const& a, text const& b) { return join(a, b); }

private:
    friend class detail::text_arena;

    // Two layouts in the same 24 bytes, told apart by the last byte: a string of up to 22 bytes
    // inline (its size in byte 22), or a block, where in it, and how much.
    struct shared_layout {
        detail::text_block* block;
        char const* data;
        std::uint32_t size;
    };
    static constexpr unsigned char is_shared = 1;

    /// Becomes `size` bytes at `data` in `block`, taking one of its owners.
    void assign_shared(detail::text_block* block, char const* data, std::size_t size) noexcept {
        release();
        set_shared({block, data, static_cast<std::uint32_t>(size)});
    }

    /// Becomes a copy of `s` (at most `inline_capacity` bytes): the parser's path, no temporary.
    void assign_short(std::string_view s) noexcept {
        release();
        set_inline(s);
    }

    /// Gives up this text's share of its block, if it has one (the value itself stays).
    void release() noexcept {
        if (shared())
            shared_rep().block->release();
    }

    bool shared() const noexcept { return rep_[sizeof rep_ - 1] == is_shared; }
    shared_layout shared_rep() const noexcept {
        shared_layout r;
        std::memcpy(&r.block, rep_, 8);
        std::memcpy(&r.data, rep_ + 8, 8);
        std::memcpy(&r.size, rep_ + 16, 4);
        return r;
    }
    void set_shared(shared_layout r) noexcept {
        std::memcpy(rep_, &r.block, 8);
        std::memcpy(rep_ + 8, &r.data, 8);
        std::memcpy(rep_ + 16, &r.size, 4);
        rep_[sizeof rep_ - 1] = is_shared;
    }
    /// Writes `s` (at most `inline_capacity` bytes) inline: gathered into three words with loads
    /// inside `s` and stored whole. A byte-wise copy read back by a wider load (a move, a swap)
    /// stalls the CPU's store forwarding: a fifth of a page's parse went there.
    void set_inline(std::string_view s) noexcept {
        if constexpr (std::endian::native != std::endian::little) {
            std::memset(rep_, 0, sizeof rep_);
            if (!s.empty())
                std::memcpy(rep_, s.data(), s.size());
            rep_[inline_capacity] = static_cast<unsigned char>(s.size());
        } else {
            char const* const p = s.data();
            std::size_t const n = s.size();
            std::uint64_t w0 = 0, w1 = 0, w2 = 0; // three registers: an array would go through the stack
            if (n >= 8) {
                std::uint64_t last = 0;
                std::memcpy(&w0, p, 8);
                std::memcpy(&last, p + n - 8, 8); // the last 8 bytes, shifted down to where they go
                if (n > 16) {
                    std::memcpy(&w1, p + 8, 8);
                    w2 = last >> (8 * (24 - n));
                } else if (n > 8) {
                    w1 = last >> (8 * (16 - n));
                }
            } else if (n >= 4) { // two 4-byte loads that overlap: the shared bytes are equal
                std::uint32_t first = 0, last = 0;
                std::memcpy(&first, p, 4);
                std::memcpy(&last, p + n - 4, 4);
                w0 = first | std::uint64_t(last) << (8 * (n - 4));
            } else if (n > 0) {
                auto const byte = [p](std::size_t i) {
                    return std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
                };
                w0 = byte(0) | byte(n / 2) | byte(n - 1);
            }
            w2 |= std::uint64_t(n) << 48; // the size in byte 22; byte 23 (shared or not) is 0
            std::memcpy(rep_, &w0, 8);
            std::memcpy(rep_ + 8, &w1, 8);
            std::memcpy(rep_ + 16, &w2, 8);
        }
    }
    static std::string join(std::string_view a, std::string_view b) {
        std::string s;
        s.reserve(a.size() + b.size());
        return s.append(a).append(b);
    }

    static_assert(sizeof(void*) == 8, "the shared layout is written for 64-bit pointers");
    alignas(8) unsigned char rep_[inline_capacity + 2];
};

namespace detail {

/**
 * The decoded strings of one parse, in a few blocks that the `text`s made from them share. A
 * string may arrive in parts (split by the network, or by escapes): it grows at the end of the
 * current block and moves to a new, larger block if it outgrows it. Short strings go inline into
 * their `text` and leave the block's space to the next.
 *
 * Owners are counted without atomics while the parse runs: a block starts with `reserved` owners,
 * and when the arena lets it go it gives back those it did not hand out, so that what remains is
 * the count of `text`s still pointing into it.
 */
class text_arena {
public:
    text_arena() = default;
    text_arena(text_arena const&) = delete;
    text_arena& operator=(text_arena const&) = delete;
    ~text_arena() { let_go(); }

    /// Starts afresh with a first block of `first_block` bytes (at least 256); texts made keep theirs.
    void reset(std::size_t first_block) {
        let_go();
        capacity_ = used_ = open_ = 0;
        next_size_ = std::max<std::size_t>(first_block, 256);
    }

    /// The next part of the string being built.
    void append(std::string_view part) {
        if (part.empty())
            return;
        if (part.size() > capacity_ - open_)
            grow(part.size());
        std::memcpy(block_->bytes() + open_, part.data(), part.size());
        open_ += part.size();
    }

    /// Ends the string being built with its `last` part, into `out`. A string that arrived whole
    /// and fits inside a `text` goes there straight from the parser's bytes.
    void finish(std::string_view last, text& out) {
        if (open_ == used_ && last.size() <= text::inline_capacity) {
            out.assign_short(last);
            return;
        }
        append(last);
        std::size_t const size = open_ - used_;
        if (size <= text::inline_capacity) {
            out.assign_short({block_->bytes() + used_, size});
            open_ = used_; // the block's bytes serve the next string
            return;
        }
        ++handed_;
        out.assign_shared(block_, block_->bytes() + used_, size);
        used_ = open_;
    }

private:
    static constexpr std::size_t reserved = std::size_t(1) << 40;

    void let_go() noexcept {
        if (block_)
            block_->release(reserved - handed_);
        block_ = nullptr;
        handed_ = 0;
    }

    void grow(std::size_t more) {
        std::size_t const pending = open_ - used_; // the string being built moves along
        std::size_t const size = std::max(next_size_, pending + more);
        auto* const block = text_block::make(size, reserved);
        if (pending > 0)
            std::memcpy(block->bytes(), block_->bytes() + used_, pending);
        let_go();
        block_ = block;
        capacity_ = size;
        used_ = 0;
        open_ = pending;
        next_size_ = size * 2;
    }

    text_block* block_ = nullptr;
    std::size_t handed_ = 0; // texts pointing into block_, made by this arena
    std::size_t capacity_ = 0;
    std::size_t used_ = 0; // the end of the strings taken
    std::size_t open_ = 0; // the end of the string being built
    std::size_t next_size_ = 256;
};

} // namespace detail

/**
 * An immutable array that shares its storage, as `text` does: a page's nested lists (a
 * connection's properties) are slices of one array per page, and each slice keeps it alive.
 */
template <class T>
class shared_span {
public:
    using value_type = T;            ///< The element type.
    using const_iterator = T const*; ///< Iterates the elements in order.

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

    T const* begin() const noexcept { return data_.get(); }                      ///< The elements, in order.
    T const* end() const noexcept { return data_.get() + size_; }                ///< Past the last element.
    T const* data() const noexcept { return data_.get(); }                       ///< Same as `begin()`.
    std::size_t size() const noexcept { return size_; }                          ///< Number of elements.
    bool empty() const noexcept { return size_ == 0; }                           ///< Whether there are no elements.
    T const& operator[](std::size_t i) const noexcept { return data_.get()[i]; } ///< Element `i` (unchecked).
    T const& front() const noexcept { return data_.get()[0]; }                   ///< The first element; not when empty.
    T const& back() const noexcept { return data_.get()[size_ - 1]; }            ///< The last element; not when empty.

private:
    std::shared_ptr<T const> data_; // null when empty
    std::size_t size_ = 0;
};

} // namespace oic
