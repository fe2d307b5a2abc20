#pragma once
/// @file
/// Separate compilation (docs/install.md, "Compiling oic once"). With `OIC_SEPARATE_COMPILATION`
/// defined in every translation unit, the operations' templates for `asio::any_io_executor` are
/// instantiated in the one that includes `<oic/src.hpp>` (which defines `OIC_SOURCE`) and declared
/// `extern template` in all others, which then compile none of the client, session or transport
/// code. Asio's and Beast's own separate compilation come with it.

#if defined(OIC_SEPARATE_COMPILATION) &&                                                                               \
    !(defined(BOOST_ASIO_SEPARATE_COMPILATION) && defined(BOOST_BEAST_SEPARATE_COMPILATION))
#error "OIC_SEPARATE_COMPILATION needs BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION"
#endif

/// `template` in the translation unit of `<oic/src.hpp>`, `extern template` in the others.
#ifdef OIC_SOURCE
#define OIC_INSTANTIATE template
#else
#define OIC_INSTANTIATE extern template
#endif
