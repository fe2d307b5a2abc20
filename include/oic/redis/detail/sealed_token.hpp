#pragma once
/// @file A token as a Redis store keeps it: under a key derived from the credentials' public
/// parts, sealed (AES-256-GCM) with a key derived from the client secret.

#include <oic/auth/client_credentials.hpp>
#include <oic/secret.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oic::redis::detail {

/// The Redis key for one set of credentials: `prefix` and a SHA-256 of token URL, client id and
/// scope. Never the secret: whoever can list keys learns nothing about it.
inline std::string token_key(std::string_view prefix, client_credentials const& c) {
    std::string const identity = c.token_url + '\n' + c.client_id + '\n' + c.scope;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<unsigned char const*>(identity.data()), identity.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(prefix);
    for (unsigned char b : digest) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

/// A token with the wall-clock time it expires at, as the fleet shares it.
struct stored_token {
    access_token token; ///< `expires_in`: its lifetime at issue
    std::chrono::system_clock::time_point expires_at;
};

/**
 * Seals and opens stored tokens. The AES-256 key comes from HKDF-SHA256 over the client secret,
 * salted with the Redis key: anyone who reads Redis without the secret learns nothing, and cannot
 * plant a token; a value copied from another key does not open here.
 */
class sealer {
public:
    /// An unusable sealer (`ok()` false) when OpenSSL cannot derive the key.
    sealer(secret const& client_secret, std::string key_name) : key_name_(std::move(key_name)) {
        std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                        &EVP_PKEY_CTX_free);
        auto const s = client_secret.reveal();
        std::string_view const info = "oic token store v1";
        std::size_t len = key_.size();
        ok_ = ctx && EVP_PKEY_derive_init(ctx.get()) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) > 0 &&
              EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), reinterpret_cast<unsigned char const*>(key_name_.data()),
                                          static_cast<int>(key_name_.size())) > 0 &&
              EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), reinterpret_cast<unsigned char const*>(s.data()),
                                         static_cast<int>(s.size())) > 0 &&
              EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), reinterpret_cast<unsigned char const*>(info.data()),
                                          static_cast<int>(info.size())) > 0 &&
              EVP_PKEY_derive(ctx.get(), key_.data(), &len) > 0 && len == key_.size();
    }
    sealer(sealer const&) = delete;
    sealer& operator=(sealer const&) = delete;
    ~sealer() { OPENSSL_cleanse(key_.data(), key_.size()); }

    bool ok() const noexcept { return ok_; }
    std::string const& key_name() const noexcept { return key_name_; }

    /// `version | nonce | ciphertext | tag` of the token as JSON; empty on failure.
    std::string seal(stored_token const& t) const {
        auto const at_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(t.expires_at.time_since_epoch()).count();
        std::string plain = boost::json::serialize(boost::json::object{{"access_token", t.token.value.reveal()},
                                                                       {"token_type", t.token.token_type},
                                                                       {"scope", t.token.scope},
                                                                       {"lifetime_s", t.token.expires_in.count()},
                                                                       {"expires_at_ms", at_ms}});
        std::string out(1 + nonce_size + plain.size() + tag_size, '\0');
        out[0] = version;
        auto* const nonce = reinterpret_cast<unsigned char*>(out.data() + 1);
        auto* const cipher = nonce + nonce_size;
        bool done = RAND_bytes(nonce, nonce_size) == 1;
        cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0, fin = 0;
        done = done && ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
               EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad(), aad_size()) == 1 &&
               EVP_EncryptUpdate(ctx.get(), cipher, &n, reinterpret_cast<unsigned char const*>(plain.data()),
                                 static_cast<int>(plain.size())) == 1 &&
               EVP_EncryptFinal_ex(ctx.get(), cipher + n, &fin) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size, cipher + plain.size()) == 1;
        OPENSSL_cleanse(plain.data(), plain.size());
        return done ? out : std::string();
    }

    /// The token sealed in `value`, or nothing if it was not sealed here, for this key, with this
    /// secret (tampered with, foreign, garbage) or does not hold a token.
    std::optional<stored_token> open(std::string_view value) const {
        if (!ok_ || value.size() < 1 + nonce_size + tag_size || value[0] != version)
            return std::nullopt;
        auto const* const nonce = reinterpret_cast<unsigned char const*>(value.data() + 1);
        auto const* const cipher = nonce + nonce_size;
        std::size_t const size = value.size() - 1 - nonce_size - tag_size;
        std::string plain(size, '\0');
        std::array<unsigned char, tag_size> tag;
        std::copy_n(cipher + size, tag_size, tag.begin());
        cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0, fin = 0;
        bool const authentic =
            ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad(), aad_size()) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &n, cipher,
                              static_cast<int>(size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + n, &fin) == 1;
        std::optional<stored_token> out;
        if (authentic)
            out = parse(plain);
        OPENSSL_cleanse(plain.data(), plain.size());
        return out;
    }

private:
    using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
    static constexpr char version = 1;
    static constexpr int nonce_size = 12;
    static constexpr int tag_size = 16;

    unsigned char const* aad() const { return reinterpret_cast<unsigned char const*>(key_name_.data()); }
    int aad_size() const { return static_cast<int>(key_name_.size()); }

    static std::optional<stored_token> parse(std::string const& plain) {
        boost::system::error_code ec;
        auto const v = boost::json::parse(plain, ec);
        auto const* o = ec ? nullptr : v.if_object();
        if (!o)
            return std::nullopt;
        auto const* value = o->if_contains("access_token");
        auto const* type = o->if_contains("token_type");
        auto const* scope = o->if_contains("scope");
        auto const* life = o->if_contains("lifetime_s");
        auto const* at = o->if_contains("expires_at_ms");
        if (!value || !value->is_string() || !type || !type->is_string() || !scope || !scope->is_string() || !life ||
            !life->is_int64() || !at || !at->is_int64())
            return std::nullopt;
        stored_token t;
        t.token.value = secret(std::string(value->get_string()));
        t.token.token_type = std::string(type->get_string());
        t.token.scope = std::string(scope->get_string());
        t.token.expires_in = std::chrono::seconds(life->get_int64());
        t.expires_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(at->get_int64()));
        return t;
    }

    std::string key_name_;
    std::array<unsigned char, 32> key_{};
    bool ok_ = false;
};

} // namespace oic::redis::detail
