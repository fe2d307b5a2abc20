#pragma once
/// @file
/// TLS for every client of the library, the HTTP session and the Redis link alike: one context per
/// CA file, one way to check the server, one reading of OpenSSL's errors.

#include <oic/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace oic::detail {

/**
 * The TLS client context for a CA file, shared by every session and store that names it. Loading
 * the system store takes tens of milliseconds of CPU, too much to pay per session; an SSL_CTX is
 * safe to share between threads. The cache holds weak references, so a CA file is read again once
 * nothing uses it any more.
 */
inline std::shared_ptr<boost::asio::ssl::context> tls_client_context(std::string const& ca_file) {
    namespace ssl = boost::asio::ssl;
    if (ca_file.find('\0') != std::string::npos) // a C API would read a shorter path
        fail(error::bad_config, "ca_file holds a NUL character");
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<ssl::context>> cache;
    std::lock_guard lock(mutex);
    if (auto ctx = cache[ca_file].lock())
        return ctx;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    ctx->set_default_verify_paths(ec); // a machine without a system store still works with ca_file
    if (!ca_file.empty() && ctx->load_verify_file(ca_file, ec))
        fail(error::bad_config, "cannot load CA file " + ca_file);
    cache[ca_file] = ctx;
    return ctx;
}

/// The first error on OpenSSL's queue (an end of stream without close_notify is
/// `stream_truncated`, as with Asio's SSL stream); the queue is left empty.
inline error_code last_tls_error() {
    unsigned long const e = ERR_get_error();
    ERR_clear_error();
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return boost::asio::ssl::error::stream_truncated;
    return e ? error_code(static_cast<int>(e), boost::asio::error::get_ssl_category())
             : error_code(boost::asio::ssl::error::stream_truncated);
}

/**
 * Makes the handshake of `ssl` check the server against `host`, the very string the connection
 * was opened to: its chain against the context's trust store, and its certificate's names: a DNS
 * name (sent as SNI too) or an IP address (matched against the certificate's IP entries, never
 * its DNS names). A failed check fails the handshake.
 */
inline error_code verify_server(SSL* ssl, std::string const& host) {
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(host, not_ip);
    bool const named = not_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) && SSL_set1_host(ssl, host.c_str());
    bool const ip = !not_ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    if (!named && !ip)
        return last_tls_error();
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    return {};
}

/**
 * Gives back the record buffers of `ssl` while its connection waits, unless they hold data:
 * `SSL_MODE_RELEASE_BUFFERS` frees them only after application data, so the handshake's write
 * buffer would stay for as long as the connection waits for its first answer. Only with an OpenSSL
 * whose `SSL_free_buffers` refuses while a record is half read (CVE-2024-4741, fixed in 3.0.14,
 * 3.1.6, 3.2.2 and 3.3.1): with an older one, the rest of that record would be read into freed memory.
 */
inline void free_idle_tls_buffers(SSL* ssl) noexcept {
    static bool const safe = [] {
        unsigned long const v = OpenSSL_version_num(); // 0xMNN00PP0: major, minor, patch
        unsigned long const major = v >> 28, minor = (v >> 20) & 0xff, patch = (v >> 4) & 0xff;
        if (major != 3)
            return major > 3;
        switch (minor) {
        case 0: return patch >= 14;
        case 1: return patch >= 6;
        case 2: return patch >= 2;
        case 3: return patch >= 1;
        default: return true;
        }
    }();
    if (safe)
        SSL_free_buffers(ssl); // refuses, harmlessly, while a buffer holds data
}

} // namespace oic::detail
