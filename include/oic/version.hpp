#pragma once
/// @file
/// The library's version: written here only. CMake reads it from this file (`project`,
/// the package's version file), and the client sends it in its `User-Agent`.

#define OIC_VERSION_MAJOR 0 ///< incompatible changes (the package is compatible within one major version)
#define OIC_VERSION_MINOR 1 ///< features
#define OIC_VERSION_PATCH 0 ///< fixes

#define OIC_VERSION_STRINGIZE_(x) #x
/// `x`'s value as a string literal (what `OIC_VERSION_STRING` is built with).
#define OIC_VERSION_STRINGIZE(x) OIC_VERSION_STRINGIZE_(x)
/// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
#define OIC_VERSION_STRING                                                                                             \
    OIC_VERSION_STRINGIZE(OIC_VERSION_MAJOR)                                                                           \
    "." OIC_VERSION_STRINGIZE(OIC_VERSION_MINOR) "." OIC_VERSION_STRINGIZE(OIC_VERSION_PATCH)
