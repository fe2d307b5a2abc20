#pragma once
/**
 * @file The decisions of one `basic_session::send` call, without I/O: where each request goes and
 * with which credentials, when a remembered hop is used, forgotten or learned, when a request is
 * sent again and after how long, and when the call ends. `basic_session::send` only carries out
 * what it says; unit tests step through it.
 */

#include <oic/error.hpp>
#include <oic/http/detail/retry.hpp>
#include <oic/http/redirect.hpp>
#include <oic/http/types.hpp>
#include <oic/http/url.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <optional>
#include <string_view>

namespace oic::http::detail {

/// A hop learned from a redirect: calls to `from` go straight to `to`.
struct remembered_hop {
    origin from;
    origin to;
    bool forward_credentials;
};

class send_machine {
public:
    /// What a call may do with credentials, remembered hops and retries.
    struct settings {
        bool has_credentials = false;      ///< credentials in the headers or the body
        bool body_has_credentials = false; ///< client_secret_post: the body may not cross origins
        bool may_remember = true;          ///< use and learn remembered hops
        /// The request may be sent again after it went out: idempotent methods (RFC 9110 9.2.2:
        /// GET, HEAD, PUT, DELETE, OPTIONS) and requests marked so (token requests). Others (POST,
        /// PATCH) are sent again only when none of their bytes went out.
        bool retry_safe = false;
        bool credentials_pinned = false; ///< the credentials never leave the first origin (token requests)
        retry_options retry{};
    };

    /// What one exchange gave: an error, or an answer's status and headers that matter here.
    struct outcome {
        error_code ec{};
        beast_http::status status = beast_http::status::unknown;
        std::string_view location{};
        std::optional<clock::duration> retry_after{}; ///< the answer's `Retry-After`, understood
        bool answer_started = false;                  ///< with `ec`: some of the answer had arrived
        bool request_written = false;                 ///< with `ec`: some of the request had gone out
    };

    /// What the caller does next.
    enum class action {
        send, ///< send the request to `chain()`'s current URL (again), after `delay`
        done, ///< the answer is the call's answer
        fail, ///< the call ends with the error
    };
    struct step {
        action what = action::fail;
        error_code ec{};                          ///< with `fail`
        clock::duration delay{};                  ///< with `send`: wait this long first (a retry)
        bool clear_body = false;                  ///< with `send`: drop the body (and its Content-Type)
        bool forget = false;                      ///< forget the hop remembered for the original origin
        std::optional<remembered_hop> remember{}; ///< learn this hop
    };

    /// A call of `method` to `url` (whose origin is `first`), through `hop` when one is remembered
    /// for that origin and `s.may_remember`; retries are taken from `budget` when given.
    send_machine(urls::url url, origin first, beast_http::verb method, settings s, std::optional<remembered_hop> hop,
                 retry_budget* budget = nullptr)
        : method_(method), settings_(s), budget_(budget),
          remembered_(s.may_remember && !s.body_has_credentials ? std::move(hop) : std::nullopt),
          chain_(start(std::move(url), std::move(first))) {}

    /// Where the next request goes, its method, and whether credentials are withheld.
    redirect_chain const& chain() const noexcept { return chain_; }

    /// The URL that gave the call's answer (after `action::done`; the machine is spent).
    urls::url take_url() noexcept { return std::move(chain_.current); }

    /// Retries made so far.
    int retries() const noexcept { return retries_; }

    /**
     * After an exchange: its outcome, the time left before the call's deadline, and `jitter`, a
     * random number in [0, 1) for the backoff.
     * - A remembered hop that fails in any way but cancellation (an error, 404, 421) is forgotten
     *   and the call starts over at its URL, `diag` cleared.
     * - A transient failure (see `retry_options`) is sent again after a wait, while retries, the
     *   budget and the time left allow, if the request is retry-safe or none of it went out;
     *   `diag` is cleared.
     * - Redirects are planned with `policy` (reports go to `diag`); a hop learned on the way is
     *   remembered once its target has answered with a non-redirect.
     */
    step on_answer(outcome const& o, clock::duration time_left, double jitter, any_redirect_policy const& policy,
                   int max_redirects, diagnostics& diag) {
        auto const ec = o.ec;
        auto const status = o.status;
        bool const via_memory = remembered_ && chain_.hops == 0;
        if (ec == boost::asio::error::operation_aborted)
            return {.ec = ec}; // a cancellation is never retried, and forgets nothing
        bool const unusable =
            ec || status == beast_http::status::not_found || status == beast_http::status::misdirected_request;
        if (via_memory && unusable) {
            // Starting over sends the request again: not a written request that is not
            // retry-safe, unless the server answered that it did not take it (404, 421).
            if (ec && !settings_.retry_safe && o.request_written)
                return {.ec = ec, .forget = true};
            diag = {};
            remembered_.reset();
            chain_ = start(chain_.original, chain_.original_origin);
            return {.what = action::send, .forget = true};
        }
        if (auto const wait = retry_wait(o, time_left, jitter)) {
            diag = {};
            return {.what = action::send, .delay = *wait};
        }
        if (ec)
            return {.ec = ec};
        step out;
        if (learning_) {
            if (!unusable && !is_redirect(status))
                out.remember = learning_;
            learning_.reset();
        }
        if (!is_redirect(status)) {
            out.what = action::done;
            return out;
        }
        redirect_step hop;
        if (auto rec = plan_redirect(chain_, status, o.location, policy, max_redirects, hop, diag))
            return {.ec = rec};
        if (hop.remember)
            learning_ = remembered_hop{chain_.original_origin, hop.to, hop.send_credentials};
        out.what = action::send;
        out.clear_body = !hop.keep_body;
        return out;
    }

private:
    /// The wait before sending again, or nothing when the outcome is the call's.
    std::optional<clock::duration> retry_wait(outcome const& o, clock::duration time_left, double jitter) {
        bool const transient = o.ec ? !o.answer_started && is_transient_error(o.ec) : is_retryable_status(o.status);
        bool const resendable = settings_.retry_safe || (o.ec && !o.request_written);
        if (!transient || !resendable || retries_ >= settings_.retry.max_retries)
            return std::nullopt;
        auto const wait = o.retry_after ? *o.retry_after : backoff(settings_.retry, retries_, jitter);
        if (wait >= time_left || (budget_ && !budget_->try_spend()))
            return std::nullopt; // not worth starting: the deadline would pass first
        ++retries_;
        return wait;
    }

    redirect_chain start(urls::url url, origin first) const {
        redirect_chain c(std::move(url), std::move(first), method_);
        c.has_credentials = settings_.has_credentials || settings_.body_has_credentials;
        c.body_has_credentials = settings_.body_has_credentials;
        c.credentials_pinned = settings_.credentials_pinned;
        c.may_remember = settings_.may_remember && !settings_.body_has_credentials;
        if (remembered_) {
            c.current = with_origin(c.original, remembered_->to);
            c.current_origin = remembered_->to;
            c.credentials_withheld = !remembered_->forward_credentials;
        }
        return c;
    }

    beast_http::verb method_;
    settings settings_;
    retry_budget* budget_;
    int retries_ = 0;
    std::optional<remembered_hop> remembered_; // the hop this call starts with, until it fails
    std::optional<remembered_hop> learning_;   // learned on the last hop, kept once its target answers
    redirect_chain chain_;
};

} // namespace oic::http::detail
