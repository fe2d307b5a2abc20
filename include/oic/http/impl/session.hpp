#pragma once
// Bodies of the session's coroutines (included at the end of oic/http/session.hpp).

#include <oic/http/session.hpp>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>

namespace oic::http {

namespace detail {

template <class Executor>
asio::awaitable<std::unique_ptr<connection<Executor>>, Executor>
connection_pool<Executor>::connect(origin const& o, asio::ssl::context& tls, clock::time_point deadline) {
    auto token = asio::as_tuple(asio::use_awaitable_t<Executor>{});
    auto const where = o.to_string();
    asio::ip::tcp::resolver resolver(ex_);
    auto [rec, endpoints] = co_await resolver.async_resolve(o.host, std::to_string(o.port), token);
    if (rec)
        fail(rec, "cannot resolve " + o.host + ": " + rec.message());

    typename connection_type::tcp_stream stream(ex_);
    stream.expires_at(deadline);
    auto [cec, ep] = co_await stream.async_connect(endpoints, token);
    if (cec)
        fail(map_transport_error(cec), "cannot connect to " + where + ": " + cec.message());
    stream.socket().set_option(asio::ip::tcp::no_delay(true));

    auto c = std::make_unique<connection_type>(o, std::move(stream), o.tls() ? &tls : nullptr);
    if (auto hec = co_await c->handshake())
        fail(map_transport_error(hec), "TLS handshake with " + where + " failed: " + hec.message());
    c->lowest_layer().expires_never();
    co_return c;
}

/// All connections are busy: wait for one to come back, but not past the call's deadline.
template <class Executor>
asio::awaitable<void, Executor> connection_pool<Executor>::wait_for_permit(origin const& o, clock::time_point deadline) {
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor> timer(ex_, deadline);
    auto [order, pec, tec] = co_await asio::experimental::make_parallel_group(permits_.async_receive(asio::deferred),
                                                                              timer.async_wait(asio::deferred))
                                 .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable_t<Executor>{});
    if (order[0] == 0 && !pec)
        co_return;
    if (!pec)
        permits_.try_send(error_code{}); // the permit arrived as the timer fired: give it back
    if (order[0] == 1 && !tec)
        fail(error::timeout, "no free connection to " + o.to_string() + " before the deadline");
    fail(pec ? pec : tec, "waiting for a free connection to " + o.to_string());
}

/// Errors that mean a kept-alive connection was closed by the server while idle.
inline bool is_stale_connection(error_code ec) {
    return ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::ssl::error::stream_truncated;
}

} // namespace detail

template <class Executor>
asio::awaitable<response, Executor> basic_session<Executor>::exchange(state& s, origin const& o, request& req,
                                                                      std::size_t limit,
                                                                      clock::time_point deadline) {
    for (bool retried = false;; retried = true) {
        auto conn = co_await s.pool.acquire(o, *s.tls, s.opts.connect_timeout, deadline);
        auto [ec, res] = co_await conn->exchange(req, limit, std::min(deadline, clock::now() + s.opts.request_timeout));
        if (!ec) {
            conn.keep_alive(res.keep_alive());
            co_return std::move(res);
        }
        if (conn.reused() && !retried && detail::is_stale_connection(ec))
            continue; // the server closed an idle connection: one more try on a fresh one
        auto const mapped = detail::map_transport_error(ec);
        std::string what = std::string(beast::http::to_string(req.method())) + " " + o.to_string() +
                           std::string(req.target().substr(0, req.target().find('?')));
        if (mapped == error::body_too_large)
            fail(mapped, what + ": answer larger than " + std::to_string(limit) + " bytes");
        fail(mapped, what + ": " + (mapped == error::timeout ? std::string("timed out") : ec.message()));
    }
}

template <class Executor>
asio::awaitable<response, Executor> basic_session<Executor>::send(urls::url url, request req, send_options so) const {
    auto const s = state_; // keeps the state alive for the whole call
    auto const deadline = clock::now() + s->opts.total_timeout;
    std::size_t const limit = so.max_body_size ? so.max_body_size : s->opts.max_body_size;

    auto const first = origin_of(url);
    if (!first)
        fail(error::bad_url, "not an http(s) URL with a host: " + redacted(url));

    // Credentials are set aside and put back on each hop only where allowed.
    std::vector<std::pair<beast::http::field, std::string>> credentials;
    for (auto f : detail::credential_fields)
        if (auto it = req.find(f); it != req.end()) {
            credentials.emplace_back(f, std::string(it->value()));
            req.erase(f);
        }
    bool const has_credentials = !credentials.empty() || so.body_has_credentials;
    if (has_credentials && !first->tls() && !is_loopback(first->host))
        fail(error::insecure_transport, "refusing to send credentials over plaintext http to " + first->to_string());

    redirect_chain chain{.original = url, .current = url, .method = req.method(),
                         .body_has_credentials = so.body_has_credentials};
    bool send_credentials = true;
    auto remembered = s->memory.lookup(*first);
    if (remembered) {
        chain.current = detail::with_origin(url, remembered->to);
        send_credentials = remembered->forward_credentials;
    }

    for (;;) {
        auto const here = *origin_of(chain.current);
        auto target = chain.current.encoded_target();
        req.target(target.empty() ? beast::string_view("/") : beast::string_view(target.data(), target.size()));
        req.set(beast::http::field::host, std::string_view(chain.current.encoded_host_and_port()));
        for (auto const& [field, value] : credentials)
            if (send_credentials)
                req.set(field, value);
            else
                req.erase(field);
        req.prepare_payload();

        bool const via_memory = remembered && chain.hops == 0;
        std::optional<response> res;
        try {
            res = co_await exchange(*s, here, req, limit, deadline);
        } catch (error_with_diagnostics const&) {
            if (!via_memory)
                throw;
        }
        // A remembered origin that fails is forgotten, and the call goes to the original URL once more.
        if (via_memory && (!res || res->result() == beast::http::status::not_found ||
                           res->result() == beast::http::status::misdirected_request)) {
            s->memory.forget(*first);
            remembered.reset();
            chain.current = url;
            send_credentials = true;
            continue;
        }
        if (!is_redirect(res->result()))
            co_return std::move(*res);

        auto const from = chain.current;
        auto step = plan_redirect(chain, res->result(), (*res)[beast::http::field::location], s->policy,
                                  s->opts.max_redirects);
        if (step.remember && step.target.encoded_target() == from.encoded_target())
            s->memory.remember({*origin_of(from), *origin_of(step.target), step.send_credentials});
        if (!step.keep_body) {
            req.body().clear();
            req.erase(beast::http::field::content_type);
        }
        req.method(step.method);
        send_credentials = step.send_credentials;
    }
}

} // namespace oic::http
