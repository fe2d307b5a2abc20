#pragma once
/**
 * @file The decisions of one `basic_session::send` call, without I/O: where each request goes and
 * with which credentials, when a remembered hop is used, forgotten or learned, and when the call
 * ends. `basic_session::send` only carries out what it says; unit tests step through it.
 */

#include <oic/error.hpp>
#include <oic/http/redirect.hpp>
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
    /// What a call may do with credentials and remembered hops.
    struct settings {
        bool has_credentials = false;      ///< credentials in the headers or the body
        bool body_has_credentials = false; ///< client_secret_post: the body may not cross origins
        bool may_remember = true;          ///< use and learn remembered hops
    };

    /// What the caller does next.
    enum class action {
        send, ///< send the request to `chain()`'s current URL (again)
        done, ///< the answer is the call's answer
        fail, ///< the call ends with the error
    };
    struct step {
        action what = action::fail;
        error_code ec{};                          ///< with `fail`
        bool clear_body = false;                  ///< with `send`: drop the body (and its Content-Type)
        bool forget = false;                      ///< forget the hop remembered for the original origin
        std::optional<remembered_hop> remember{}; ///< learn this hop
    };

    /// A call of `method` to `url` (whose origin is `first`), through `hop` when one is remembered
    /// for that origin and `s.may_remember`.
    send_machine(urls::url url, origin first, beast_http::verb method, settings s, std::optional<remembered_hop> hop)
        : method_(method), settings_(s),
          remembered_(s.may_remember && !s.body_has_credentials ? std::move(hop) : std::nullopt),
          chain_(start(std::move(url), std::move(first))) {}

    /// Where the next request goes, its method, and whether credentials are withheld.
    redirect_chain const& chain() const noexcept { return chain_; }

    /// The URL that gave the call's answer (after `action::done`; the machine is spent).
    urls::url take_url() noexcept { return std::move(chain_.current); }

    /**
     * After an exchange: its error, or the answer's status and `Location`. Redirects are planned
     * with `policy` (reports go to `diag`); a remembered hop that fails in any way but cancellation
     * (an error, 404, 421) is forgotten and the call starts over at its URL, `diag` cleared; a hop
     * learned on the way is remembered once its target has answered with a non-redirect.
     */
    step on_answer(error_code ec, beast_http::status status, std::string_view location,
                   any_redirect_policy const& policy, int max_redirects, diagnostics& diag) {
        bool const via_memory = remembered_ && chain_.hops == 0;
        if (ec && (!via_memory || ec == boost::asio::error::operation_aborted))
            return {.ec = ec}; // a cancellation is never retried, and forgets nothing
        bool const unusable =
            ec || status == beast_http::status::not_found || status == beast_http::status::misdirected_request;
        if (via_memory && unusable) {
            diag = {};
            remembered_.reset();
            chain_ = start(chain_.original, chain_.original_origin);
            return {.what = action::send, .forget = true};
        }
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
        if (auto rec = plan_redirect(chain_, status, location, policy, max_redirects, hop, diag))
            return {.ec = rec};
        if (hop.remember)
            learning_ = remembered_hop{chain_.original_origin, hop.to, hop.send_credentials};
        out.what = action::send;
        out.clear_body = !hop.keep_body;
        return out;
    }

private:
    redirect_chain start(urls::url url, origin first) const {
        redirect_chain c(std::move(url), std::move(first), method_);
        c.has_credentials = settings_.has_credentials || settings_.body_has_credentials;
        c.body_has_credentials = settings_.body_has_credentials;
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
    std::optional<remembered_hop> remembered_; // the hop this call starts with, until it fails
    std::optional<remembered_hop> learning_;   // learned on the last hop, kept once its target answers
    redirect_chain chain_;
};

} // namespace oic::http::detail
