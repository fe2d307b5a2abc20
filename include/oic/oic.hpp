#pragma once
/// @file
/// Umbrella header: everything but the test double (`oic/testing/mock_server.hpp`).

#include <oic/api/parse.hpp>
#include <oic/auth/client_credentials.hpp>
#include <oic/auth/shared_token.hpp>
#include <oic/client.hpp>
#include <oic/error.hpp>
#include <oic/http/redirect.hpp>
#include <oic/http/session.hpp>
#include <oic/http/url.hpp>
#include <oic/secret.hpp>
#include <oic/version.hpp>
#include <oic/with_diagnostics.hpp>
#include <oic/with_timeout.hpp>
