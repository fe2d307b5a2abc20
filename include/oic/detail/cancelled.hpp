#pragma once
/// @file Whether a coroutine was cancelled while it waited on nothing.

#include <boost/asio/cancellation_state.hpp>

namespace oic::detail {

/**
 * Whether a coroutine's cancellation state says it was cancelled. A cancellation emitted while the
 * coroutine waits on nothing (its operation completed, the coroutine not resumed yet) reaches no
 * operation; with Asio's throw-on-cancel off (see `cancel_as_value`) nothing else remembers it. So
 * every wait of the library asks this before it starts, and each step once its operation is done.
 */
inline bool cancelled(boost::asio::cancellation_state const& state) {
    return state.cancelled() != boost::asio::cancellation_type::none;
}

} // namespace oic::detail
