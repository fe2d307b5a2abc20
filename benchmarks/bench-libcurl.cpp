/**
 * @file bench-libcurl: the peer, what a C++ program without oic does: libcurl's multi interface
 * plus a JSON DOM. Prints one JSON row on stdout (see bench.hpp).
 *
 * Fetches a token (client credentials, `client_secret_basic`), then keeps --concurrency easy
 * handles busy on one multi handle, each doing sequential `GET --url` requests with
 * `Authorization: Bearer <token>` over kept-alive HTTP/1.1 connections, TLS verified against
 * --ca-file, and parses every body with `boost::json::parse`. For runtime_redirect it follows
 * the redirect with the credentials forwarded (CURLOPT_FOLLOWLOCATION + CURLOPT_UNRESTRICTED_AUTH):
 * two requests per call. After --warmup seconds a window of --duration seconds counts the calls
 * that complete in it; allocations count `operator new` and libcurl's own mallocs.
 *
 * Exit status: 0 ok, 1 a call failed or nothing was measured, 2 bad usage.
 */

#include "bench.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <curl/curl.h>

#include <cstring>
#include <iostream>
#include <memory>

namespace {

using namespace std::chrono_literals;
using bench::steady;

constexpr std::string_view usage =
    R"(usage: bench-libcurl --scenario NAME --url URL --token-url URL --ca-file FILE [options]

  --scenario S     list_keepalive or runtime_redirect (follows with the token forwarded)
  --concurrency N  easy handles busy at once (default 1)
  --items N        items every page must have (default 50; 0: do not check)
  --warmup S       seconds before the window opens (default 1)
  --duration S     seconds the window stays open (default 2)
  --max-requests N the window closes after this many calls (default 2000000)
)";

// libcurl's allocations count too (curl_global_init_mem): OpenSSL's are counted in neither program.
void* counting_malloc(std::size_t n) {
    bench::count_allocation();
    return std::malloc(n);
}
void counting_free(void* p) {
    std::free(p);
}
void* counting_realloc(void* p, std::size_t n) {
    bench::count_allocation();
    return std::realloc(p, n);
}
char* counting_strdup(char const* s) {
    bench::count_allocation();
    return ::strdup(s);
}
void* counting_calloc(std::size_t n, std::size_t size) {
    bench::count_allocation();
    return std::calloc(n, size);
}

struct easy_deleter {
    void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct multi_deleter {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct slist_deleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using easy_ptr = std::unique_ptr<CURL, easy_deleter>;
using multi_ptr = std::unique_ptr<CURLM, multi_deleter>;
using slist_ptr = std::unique_ptr<curl_slist, slist_deleter>;

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* body) {
    static_cast<std::string*>(body)->append(data, size * n);
    return size * n;
}

/// A handle with TLS verified against `ca_file`, HTTP/1.1, bounded in time.
easy_ptr make_easy(std::string const& url, std::string const& ca_file, std::string* body) {
    easy_ptr e(curl_easy_init());
    if (!e)
        throw std::runtime_error("curl_easy_init failed");
    curl_easy_setopt(e.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(e.get(), CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(e.get(), CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e.get(), CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e.get(), CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(e.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e.get(), CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e.get(), CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(e.get(), CURLOPT_WRITEFUNCTION, &append_body);
    curl_easy_setopt(e.get(), CURLOPT_WRITEDATA, body);
    return e;
}

/// The client credentials grant; returns the access token (kept in memory only).
std::string fetch_token(std::string const& token_url, std::string const& ca_file) {
    std::string body;
    auto const e = make_easy(token_url, ca_file, &body);
    std::string const secret = bench::random_token(); // nginx does not check it
    curl_easy_setopt(e.get(), CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e.get(), CURLOPT_USERNAME, "oic-bench");
    curl_easy_setopt(e.get(), CURLOPT_PASSWORD, secret.c_str());
    std::string const form = "grant_type=client_credentials&scope=urn%3Aopc%3Aresource%3Aconsumer%3A%3Aall";
    curl_easy_setopt(e.get(), CURLOPT_POSTFIELDS, form.c_str());
    CURLcode const rc = curl_easy_perform(e.get());
    long status = 0;
    curl_easy_getinfo(e.get(), CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200)
        throw std::runtime_error("token request failed: " + (rc != CURLE_OK ? std::string(curl_easy_strerror(rc))
                                                                            : "HTTP " + std::to_string(status)));
    boost::system::error_code ec;
    auto const v = boost::json::parse(body, ec);
    auto const* token = !ec && v.is_object() ? v.get_object().if_contains("access_token") : nullptr;
    if (!token || !token->is_string())
        throw std::runtime_error("the token answer has no access_token");
    return std::string(token->get_string());
}

/// One easy handle and the call it is doing.
struct slot {
    std::string body;
    easy_ptr easy;
    steady::time_point started;
};

} // namespace

int main(int argc, char** argv) {
    std::string scenario, url, token_url, ca_file;
    int concurrency = 1;
    std::size_t items = 50, max_requests = 0;
    double warmup = 0, duration = 0;
    try {
        bench::options const o(
            argc, argv,
            {"scenario", "url", "token-url", "ca-file", "concurrency", "items", "warmup", "duration", "max-requests"});
        if (o.help()) {
            std::cout << usage;
            return 0;
        }
        scenario = o.required("scenario");
        if (scenario != "list_keepalive" && scenario != "runtime_redirect")
            throw bench::usage_error("unknown scenario '" + scenario + "'");
        url = o.required("url");
        token_url = o.required("token-url");
        ca_file = o.required("ca-file");
        concurrency = static_cast<int>(o.number("concurrency", 1, 1, 10000));
        items = static_cast<std::size_t>(o.number("items", 50, 0, 100000));
        warmup = o.number("warmup", 1, 0, 600);
        duration = o.number("duration", 2, 0.1, 600);
        max_requests = static_cast<std::size_t>(o.number("max-requests", 2'000'000, 1, 100'000'000));
    } catch (bench::usage_error const& e) {
        std::cerr << "bench-libcurl: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, counting_malloc, counting_free, counting_realloc, counting_strdup,
                             counting_calloc) != CURLE_OK) {
        std::cerr << "bench-libcurl: curl_global_init failed\n";
        return 1;
    }
    bench::raise_fd_limit();
    int status = 1;
    try {
        slist_ptr headers;
        {
            std::string const auth = "Authorization: Bearer " + fetch_token(token_url, ca_file);
            headers.reset(curl_slist_append(nullptr, auth.c_str()));
            if (headers)
                headers.reset(curl_slist_append(headers.release(), "Accept: application/json"));
        }
        multi_ptr multi(curl_multi_init());
        if (!multi || !headers)
            throw std::runtime_error("curl_multi_init failed");
        // Room for a connection to each host per handle: runtime_redirect keeps both alive.
        curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(2 * concurrency));

        std::vector<slot> slots(static_cast<std::size_t>(concurrency));
        for (auto& s : slots) {
            s.easy = make_easy(url, ca_file, &s.body);
            curl_easy_setopt(s.easy.get(), CURLOPT_HTTPHEADER, headers.get());
            curl_easy_setopt(s.easy.get(), CURLOPT_PRIVATE, &s);
            if (scenario == "runtime_redirect") {
                curl_easy_setopt(s.easy.get(), CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(s.easy.get(), CURLOPT_UNRESTRICTED_AUTH, 1L); // --location-trusted
                curl_easy_setopt(s.easy.get(), CURLOPT_MAXREDIRS, 5L);
            }
        }
        auto const start = [&](slot& s) {
            s.body.clear();
            s.started = steady::now();
            curl_multi_add_handle(multi.get(), s.easy.get());
        };

        bench::window w(max_requests);
        auto const t0 = steady::now();
        auto const open_at = t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warmup));
        auto const close_at =
            open_at + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(duration));
        auto const hard_stop = close_at + 60s;
        for (auto& s : slots)
            start(s);
        int active = concurrency;
        while (active > 0 && steady::now() < hard_stop) {
            auto const now = steady::now();
            if (!w.begun() && now >= open_at)
                w.begin();
            if (w.measuring() && now >= close_at)
                w.end();
            int running = 0;
            curl_multi_perform(multi.get(), &running);
            int queued = 0;
            while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
                if (msg->msg != CURLMSG_DONE)
                    continue;
                CURL* const e = msg->easy_handle;
                CURLcode const result = msg->data.result; // msg is gone once the handle is removed
                char* priv = nullptr;
                curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
                auto& s = *reinterpret_cast<slot*>(priv);
                long code = 0;
                curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
                curl_multi_remove_handle(multi.get(), e);
                bool ok = false;
                if (result != CURLE_OK) {
                    w.failed(curl_easy_strerror(result));
                } else if (code != 200) {
                    w.failed("HTTP " + std::to_string(code));
                } else {
                    boost::system::error_code ec;
                    boost::json::value const page = boost::json::parse(s.body, ec); // the DOM a C++ user builds
                    auto const* list = !ec && page.is_object() ? page.get_object().if_contains("items") : nullptr;
                    if (!list || !list->is_array() || (items && list->get_array().size() != items)) {
                        w.failed("the answer is not a page of " + std::to_string(items) + " items");
                    } else {
                        ok = true;
                        w.completed(s.started);
                    }
                }
                if (ok && !w.finished())
                    start(s);
                else
                    --active;
            }
            if (active > 0)
                curl_multi_poll(multi.get(), nullptr, 0, 10, nullptr);
        }
        w.end();
        for (auto& s : slots)
            curl_multi_remove_handle(multi.get(), s.easy.get()); // harmless for handles not attached
        slots.clear();                                           // easy handles before the multi handle
        status = bench::print_row(w.result(scenario, "libcurl", concurrency));
    } catch (std::exception const& e) {
        std::cerr << "bench-libcurl: " << e.what() << '\n';
        status = 1;
    }
    curl_global_cleanup();
    return status;
}
