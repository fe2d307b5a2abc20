#pragma once
// Bodies of the session's coroutines (included at the end of oic/http/session.hpp).

#include <oic/http/session.hpp>

#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>

namespace oic::http {

template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, response>, Executor>
basic_session<Executor, Connector>::exchange(state& s, origin const& o, request& req, detail::read_limits limits,
                                             body_sink* sink, body_source* source, clock::duration exchange_timeout,
                                             clock::time_point deadline, bool resendable,
                                             detail::exchange_progress& progress, diagnostics& diag) {
    progress = {};
    auto failed = [&](error_code ec, std::string message) {
        return std::tuple{oic::detail::report(diag, ec, std::move(message)), response{}};
    };
    for (bool retried = false;; retried = true) {
        auto [aec, conn] = co_await s.pool.acquire(o, *s.tls, s.opts.connect_timeout, deadline, diag);
        if (aec)
            co_return std::tuple{aec, response{}};
        auto [ec, res] = co_await conn->exchange(req, limits, std::min(deadline, clock::now() + exchange_timeout), sink,
                                                 {source, s.opts.expect_continue_wait});
        auto const cancellation = co_await asio::this_coro::cancellation_state; // not a temporary: GCC 12
        if (detail::cancelled(cancellation))                                    // the connection is not kept
            co_return failed(asio::error::operation_aborted,
                             std::string(beast::http::to_string(req.method())) + " " + o.to_string() + ": cancelled");
        if (!ec) {
            // An answer that came while the body was still going leaves the request unfinished.
            conn.keep_alive(res.keep_alive() && conn->drained() && !conn->interrupted() && conn->request_whole());
            co_return std::tuple{error_code{}, std::move(res)};
        }
        progress = {conn->request_written(), conn->answer_started()};
        // The server closed an idle connection: one more try on a fresh one, if the request may go twice.
        if (conn.reused() && !retried && !progress.answer_started && detail::is_stale_connection(ec) &&
            (resendable || !progress.request_written))
            continue;
        auto const mapped = oic::detail::map_transport_error(ec);
        std::string what = std::string(beast::http::to_string(req.method())) + " " + o.to_string() +
                           std::string(req.target().substr(0, req.target().find('?')));
        if (conn->source_failed())
            co_return failed(ec, what + ": the request body failed: " + source->describe(ec));
        if (mapped == error::body_not_replayable)
            co_return failed(mapped, what + ": the request body was sent once and cannot be read again (its source "
                                            "cannot rewind), and a redirect (307, 308) or a retry needs it");
        if (mapped == error::body_too_large)
            co_return failed(mapped, what + ": answer larger than " +
                                         std::to_string(sink ? limits.sink_body : limits.body) + " bytes" +
                                         (sink ? " (send_options::max_body_size)" : ""));
        if (mapped == error::response_too_large)
            co_return failed(mapped, what + ": header, chunk framing or trailers larger than the read limits (" +
                                         std::to_string(limits.header) + " bytes of header, " +
                                         std::to_string(s.opts.read_buffer_size) + " bytes of read buffer)");
        co_return failed(mapped, what + ": " + (mapped == error::timeout ? std::string("timed out") : ec.message()));
    }
}

template <class Executor, class Connector>
asio::awaitable<std::tuple<error_code, reply>, Executor>
basic_session<Executor, Connector>::do_send(std::shared_ptr<state> s, urls::url url, request req, send_options so,
                                            diagnostics& diag) {
    using oic::detail::report;
    auto failed = [](error_code ec) { return std::tuple{ec, reply{}}; };
    auto const first = origin_of(url);
    if (!first)
        co_return failed(
            report(diag, error::bad_url, "not an http(s) URL with a plain host name or IP address: " + redacted(url)));
    if (so.source && !req.body().empty())
        co_return failed(report(diag, error::bad_config, "a request has a body in memory and a body source"));
    body_source* source = so.source; // none after a 303
    auto const timeout = so.timeout > clock::duration::zero() ? so.timeout : s->opts.total_timeout;
    auto const exchange_timeout = so.timeout > clock::duration::zero() ? so.timeout : s->opts.request_timeout;
    auto const deadline = clock::now() + timeout;
    constexpr std::uint64_t sink_default = std::uint64_t{2} << 30;
    detail::read_limits const limits{.body = so.sink || !so.max_body_size ? s->opts.max_body_size
                                                                          : static_cast<std::size_t>(so.max_body_size),
                                     .header = s->opts.max_header_size,
                                     .sink_body = !so.sink           ? 0
                                                  : so.max_body_size ? so.max_body_size
                                                                     : sink_default};

    bool const has_credentials = std::any_of(std::begin(detail::credential_fields), std::end(detail::credential_fields),
                                             [&](beast::http::field f) { return req.count(f) > 0; });
    // Credentials stay in the request while every hop may carry them. A hop that withholds them
    // takes them out, set aside for a restart from the first URL (a remembered hop that failed).
    std::vector<std::pair<beast::http::field, std::string>> set_aside;
    detail::send_machine::settings const settings{.has_credentials = has_credentials,
                                                  .body_has_credentials = so.body_has_credentials,
                                                  .may_remember = so.use_redirect_memory,
                                                  .retry_safe = so.retry_safe || detail::is_idempotent(req.method()),
                                                  .credentials_pinned = so.credentials_pinned,
                                                  .retry = s->opts.retry};
    any_redirect_policy const* const policy = so.policy ? so.policy.get() : &s->policy;
    auto const kind = so.credentials_pinned ? credential_kind::client_secret : credential_kind::bearer;
    if ((settings.has_credentials || settings.body_has_credentials) && !may_send(kind, *first, *first, true))
        co_return failed(report(diag, error::insecure_transport,
                                "refusing to send credentials over plaintext http to " + first->to_string()));
    detail::send_machine machine(std::move(url), *first, req.method(), settings,
                                 so.use_redirect_memory ? s->memory.lookup(*first, so.policy) : std::nullopt,
                                 &s->budget);
    s->budget.on_call();
    for (;;) {
        auto const& chain = machine.chain();
        auto target = chain.current.encoded_target();
        req.target(target.empty() ? beast::string_view("/") : beast::string_view(target.data(), target.size()));
        req.method(chain.method);
        req.set(beast::http::field::host, chain.current_origin.authority());
        if (chain.credentials_withheld) {
            for (auto f : detail::credential_fields)
                for (auto it = req.find(f); it != req.end(); it = req.find(f)) {
                    set_aside.emplace_back(f, std::string(it->value()));
                    req.erase(it);
                }
        } else {
            for (auto const& [field, value] : set_aside)
                req.insert(field, value);
            set_aside.clear();
        }
        req.prepare_payload();
        if (source) {
            req.content_length(source->size());
            if (source->size() > s->opts.expect_continue_above)
                req.set(beast::http::field::expect, "100-continue");
        }

        detail::exchange_progress progress;
        auto [ec, res] = co_await exchange(*s, chain.current_origin, req, limits, so.sink, source, exchange_timeout,
                                           deadline, settings.retry_safe, progress, diag);
        detail::send_machine::outcome outcome{
            .ec = ec, .answer_started = progress.answer_started, .request_written = progress.request_written};
        if (!ec) {
            outcome.status = res.result();
            outcome.location = res[beast::http::field::location];
            if (auto ra = res.find(beast::http::field::retry_after); ra != res.end())
                outcome.retry_after = detail::parse_retry_after(ra->value(), std::chrono::system_clock::now());
        }
        auto const step =
            machine.on_answer(outcome, deadline - clock::now(), detail::jitter(), *policy, s->opts.max_redirects, diag);
        if (step.forget)
            s->memory.forget(*first, so.policy);
        if (step.remember)
            s->memory.remember(*step.remember, so.policy);
        switch (step.what) {
        case detail::send_machine::action::fail:
            if (machine.retries() > 0 && !diag.message.empty())
                diag.message += " (after " + std::to_string(machine.retries()) + " retries)";
            co_return failed(step.ec);
        case detail::send_machine::action::done: {
            int const retries = machine.retries();
            bool const sent = has_credentials && !chain.credentials_withheld;
            auto const method = chain.method;
            co_return std::tuple{error_code{}, reply{std::move(res), machine.take_url(), retries, sent, method}};
        }
        case detail::send_machine::action::send:
            if (step.delay > clock::duration::zero()) {
                asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor> pause(s->ex, step.delay);
                auto const cancellation = co_await asio::this_coro::cancellation_state; // not a temporary: GCC 12
                if (!detail::cancelled(cancellation))
                    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable_t<Executor>{}));
                if (detail::cancelled(cancellation))
                    co_return failed(report(diag, asio::error::operation_aborted,
                                            std::string(beast::http::to_string(req.method())) + " " +
                                                chain.current_origin.to_string() +
                                                ": cancelled while waiting to retry"));
            }
            if (step.clear_body) {
                req.body().clear();
                source = nullptr;
                req.erase(beast::http::field::expect);
                req.erase(beast::http::field::content_type);
            }
            break;
        }
    }
}

} // namespace oic::http
