#pragma once
/**
 * @file The mock server's implementation: four listeners on one thread, their routes, and the knobs
 * tests turn. Included by `mock_server.hpp` (header-only) or compiled once (see there).
 */

#include <oic/testing/mock_server.hpp>

#include <oic/testing/detail/connection_catalog.hpp>
#include <oic/testing/detail/http_server.hpp>
#include <oic/testing/detail/integration_catalog.hpp>
#include <oic/testing/detail/monitoring_catalog.hpp>
#include <oic/testing/detail/multipart_reader.hpp>
#include <oic/testing/detail/token_endpoint.hpp>
#include <oic/testing/test_ca.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>

namespace oic::testing {

namespace detail {

/// `scheme://host:port`, with IPv6 hosts in brackets.
inline std::string base_url(bool tls, asio::ip::address const& address, unsigned short port) {
    std::string const host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return (tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

/// Whether `path` is under `/ic/api/` (at least one segment after it), as the Developer API is.
inline bool is_developer_api_path(urls::segments_view path) {
    auto it = path.begin();
    for (std::string_view const expected : {"ic", "api"}) {
        if (it == path.end() || *it != expected)
            return false;
        ++it;
    }
    return it != path.end();
}

/// `text` with every occurrence of `pattern` (not empty) replaced by `replacement`.
inline std::string replace_all(std::string_view text, std::string_view pattern, std::string_view replacement) {
    std::string out;
    for (;;) {
        auto const at = text.find(pattern);
        out.append(text.substr(0, at));
        if (at == std::string_view::npos)
            return out;
        out.append(replacement);
        text.remove_prefix(at + pattern.size());
    }
}

/// An Oracle-style error `code` for an HTTP status: its reason phrase without spaces ("NotFound").
inline std::string status_code_name(unsigned status) {
    if (http::int_to_status(status) == http::status::unknown)
        return "Error";
    std::string name;
    for (char ch : http::obsolete_reason(http::int_to_status(status)))
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
            name.push_back(ch);
    return name;
}

/// A directory that is removed on destruction if this object created it.
class scratch_directory {
public:
    /// Uses `requested` (created if missing), or creates a fresh one under the temp directory if empty.
    explicit scratch_directory(std::string const& requested) {
        if (!requested.empty()) {
            path_ = requested;
            std::filesystem::create_directories(path_);
            return;
        }
        for (int attempt = 0;; ++attempt) {
            path_ = std::filesystem::temp_directory_path() / ("oic-mock-" + random_hex(8));
            if (std::filesystem::create_directory(path_))
                break;
            if (attempt == 10)
                throw std::runtime_error("oic::testing: cannot create a directory under " +
                                         std::filesystem::temp_directory_path().string());
        }
        owned_ = true;
    }

    ~scratch_directory() {
        if (owned_) {
            std::error_code ignored;
            std::filesystem::remove_all(path_, ignored);
        }
    }

    scratch_directory(scratch_directory const&) = delete;
    scratch_directory& operator=(scratch_directory const&) = delete;

    std::filesystem::path const& path() const { return path_; }

private:
    std::filesystem::path path_;
    bool owned_ = false;
};

} // namespace detail

class mock_server::impl {
public:
    explicit impl(mock_options options)
        : options_(validated(std::move(options))), certificates_(make_test_certificates()), ca_dir_(options_.ca_dir),
          tokens_({options_.client_id, options_.client_secret, options_.scope, options_.token_lifetime}) {
        options_.ca_dir = ca_dir_.path().string();
        archive_size_ = options_.archive_size;
        honour_expect_ = options_.honour_expect;
        write_ca_file();
        if (options_.tls)
            tls_.emplace(make_test_server_context(certificates_));

        ioc_.emplace(1);
        auto const address = detail::asio::ip::make_address(options_.address);
        auto const foreign_address = detail::asio::ip::make_address(options_.foreign_address);
        auto token = detail::bind_acceptor(*ioc_, {address, options_.token_port});
        auto design = detail::bind_acceptor(*ioc_, {address, options_.design_port});
        auto runtime = detail::bind_acceptor(*ioc_, {address, options_.runtime_port});
        auto foreign = detail::bind_acceptor(*ioc_, {foreign_address, options_.foreign_port});
        options_.token_port = token.local_endpoint().port();
        options_.design_port = design.local_endpoint().port();
        options_.runtime_port = runtime.local_endpoint().port();
        options_.foreign_port = foreign.local_endpoint().port();
        token_url_ = detail::base_url(options_.tls, address, options_.token_port) + "/oauth2/v1/token";
        design_url_ = detail::base_url(options_.tls, address, options_.design_port);
        runtime_url_ = detail::base_url(options_.tls, address, options_.runtime_port);
        foreign_url_ = detail::base_url(options_.tls, foreign_address, options_.foreign_port);
        connections_.emplace(detail::make_connection_catalog(options_.connections, design_url_));
        integrations_.emplace(
            detail::make_integration_catalog(options_.integrations, design_url_, connections_->records()));
        monitoring_.emplace(detail::make_monitoring_data(options_.instances, design_url_, integrations_->records()));

        set_up_token_listener();
        set_up_design_listener();
        set_up_monitoring_routes();
        set_up_runtime_listener();
        set_up_foreign_listener();
        start(std::move(token), token_listener_, host::token);
        start(std::move(design), design_listener_, host::design);
        start(std::move(runtime), runtime_listener_, host::runtime);
        start(std::move(foreign), foreign_listener_, host::foreign);
        thread_ = std::thread([this] { run(); });
    }

    ~impl() { stop(); }

    void stop() {
        if (!thread_.joinable())
            return;
        ioc_->stop();
        thread_.join();
        // Destroys the acceptors, connections and pending handlers while the listeners still exist.
        ioc_.reset();
    }

    counters get_counters() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }

    void reset_counters() {
        std::lock_guard lock(mutex_);
        stats_ = counters{};
        stats_.most_handshakes_at_once = handshakes_; // those in progress still count
    }

    void set_handshake_latency(std::chrono::milliseconds latency) {
        std::lock_guard lock(mutex_);
        handshake_latency_ = latency;
    }

    void set_token_latency(std::chrono::milliseconds latency) {
        std::lock_guard lock(mutex_);
        token_latency_ = latency;
    }

    void set_design_latency(std::chrono::milliseconds latency) {
        std::lock_guard lock(mutex_);
        design_latency_ = latency;
    }

    // Archives.

    struct archive {
        std::size_t size = 0;
        std::shared_ptr<std::string const> bytes;
        std::string sha256;
    };

    /// Integration `id`'s archive at the current size, made once per id and size.
    archive archive_for(std::string const& id) {
        std::lock_guard lock(archive_mutex_);
        auto& a = archives_[id];
        if (a.bytes && a.size == archive_size_)
            return a;
        a = {archive_size_, std::make_shared<std::string const>(make_mock_archive(id, archive_size_)), {}};
        a.sha256 = detail::sha256_hex(*a.bytes);
        return a;
    }

    void set_archive_size(std::size_t bytes) {
        if (bytes < min_archive_size)
            throw std::invalid_argument("oic::testing::mock_server: an archive size must be at least " +
                                        std::to_string(min_archive_size) + " bytes, not " + std::to_string(bytes));
        std::lock_guard lock(archive_mutex_);
        archive_size_ = bytes;
    }

    void set_integration_locked(std::string const& id, bool locked) {
        std::lock_guard lock(archive_mutex_);
        if (locked)
            locked_.insert(id);
        else
            locked_.erase(id);
    }

    std::optional<imported_archive> last_import(std::string const& id) const {
        std::lock_guard lock(mutex_);
        auto const it = imports_.find(id);
        if (it == imports_.end())
            return std::nullopt;
        return it->second;
    }

    void set_honour_expect(bool honour) { honour_expect_ = honour; }

    void add_redirect(std::string path, unsigned status, std::string location) {
        std::lock_guard lock(mutex_);
        redirects_[std::move(path)] = redirect_entry{status, std::move(location)};
    }

    void clear_redirects() {
        std::lock_guard lock(mutex_);
        redirects_.clear();
    }

    void set_design_failure(unsigned status, int count) {
        std::lock_guard lock(mutex_);
        design_failure_status_ = status;
        design_failures_left_ = count;
    }

    std::string ready_json() const {
        return boost::json::serialize(boost::json::object{
            {"token_url", token_url_},
            {"design_url", design_url_},
            {"runtime_url", runtime_url_},
            {"foreign_url", foreign_url_},
            {"ca_file", ca_file_},
            {"client_id", options_.client_id},
            {"client_secret", options_.client_secret},
            {"scope", options_.scope},
            {"integration_instance", options_.integration_instance},
            {"counters_url", design_url_ + "/mock/counters"},
        });
    }

    // Fixed after construction; the server thread reads them without locking.
    mock_options options_;
    test_certificates certificates_;
    detail::scratch_directory ca_dir_;
    std::string ca_file_;
    std::string token_url_, design_url_, runtime_url_, foreign_url_;
    detail::token_endpoint tokens_;
    detail::fault_table faults_{options_.fault_seed}; // thread-safe

private:
    using http_request = detail::http_request;
    using http_response = detail::http_response;
    using route_context = detail::route_context;
    template <class T>
    using awaitable = detail::asio::awaitable<T>;

    /// Which of the four listeners.
    enum class host { token, design, runtime, foreign };

    /// What `add_redirect` stores.
    struct redirect_entry {
        unsigned status = 307;
        std::string location; ///< Empty: no `Location` header.
    };

    static mock_options validated(mock_options options) {
        if (options.redirect_status < 300 || options.redirect_status > 399)
            throw std::invalid_argument("oic::testing::mock_server: redirect_status must be 3xx, not " +
                                        std::to_string(options.redirect_status));
        if (options.archive_size < min_archive_size)
            throw std::invalid_argument("oic::testing::mock_server: archive_size must be at least " +
                                        std::to_string(min_archive_size) + " bytes, not " +
                                        std::to_string(options.archive_size));
        return options;
    }

    void write_ca_file() {
        ca_file_ = (ca_dir_.path() / "oic-mock-ca.pem").string();
        std::ofstream out(ca_file_, std::ios::binary | std::ios::trunc);
        out << certificates_.ca_pem;
        out.close();
        if (!out)
            throw std::runtime_error("oic::testing::mock_server: cannot write " + ca_file_);
    }

    void start(detail::tcp::acceptor acceptor, detail::listener& l, host h) {
        l.tls = tls_ ? &*tls_ : nullptr;
        l.idle_timeout = options_.idle_timeout;
        l.on_accept = [this] {
            std::lock_guard lock(mutex_);
            ++stats_.connections_accepted;
        };
        l.on_handshake = [this](bool begins) {
            std::lock_guard lock(mutex_);
            if (!begins) {
                --handshakes_;
                return std::chrono::milliseconds(0);
            }
            stats_.most_handshakes_at_once = std::max<std::uint64_t>(stats_.most_handshakes_at_once, ++handshakes_);
            return handshake_latency_;
        };
        l.intercept = [this, h](http_request const& req,
                                detail::urls::url_view target) -> std::optional<http_response> {
            if (auto answer = answer_from_redirect_table(h, req, target))
                return answer;
            // The runtime host's redirect answers on the header alone: before any body is read.
            if (h == host::runtime && detail::is_developer_api_path(target.segments()))
                return runtime_redirect(req);
            return std::nullopt;
        };
        l.honour_expect = [this] { return honour_expect_.load(); };
        l.pick_fault = [this](std::string_view path) {
            auto f = faults_.pick(path);
            if (f) {
                std::lock_guard lock(mutex_);
                ++stats_.faults_injected;
            }
            return f;
        };
        l.routes.add(detail::http::verb::get, "/mock/counters",
                     [this](route_context const& c) { return handle_counters(c); });
        detail::asio::co_spawn(*ioc_, detail::accept_loop(std::move(acceptor), l), detail::ignore_exception{});
    }

    void run() {
        for (;;) {
            try {
                ioc_->run();
                return;
            } catch (...) {
                // Handlers don't throw by design; if one ever does, keep serving the others.
            }
        }
    }

    // Routes. To add a host, add a listener member, give it routes in a set_up_* function, and bind
    // and start it in the constructor.

    void set_up_token_listener() {
        token_listener_.name = "token";
        token_listener_.routes.add(detail::http::verb::post, "/oauth2/v1/token",
                                   [this](route_context const& c) { return handle_token(c); });
    }

    /// Counts a write request (any method but GET and HEAD) for the host that received it.
    void record_write(std::uint64_t counters::*writes, http_request const& req) {
        bool const write = req.method() != detail::http::verb::get && req.method() != detail::http::verb::head;
        std::lock_guard lock(mutex_);
        stats_.*writes += write;
    }

    /// Counts request body bytes a host received.
    void record_body_bytes(std::uint64_t counters::*bytes, std::uint64_t n) {
        std::lock_guard lock(mutex_);
        stats_.*bytes += n;
    }

    void set_up_design_listener() {
        design_listener_.name = "design";
        design_listener_.on_request = [this](http_request const& req) {
            record_write(&counters::design_write_requests, req);
        };
        design_listener_.on_body_bytes = [this](std::uint64_t n) {
            record_body_bytes(&counters::design_body_bytes, n);
        };
        // Before "integrations/{id}", which "archive" would match too.
        for (auto const method : {detail::http::verb::post, detail::http::verb::put})
            design_listener_.routes.add_streamed(
                method, "/ic/api/integration/v1/integrations/archive",
                [this](route_context const& c) { return admit_design_request(c); },
                [this, method](route_context const& c) {
                    return handle_import_integration(c, method == detail::http::verb::put);
                });
        design_listener_.routes
            .add(detail::http::verb::get, "/ic/api/integration/v1/connections",
                 [this](route_context const& c) { return handle_list_connections(c); })
            .add(detail::http::verb::get, "/ic/api/integration/v1/connections/{id}",
                 [this](route_context const& c) { return handle_get_connection(c); })
            .add(detail::http::verb::get, "/ic/api/integration/v1/integrations",
                 [this](route_context const& c) { return handle_list_integrations(c); })
            .add(detail::http::verb::get, "/ic/api/integration/v1/integrations/{id}",
                 [this](route_context const& c) { return handle_get_integration(c); })
            .add(detail::http::verb::post, "/ic/api/integration/v1/integrations/{id}",
                 [this](route_context const& c) { return handle_update_integration(c); })
            .add(detail::http::verb::get, "/ic/api/integration/v1/integrations/{id}/archive",
                 [this](route_context const& c) { return handle_export_integration(c); });
    }

    void set_up_runtime_listener() {
        runtime_listener_.name = "runtime";
        runtime_listener_.on_request = [this](http_request const& req) {
            record_write(&counters::runtime_write_requests, req);
        };
        runtime_listener_.on_body_bytes = [this](std::uint64_t n) {
            record_body_bytes(&counters::runtime_body_bytes, n);
        };
        // Its only route, every `/ic/api/...` request, is the interceptor's (see `start`), which answers
        // on the header alone.
    }

    void set_up_foreign_listener() {
        foreign_listener_.name = "foreign";
        // Every request counts, whatever answers it (route, redirect table, 404 or 400).
        foreign_listener_.on_request = [this](http_request const& req) { record_foreign_request(req); };
        foreign_listener_.on_body_bytes = [this](std::uint64_t n) {
            record_body_bytes(&counters::foreign_body_bytes, n);
        };
        foreign_listener_.routes.add(detail::http::verb::get, "/ic/api/*",
                                     [this](route_context const& c) { return handle_foreign_api(c); });
    }

    // Token host.

    awaitable<http_response> handle_token(route_context const& ctx) {
        std::chrono::milliseconds latency;
        {
            std::lock_guard lock(mutex_);
            ++stats_.token_requests;
            latency = token_latency_;
        }
        if (latency.count() > 0) {
            detail::asio::steady_timer timer(co_await detail::asio::this_coro::executor, latency);
            co_await timer.async_wait(detail::asio::as_tuple(detail::asio::use_awaitable));
        }
        http_response res = tokens_.answer(ctx.request);
        {
            std::lock_guard lock(mutex_);
            ++(res.result_int() == 200 ? stats_.tokens_issued : stats_.token_failures);
        }
        res.set(detail::http::field::cache_control, "no-store");
        res.set(detail::http::field::pragma, "no-cache");
        co_return res;
    }

    // Design-time host.

    /// Counts a Developer API call and checks its token and instance; returns the refusal, if any.
    std::optional<http_response> admit_design_request(route_context const& ctx) {
        auto const authorization = ctx.request.find(detail::http::field::authorization);
        bool const has_authorization = authorization != ctx.request.end();
        std::optional<std::string_view> const token =
            has_authorization ? detail::auth_credentials(authorization->value(), "Bearer") : std::nullopt;
        bool authorized = false;
        unsigned injected_failure = 0;
        {
            std::lock_guard lock(mutex_);
            ++stats_.design_api_requests;
            if (has_authorization)
                ++stats_.design_authorization_headers;
            authorized = token && tokens_.is_valid(*token);
            if (!authorized) {
                ++stats_.unauthorized;
            } else if (design_failures_left_ > 0) {
                --design_failures_left_;
                injected_failure = design_failure_status_;
            }
        }
        if (!authorized) {
            http_response res = detail::error_response(
                401, "NotAuthenticated",
                "The required information to complete authentication was not provided or was incorrect.");
            res.set(detail::http::field::www_authenticate, token ? "Bearer error=\"invalid_token\"" : "Bearer");
            return res;
        }
        if (injected_failure != 0)
            return detail::error_response(injected_failure, detail::status_code_name(injected_failure),
                                          "The mock server was told to fail this request with HTTP " +
                                              std::to_string(injected_failure) + ".");

        auto const instance = detail::query_value(query_params(ctx), "integrationInstance");
        if (!instance)
            return detail::error_response(400, "BadRequest", "integrationInstance query parameter is required.");
        if (*instance != options_.integration_instance)
            return detail::error_response(400, "BadRequest",
                                          "integrationInstance '" + *instance + "' is not this instance ('" +
                                              options_.integration_instance + "').");
        return std::nullopt;
    }

    /// The decoded query parameters; `+` decodes to a space, as servlet containers do.
    static detail::urls::params_view query_params(route_context const& ctx) {
        return ctx.target.params(detail::urls::encoding_opts(true));
    }

    awaitable<http_response> handle_list_connections(route_context const& ctx) {
        return handle_list(ctx, *connections_, detail::connection_schema());
    }

    awaitable<http_response> handle_get_connection(route_context const& ctx) {
        return handle_get(ctx, *connections_, "Connection");
    }

    awaitable<http_response> handle_list_integrations(route_context const& ctx) {
        return handle_list(ctx, *integrations_, detail::integration_schema());
    }

    awaitable<http_response> handle_get_integration(route_context const& ctx) {
        return handle_get(ctx, *integrations_, "Integration");
    }

    /**
     * `POST /integrations/{id}` with `X-HTTP-Method-Override: PATCH` and `{"status": "ACTIVATED"}`
     * or `"CONFIGURED"`: activates or deactivates (Oracle's "Update(Activate/Deactivate) an
     * Integration"). 412 when the integration is already in that state or in none it can leave
     * (in progress); the answer is the integration as it is now.
     */
    awaitable<http_response> handle_update_integration(route_context const& ctx) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        auto const override_it = ctx.request.find("X-HTTP-Method-Override");
        if (override_it == ctx.request.end() || !detail::beast::iequals(override_it->value(), "PATCH"))
            co_return detail::error_response(400, "BadRequest",
                                             "POST on an integration needs X-HTTP-Method-Override: PATCH.");
        auto const type = ctx.request[detail::http::field::content_type];
        if (!detail::beast::iequals(type.substr(0, type.find(';')), "application/json"))
            co_return detail::error_response(415, "UnsupportedMediaType", "The body must be application/json.");
        boost::system::error_code ec;
        auto const body = boost::json::parse(ctx.request.body(), ec);
        auto const* status = !ec && body.is_object() ? body.as_object().if_contains("status") : nullptr;
        if (!status || !status->is_string() ||
            (status->get_string() != "ACTIVATED" && status->get_string() != "CONFIGURED"))
            co_return detail::error_response(400, "BadRequest",
                                             "The body must be {\"status\": \"ACTIVATED\"} or "
                                             "{\"status\": \"CONFIGURED\"}.");
        std::string const wanted(status->get_string());
        std::unique_lock lock(catalog_mutex_);
        auto* record = integrations_->find_mutable(ctx.params["id"]);
        if (!record)
            co_return detail::error_response(404, "NotFound",
                                             "Integration '" + std::string(ctx.params["id"]) + "' was not found.");
        if (record->status == wanted || record->status == "INPROGRESS")
            co_return detail::error_response(412, "PreconditionFailed",
                                             "Integration '" + record->id + "' is " + record->status +
                                                 ": it cannot be " +
                                                 (wanted == "ACTIVATED" ? "activated" : "deactivated") + " now.");
        record->status = wanted;
        record->json["status"] = wanted;
        co_return detail::json_response(200, record->json);
    }

    /// `GET /integrations/{id}/archive`: the archive as `application/octet-stream`; 404 for an
    /// unknown integration, 423 for a locked one.
    awaitable<http_response> handle_export_integration(route_context const& ctx) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        std::string const id(ctx.params["id"]);
        {
            std::shared_lock lock(catalog_mutex_);
            if (!integrations_->find(id))
                co_return detail::error_response(404, "NotFound", "Integration '" + id + "' was not found.");
        }
        {
            std::lock_guard lock(archive_mutex_);
            if (locked_.contains(id))
                co_return detail::error_response(423, "Locked",
                                                 "Integration '" + id + "' is locked: it cannot be exported now.");
        }
        auto const a = archive_for(id);
        http_response res{detail::http::status::ok, 11};
        res.set(detail::http::field::content_type, "application/octet-stream");
        std::string file = id;
        std::replace(file.begin(), file.end(), '|', '_');
        res.set(detail::http::field::content_disposition, "attachment; filename=\"" + file + ".iar\"");
        res.set("X-Content-SHA256", a.sha256);
        res.body() = *a.bytes;
        co_return res;
    }

    /// The integration id an uploaded archive names on its first line, `OIC-MOCK-IAR CODE|VERSION`.
    static std::optional<std::string> archive_id(detail::multipart_upload const& upload) {
        constexpr std::string_view magic = "OIC-MOCK-IAR ";
        if (!upload.first_line_ended || !upload.first_line.starts_with(magic))
            return std::nullopt;
        std::string id = upload.first_line.substr(magic.size());
        auto const bar = id.find('|');
        if (bar == std::string::npos || bar == 0 || bar + 1 == id.size() || id.find('|', bar + 1) != std::string::npos)
            return std::nullopt;
        for (char c : id)
            if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
                return std::nullopt;
        return id;
    }

    /**
     * `POST /integrations/archive` ("Import(Add) an Integration", `replace` false) and `PUT
     * /integrations/archive` ("Import(Replace) an Integration"): the token was checked on the
     * header, the form read and accepted (its `file` part is `ctx.upload`). POST: 204 with
     * `Location`, 409 when the integration exists; PUT: 200 with the integration, 404 when it does
     * not exist, 423 when it is locked; 400 for a file that is not a mock archive.
     */
    awaitable<http_response> handle_import_integration(route_context const& ctx, bool replace) {
        auto const& upload = *ctx.upload;
        auto const id = archive_id(upload);
        if (!id)
            co_return detail::error_response(400, "BadRequest",
                                             "The file is not an integration archive: its first line is not "
                                             "'OIC-MOCK-IAR CODE|VERSION'.");
        bool locked = false;
        {
            std::lock_guard lock(archive_mutex_);
            locked = locked_.contains(*id);
        }
        http_response res;
        {
            std::unique_lock lock(catalog_mutex_);
            auto const* existing = integrations_->find(*id);
            if (!replace) {
                if (existing)
                    co_return detail::error_response(409, "Conflict", "Integration '" + *id + "' already exists.");
                using namespace std::chrono;
                integrations_->add(
                    detail::make_imported_integration(*id, design_url_, floor<seconds>(system_clock::now())));
                res = detail::make_response(204);
                res.set(detail::http::field::location,
                        design_url_ + "/ic/api/integration/v1/integrations/" + detail::integration_path_segment(*id));
            } else {
                if (!existing)
                    co_return detail::error_response(404, "NotFound", "Integration '" + *id + "' was not found.");
                if (locked)
                    co_return detail::error_response(423, "Locked",
                                                     "Integration '" + *id + "' is locked: it cannot be replaced now.");
                res = detail::json_response(200, existing->json);
            }
        }
        {
            std::lock_guard lock(mutex_);
            auto& record = imports_[*id];
            record = imported_archive{upload.size, upload.sha256, upload.filename, record.imports + 1};
        }
        co_return res;
    }

    template <class Record>
    awaitable<http_response> handle_list(route_context const& ctx, detail::catalog<Record> const& catalog,
                                         detail::list_schema const& schema) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        std::chrono::milliseconds latency;
        {
            std::lock_guard lock(mutex_);
            latency = design_latency_;
        }
        if (latency.count() > 0) {
            detail::asio::steady_timer timer(co_await detail::asio::this_coro::executor, latency);
            co_await timer.async_wait(detail::asio::as_tuple(detail::asio::use_awaitable));
        }
        auto request = detail::parse_list_request(query_params(ctx), schema);
        if (auto const* error = std::get_if<detail::query_error>(&request))
            co_return detail::error_response(400, "BadRequest", error->message);
        std::shared_lock lock(catalog_mutex_);
        co_return detail::json_response(200, catalog.list(std::get<detail::list_request>(request)));
    }

    template <class Record>
    awaitable<http_response> handle_get(route_context const& ctx, detail::catalog<Record> const& catalog,
                                        std::string_view what) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        std::string_view const id = ctx.params["id"];
        std::shared_lock lock(catalog_mutex_);
        if (auto const* record = catalog.find(id))
            co_return detail::json_response(200, record->json);
        co_return detail::error_response(404, "NotFound",
                                         std::string(what) + " '" + std::string(id) + "' was not found.");
    }

    // Runtime host.

    /// Every `/ic/api/...` request: a redirect to the same path and query on the design-time host.
    http_response runtime_redirect(http_request const& req) {
        {
            std::lock_guard lock(mutex_);
            ++stats_.runtime_api_requests;
            ++stats_.redirects;
            if (req.find(detail::http::field::authorization) != req.end())
                ++stats_.runtime_authorization_headers;
        }
        http_response res = detail::make_response(options_.redirect_status);
        res.set(detail::http::field::location, design_url_ + std::string(req.target()));
        return res;
    }

    // Foreign host.

    void record_foreign_request(http_request const& req) {
        record_write(&counters::foreign_write_requests, req);
        std::lock_guard lock(mutex_);
        ++stats_.foreign_requests;
        if (req.find(detail::http::field::authorization) != req.end())
            ++stats_.foreign_authorization_headers;
    }

    awaitable<http_response> handle_foreign_api(route_context const&) {
        co_return detail::json_response(200, boost::json::object{
                                                 {"items", boost::json::array{}},
                                                 {"hasMore", false},
                                                 {"totalResults", 0},
                                             });
    }

    // Every host.

    awaitable<http_response> handle_counters(route_context const&) {
        co_return detail::json_response(200, to_json(get_counters()));
    }

    /// The redirect table's answer to `req` on host `h`, or nothing when no entry has its path.
    std::optional<http_response> answer_from_redirect_table(host h, http_request const& req,
                                                            detail::urls::url_view target) {
        redirect_entry entry;
        {
            std::lock_guard lock(mutex_);
            if (redirects_.empty())
                return std::nullopt;
            auto const it = redirects_.find(std::string(target.encoded_path()));
            if (it == redirects_.end())
                return std::nullopt;
            entry = it->second;

            // The host received the request even though its routes never see it.
            bool const has_authorization = req.find(detail::http::field::authorization) != req.end();
            bool const api = detail::is_developer_api_path(target.segments());
            ++stats_.redirects;
            switch (h) {
            case host::token:
                if (req.method() == detail::http::verb::post &&
                    std::string_view(target.encoded_path()) == "/oauth2/v1/token")
                    ++stats_.token_requests;
                break;
            case host::design:
                if (api) {
                    ++stats_.design_api_requests;
                    if (has_authorization)
                        ++stats_.design_authorization_headers;
                }
                break;
            case host::runtime:
                if (api) {
                    ++stats_.runtime_api_requests;
                    if (has_authorization)
                        ++stats_.runtime_authorization_headers;
                }
                break;
            case host::foreign: break; // record_foreign_request() counted it already
            }
        }
        http_response res = detail::make_response(entry.status);
        if (!entry.location.empty())
            res.set(detail::http::field::location,
                    detail::replace_all(entry.location, "{query}", std::string_view(target.encoded_query())));
        return res;
    }

    // Monitoring (design-time host): errored instances, resubmitting them, instances.

    void set_up_monitoring_routes() {
        design_listener_.routes
            .add(detail::http::verb::get, "/ic/api/integration/v1/monitoring/errors",
                 [this](route_context const& c) { return handle_list_monitoring(c, true); })
            .add(detail::http::verb::post, "/ic/api/integration/v1/monitoring/errors/resubmit",
                 [this](route_context const& c) { return handle_resubmit_many(c); })
            .add(detail::http::verb::post, "/ic/api/integration/v1/monitoring/errors/{id}/resubmit",
                 [this](route_context const& c) { return handle_resubmit_one(c); })
            .add(detail::http::verb::get, "/ic/api/integration/v1/monitoring/instances",
                 [this](route_context const& c) { return handle_list_monitoring(c, false); });
    }

    /// `GET /monitoring/errors` (only instances still errored) or `GET /monitoring/instances`.
    awaitable<http_response> handle_list_monitoring(route_context const& ctx, bool errors) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        auto request = detail::parse_list_request(query_params(ctx), errors ? detail::errored_instance_schema()
                                                                            : detail::integration_instance_schema());
        if (auto const* error = std::get_if<detail::query_error>(&request))
            co_return detail::error_response(400, "BadRequest", error->message);
        auto list = detail::without_time_window(std::move(std::get<detail::list_request>(request)));
        std::shared_lock lock(catalog_mutex_);
        if (!errors)
            co_return detail::json_response(200, monitoring_->instances.list(list));
        list.filter.conditions.push_back({"status", "FAILED", false}); // a resubmitted one is no longer errored
        co_return detail::json_response(200, monitoring_->errors.list(list));
    }

    /// The JSON object of a write call's body, or the 400/415 answer that refuses it.
    static std::variant<boost::json::object, http_response> json_object_body(route_context const& ctx,
                                                                             std::string_view what) {
        auto const type = ctx.request[detail::http::field::content_type];
        if (!detail::beast::iequals(type.substr(0, type.find(';')), "application/json"))
            return detail::error_response(415, "UnsupportedMediaType", "The body must be application/json.");
        boost::system::error_code ec;
        auto body = boost::json::parse(ctx.request.body(), ec);
        if (ec || !body.is_object())
            return detail::error_response(400, "BadRequest", "The body must be a JSON object: " + std::string(what));
        return std::move(body.as_object());
    }

    std::string next_recovery_job_id() {
        std::lock_guard lock(mutex_);
        return std::to_string(++recovery_jobs_);
    }

    /**
     * `POST /monitoring/errors/{id}/resubmit` (Oracle's "Resubmit an Errored Integration Instance"),
     * without a body or with `{"recoveryTraceLevel": "Production"|"Audit"|"Debug"}`: 200 with
     * Oracle's `ErrorResubmitRs`; 404 for an unknown id, 412 for one that is not recoverable or no
     * longer errored.
     */
    awaitable<http_response> handle_resubmit_one(route_context const& ctx) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        if (!ctx.request.body().empty()) {
            auto body = json_object_body(ctx, "{\"recoveryTraceLevel\": \"Audit\"} or nothing.");
            if (auto* refusal = std::get_if<http_response>(&body))
                co_return std::move(*refusal);
            auto const& object = std::get<boost::json::object>(body);
            auto const* level = object.if_contains("recoveryTraceLevel");
            if (level && (!level->is_string() || (level->get_string() != "Production" &&
                                                  level->get_string() != "Audit" && level->get_string() != "Debug")))
                co_return detail::error_response(400, "BadRequest",
                                                 "recoveryTraceLevel must be Production, Audit or Debug.");
        }
        std::string const id(ctx.params["id"]);
        detail::resubmit_outcome outcome;
        {
            std::unique_lock lock(catalog_mutex_);
            outcome = detail::resubmit(*monitoring_, id);
        }
        switch (outcome) {
        case detail::resubmit_outcome::not_found:
            co_return detail::error_response(404, "NotFound", "Errored instance '" + id + "' was not found.");
        case detail::resubmit_outcome::not_recoverable:
            co_return detail::error_response(412, "PreconditionFailed",
                                             "Errored instance '" + id +
                                                 "' is not recoverable: it cannot be resubmitted.");
        case detail::resubmit_outcome::not_errored:
            co_return detail::error_response(412, "PreconditionFailed",
                                             "Instance '" + id + "' was resubmitted already: it is not errored now.");
        case detail::resubmit_outcome::accepted: break;
        }
        co_return detail::json_response(200, boost::json::object{
                                                 {"message", "Resubmit of instance '" + id + "' requested."},
                                                 {"recovery-job-id", next_recovery_job_id()},
                                                 {"resubmit-successful", true},
                                             });
    }

    /**
     * `POST /monitoring/errors/resubmit` with `{"ids": [...]}` (Oracle's "Resubmit Errored
     * Integration Instances"; ids as strings or integers): 202 with Oracle's `ErrorsBulkResubmitRs`,
     * each id accepted, invalid (unknown, or no longer errored) or non-recoverable. A malformed
     * body, or no ids, is 400.
     */
    awaitable<http_response> handle_resubmit_many(route_context const& ctx) {
        if (auto refusal = admit_design_request(ctx))
            co_return std::move(*refusal);
        auto body = json_object_body(ctx, "{\"ids\": [\"id\", ...]}.");
        if (auto* refusal = std::get_if<http_response>(&body))
            co_return std::move(*refusal);
        auto const* ids = std::get<boost::json::object>(body).if_contains("ids");
        if (!ids || !ids->is_array() || ids->get_array().empty())
            co_return detail::error_response(400, "BadRequest", "The body must hold a non-empty array \"ids\".");
        std::vector<std::string> wanted;
        for (auto const& id : ids->get_array()) {
            if (id.is_string())
                wanted.emplace_back(id.get_string());
            else if (id.is_int64() || id.is_uint64())
                wanted.push_back(boost::json::serialize(id));
            else
                co_return detail::error_response(400, "BadRequest", "Each of \"ids\" must be a string or an integer.");
        }
        boost::json::array accepted, invalid, non_recoverable;
        {
            std::unique_lock lock(catalog_mutex_);
            for (auto const& id : wanted) {
                switch (detail::resubmit(*monitoring_, id)) {
                case detail::resubmit_outcome::accepted: accepted.emplace_back(id); break;
                case detail::resubmit_outcome::not_recoverable: non_recoverable.emplace_back(id); break;
                case detail::resubmit_outcome::not_found:
                case detail::resubmit_outcome::not_errored: invalid.emplace_back(id); break;
                }
            }
        }
        std::size_t const count = accepted.size();
        boost::json::object answer{
            {"accepted-ids", std::move(accepted)},
            {"invalid-ids", std::move(invalid)},
            {"non-recoverable-ids", std::move(non_recoverable)},
            {"message", std::to_string(count) + " of " + std::to_string(wanted.size()) + " instances resubmitted."},
            {"resubmit-requested", count > 0},
            {"resubmitted-instances-count", count},
        };
        if (count > 0)
            answer["recovery-job-id"] = next_recovery_job_id();
        co_return detail::json_response(202, answer);
    }

    std::optional<detail::monitoring_data> monitoring_; // under catalog_mutex_: a resubmit changes it
    std::uint64_t recovery_jobs_ = 0;                   // under mutex_

    mutable std::shared_mutex catalog_mutex_; // activation changes an integration's status
    std::optional<detail::catalog<detail::connection_record>> connections_;
    std::optional<detail::catalog<detail::integration_record>> integrations_;
    std::optional<detail::asio::ssl::context> tls_;
    detail::listener token_listener_, design_listener_, runtime_listener_, foreign_listener_;

    // Shared between the server thread and callers.
    mutable std::mutex mutex_;
    counters stats_;
    std::chrono::milliseconds token_latency_{0};
    std::chrono::milliseconds design_latency_{0};
    std::chrono::milliseconds handshake_latency_{0}; // guarded by mutex_
    std::uint64_t handshakes_ = 0;                   // TLS handshakes in progress; guarded by mutex_
    std::unordered_map<std::string, redirect_entry> redirects_;
    unsigned design_failure_status_ = 0;
    int design_failures_left_ = 0;
    std::unordered_map<std::string, imported_archive> imports_;
    std::atomic<bool> honour_expect_{true};

    std::mutex archive_mutex_;
    std::size_t archive_size_ = 0;
    std::unordered_map<std::string, archive> archives_;
    std::set<std::string> locked_;

    // Last, so that stop() can destroy it while everything above is alive.
    std::optional<detail::asio::io_context> ioc_;
    std::thread thread_;
};

OIC_TESTING_DECL mock_server::mock_server(mock_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
OIC_TESTING_DECL mock_server::~mock_server() = default;
OIC_TESTING_DECL void mock_server::stop() {
    impl_->stop();
}

OIC_TESTING_DECL std::string mock_server::token_url() const {
    return impl_->token_url_;
}
OIC_TESTING_DECL std::string mock_server::design_url() const {
    return impl_->design_url_;
}
OIC_TESTING_DECL std::string mock_server::runtime_url() const {
    return impl_->runtime_url_;
}
OIC_TESTING_DECL std::string mock_server::foreign_url() const {
    return impl_->foreign_url_;
}
OIC_TESTING_DECL std::string mock_server::ca_file() const {
    return impl_->ca_file_;
}
OIC_TESTING_DECL std::string const& mock_server::ca_pem() const {
    return impl_->certificates_.ca_pem;
}
OIC_TESTING_DECL mock_options const& mock_server::options() const {
    return impl_->options_;
}

OIC_TESTING_DECL counters mock_server::get_counters() const {
    return impl_->get_counters();
}
OIC_TESTING_DECL void mock_server::reset_counters() {
    impl_->reset_counters();
}
OIC_TESTING_DECL void mock_server::revoke_tokens() {
    impl_->tokens_.revoke_all();
}

OIC_TESTING_DECL void mock_server::set_token_failure(unsigned status) {
    if (status != 0 && (status < 400 || status > 599))
        throw std::invalid_argument("oic::testing::mock_server: token failure status must be 4xx or 5xx");
    impl_->tokens_.set_failure(status);
}

OIC_TESTING_DECL void mock_server::set_token_latency(std::chrono::milliseconds latency) {
    impl_->set_token_latency(latency);
}

OIC_TESTING_DECL void mock_server::set_design_latency(std::chrono::milliseconds latency) {
    impl_->set_design_latency(latency);
}
OIC_TESTING_DECL void mock_server::set_handshake_latency(std::chrono::milliseconds latency) {
    impl_->set_handshake_latency(latency);
}

OIC_TESTING_DECL std::string sha256_hex(std::string_view bytes) {
    return detail::sha256_hex(bytes);
}

OIC_TESTING_DECL void mock_server::set_archive_size(std::size_t bytes) {
    impl_->set_archive_size(bytes);
}
OIC_TESTING_DECL std::string mock_server::archive_sha256(std::string const& id) const {
    return impl_->archive_for(id).sha256;
}
OIC_TESTING_DECL void mock_server::set_integration_locked(std::string const& id, bool locked) {
    impl_->set_integration_locked(id, locked);
}
OIC_TESTING_DECL std::optional<imported_archive> mock_server::last_import(std::string const& id) const {
    return impl_->last_import(id);
}
OIC_TESTING_DECL void mock_server::set_honour_expect(bool honour) {
    impl_->set_honour_expect(honour);
}

OIC_TESTING_DECL std::string make_mock_archive(std::string const& id, std::size_t size) {
    if (id.empty() ||
        std::any_of(id.begin(), id.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        throw std::invalid_argument("oic::testing::make_mock_archive: the id must not be empty nor hold control bytes");
    std::string bytes = "OIC-MOCK-IAR " + id;
    if (bytes.size() > detail::multipart_reader::max_first_line)
        throw std::invalid_argument("oic::testing::make_mock_archive: the id is too long for the archive's first line");
    bytes += '\n';
    if (size < bytes.size())
        throw std::invalid_argument("oic::testing::make_mock_archive: " + std::to_string(size) +
                                    " bytes cannot hold the first line, " + std::to_string(bytes.size()) + " bytes");
    std::size_t const line = bytes.size();
    bytes.resize(size);
    std::uint64_t x = std::hash<std::string>{}(id) | 1;
    for (std::size_t i = line; i < size; ++i) { // xorshift: bytes that do not compress, different per id
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes[i] = static_cast<char>(x);
    }
    return bytes;
}

OIC_TESTING_DECL void mock_server::add_redirect(std::string path, unsigned status, std::string location) {
    if (!path.starts_with('/') || path.find_first_of("?#") != std::string::npos)
        throw std::invalid_argument("oic::testing::mock_server: a redirect path must start with '/' and "
                                    "have no query or fragment, not '" +
                                    path + "'");
    if (status < 300 || status > 399)
        throw std::invalid_argument("oic::testing::mock_server: a redirect status must be 3xx, not " +
                                    std::to_string(status));
    if (location.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        throw std::invalid_argument("oic::testing::mock_server: a redirect Location must not contain "
                                    "CR, LF or NUL");
    impl_->add_redirect(std::move(path), status, std::move(location));
}

OIC_TESTING_DECL void mock_server::clear_redirects() {
    impl_->clear_redirects();
}

OIC_TESTING_DECL void mock_server::set_design_failure(unsigned status, int count) {
    if (count < 0)
        throw std::invalid_argument("oic::testing::mock_server: design failure count must not be negative");
    if (count > 0 && (status < 400 || status > 599))
        throw std::invalid_argument("oic::testing::mock_server: design failure status must be 4xx or 5xx");
    impl_->set_design_failure(status, count);
}

OIC_TESTING_DECL void mock_server::add_fault(std::string path_prefix, fault f) {
    if (!path_prefix.starts_with('/'))
        throw std::invalid_argument("oic::testing::mock_server: a fault's path prefix must start with '/', not '" +
                                    path_prefix + "'");
    if (f.kind == fault_kind::status && (f.status < 400 || f.status > 599))
        throw std::invalid_argument("oic::testing::mock_server: a fault status must be 4xx or 5xx, not " +
                                    std::to_string(f.status));
    if (f.retry_after.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        throw std::invalid_argument("oic::testing::mock_server: Retry-After must not contain CR, LF or NUL");
    if (f.count < -1 || !(f.probability >= 0 && f.probability <= 1) || f.delay.count() < 0)
        throw std::invalid_argument("oic::testing::mock_server: a fault's count must be -1 or more, its "
                                    "probability in [0, 1] and its delay not negative");
    impl_->faults_.add(std::move(path_prefix), std::move(f));
}

OIC_TESTING_DECL void mock_server::clear_faults() {
    impl_->faults_.clear();
}

OIC_TESTING_DECL std::string mock_server::ready_json() const {
    return impl_->ready_json();
}

} // namespace oic::testing
