#pragma once
/**
 * @file
 * An in-memory test certificate authority for TLS test doubles.
 *
 * Every call to @ref oic::testing::make_test_certificates() makes a fresh EC P-256 CA and a server
 * certificate signed by it, valid for `localhost`, `127.0.0.1`, `127.0.0.2`, `127.0.0.3` and `::1`.
 * Nothing touches the disk; callers that need a CA file write @ref oic::testing::test_certificates::ca_pem themselves.
 */

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace oic::testing {

/// PEM texts of a test CA and of one server certificate it signed.
struct test_certificates {
    std::string ca_pem;   ///< The self-signed CA certificate: what clients trust.
    std::string cert_pem; ///< The server (leaf) certificate.
    std::string key_pem;  ///< The server's private key, unencrypted PKCS#8.
};

namespace detail {

/// `std::unique_ptr` deleter calling an OpenSSL `*_free` function.
template <auto Free>
struct openssl_deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};

using evp_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<&EVP_PKEY_free>>;
using evp_pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, openssl_deleter<&EVP_PKEY_CTX_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<&X509_free>>;
using x509_extension_ptr = std::unique_ptr<X509_EXTENSION, openssl_deleter<&X509_EXTENSION_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<&BN_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<&BIO_free_all>>;

/// Throws `std::runtime_error` naming the failed step and OpenSSL's oldest queued error.
[[noreturn]] inline void throw_openssl_error(char const* what) {
    std::string message = std::string("oic::testing: ") + what + " failed";
    if (unsigned long const code = ERR_get_error(); code != 0) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        message += ": ";
        message += text;
    }
    ERR_clear_error();
    throw std::runtime_error(message);
}

inline void check(int openssl_result, char const* what) {
    if (openssl_result <= 0)
        throw_openssl_error(what);
}

inline evp_pkey_ptr make_p256_key() {
    evp_pkey_ctx_ptr const ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!ctx)
        throw_openssl_error("EVP_PKEY_CTX_new_from_name");
    check(EVP_PKEY_keygen_init(ctx.get()), "EVP_PKEY_keygen_init");
    check(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256"), "EVP_PKEY_CTX_set_group_name");
    EVP_PKEY* key = nullptr;
    check(EVP_PKEY_generate(ctx.get(), &key), "EVP_PKEY_generate");
    return evp_pkey_ptr(key);
}

/// Adds one extension written in `openssl x509 -extfile` syntax (e.g. `"critical,CA:TRUE"`).
inline void add_extension(X509* cert, X509* issuer, int nid, char const* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    x509_extension_ptr const ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (!ext)
        throw_openssl_error("X509V3_EXT_nconf_nid");
    check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

/// A v3 certificate with a random serial, valid from one hour ago for 30 days; not yet signed.
inline x509_ptr make_unsigned_certificate(EVP_PKEY* key, char const* common_name) {
    x509_ptr cert(X509_new());
    if (!cert)
        throw_openssl_error("X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

    bignum_ptr const serial(BN_new());
    if (!serial)
        throw_openssl_error("BN_new");
    check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
    if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
        throw_openssl_error("BN_to_ASN1_INTEGER");

    // An hour of slack before "now" tolerates clock skew between test processes.
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60L * 60) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 60 * 60))
        throw_openssl_error("X509_gmtime_adj");

    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<unsigned char const*>("oic testing"), -1,
                                     -1, 0),
          "X509_NAME_add_entry_by_txt");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(common_name), -1,
                                     -1, 0),
          "X509_NAME_add_entry_by_txt");
    check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
    return cert;
}

inline std::string bio_to_string(BIO* bio) {
    char* data = nullptr;
    long const size = BIO_get_mem_data(bio, &data);
    if (size < 0 || (size > 0 && data == nullptr))
        throw_openssl_error("BIO_get_mem_data");
    return std::string(data, static_cast<std::size_t>(size));
}

inline std::string to_pem(X509* cert) {
    bio_ptr const bio(BIO_new(BIO_s_mem()));
    if (!bio)
        throw_openssl_error("BIO_new");
    check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
    return bio_to_string(bio.get());
}

inline std::string to_pem(EVP_PKEY* key) {
    bio_ptr const bio(BIO_new(BIO_s_mem()));
    if (!bio)
        throw_openssl_error("BIO_new");
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM_write_bio_PrivateKey");
    return bio_to_string(bio.get());
}

} // namespace detail

/**
 * @brief Makes a fresh self-signed test CA and a server certificate signed by it.
 *
 * The CA has `basicConstraints=critical,CA:TRUE`. The server certificate has
 * `subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:::1` and
 * `extendedKeyUsage=serverAuth`. Both use EC P-256 keys and SHA-256 signatures and are valid
 * from one hour ago until 30 days from now. The CA's private key is discarded.
 *
 * @throws std::runtime_error when OpenSSL fails.
 */
inline test_certificates make_test_certificates() {
    using namespace detail;

    evp_pkey_ptr const ca_key = make_p256_key();
    x509_ptr const ca = make_unsigned_certificate(ca_key.get(), "oic mock test CA");
    check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())), "X509_set_issuer_name");
    add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
    check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()), "X509_sign");

    evp_pkey_ptr const leaf_key = make_p256_key();
    x509_ptr const leaf = make_unsigned_certificate(leaf_key.get(), "localhost");
    check(X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get())), "X509_set_issuer_name");
    add_extension(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_extension(leaf.get(), ca.get(), NID_subject_alt_name,
                  "DNS:localhost,IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:::1");
    add_extension(leaf.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_extension(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()), "X509_sign");

    return test_certificates{to_pem(ca.get()), to_pem(leaf.get()), to_pem(leaf_key.get())};
}

/**
 * @brief Configures `ctx` to serve `certs`' server certificate (TLS 1.2 and newer only).
 *
 * @throws boost::system::system_error when the PEM texts are rejected.
 */
inline void use_test_certificates(boost::asio::ssl::context& ctx, test_certificates const& certs) {
    namespace ssl = boost::asio::ssl;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain(boost::asio::buffer(certs.cert_pem));
    ctx.use_private_key(boost::asio::buffer(certs.key_pem), ssl::context::pem);
}

/// Makes a TLS server context that presents `certs`' server certificate.
inline boost::asio::ssl::context make_test_server_context(test_certificates const& certs) {
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
    use_test_certificates(ctx, certs);
    return ctx;
}

/// Makes `ctx` (a client context) trust `certs`' CA, in addition to what it already trusts.
inline void trust_test_ca(boost::asio::ssl::context& ctx, test_certificates const& certs) {
    ctx.add_certificate_authority(boost::asio::buffer(certs.ca_pem));
}

} // namespace oic::testing
