#pragma once
/// @file
/// A string that holds a credential and refuses to print it.

#include <openssl/crypto.h>

#include <ostream>
#include <string>
#include <string_view>

namespace oic {

/**
 * @brief A client secret or an access token.
 *
 * It prints as `<redacted>`, converts to nothing implicitly, and wipes its bytes when destroyed,
 * so a secret cannot slip into a log line or an exception text by accident. `reveal()` is the
 * one explicit way to read it, for the code that puts it on the wire.
 */
class secret {
public:
    secret() = default;
    /// Holds `value` (moved in, not copied).
    explicit secret(std::string value) noexcept : value_(std::move(value)) {}
    secret(secret const&) = default;     ///< Copies the value.
    secret(secret&&) noexcept = default; ///< Takes the value.
    /// Wipes the current value, then copies `other`'s.
    secret& operator=(secret const& other) {
        if (this != &other) {
            wipe();
            value_ = other.value_;
        }
        return *this;
    }
    /// Wipes the current value, then takes `other`'s.
    secret& operator=(secret&& other) noexcept {
        if (this != &other) {
            wipe();
            value_ = std::move(other.value_);
        }
        return *this;
    }
    ~secret() { wipe(); }

    /// The value, for the code that sends it; valid while this `secret` lives unchanged.
    std::string_view reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); } ///< Whether there is no value.

    /// Compares the values in constant time for a given length (`CRYPTO_memcmp`).
    friend bool operator==(secret const& a, secret const& b) noexcept {
        return a.value_.size() == b.value_.size() &&
               CRYPTO_memcmp(a.value_.data(), b.value_.data(), a.value_.size()) == 0;
    }
    /// Writes `<redacted>`, never the value.
    friend std::ostream& operator<<(std::ostream& os, secret const&) { return os << "<redacted>"; }

private:
    void wipe() noexcept {
        if (!value_.empty())
            OPENSSL_cleanse(value_.data(), value_.size());
    }
    std::string value_;
};

} // namespace oic
