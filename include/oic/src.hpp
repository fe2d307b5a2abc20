#pragma once
/// @file
/// Compiles Asio, its SSL layer, Beast and oic's operations for `asio::any_io_executor` once:
/// include this header in exactly one `.cpp` file of a program, on its own, and define
/// `OIC_SEPARATE_COMPILATION`, `BOOST_ASIO_SEPARATE_COMPILATION` and
/// `BOOST_BEAST_SEPARATE_COMPILATION` for every translation unit (CMake: link `oic::compiled`).
/// See docs/install.md, "Compiling oic once".

#ifdef OIC_INSTANTIATE
#error "<oic/src.hpp> must be included before any other oic header, in a .cpp file of its own"
#endif
#ifndef OIC_SEPARATE_COMPILATION
#error "<oic/src.hpp> needs OIC_SEPARATE_COMPILATION (and Asio's and Beast's) defined in every translation unit"
#endif

#define OIC_SOURCE

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

#include <oic/oic.hpp>
