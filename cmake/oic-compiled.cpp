// The one translation unit of oic::compiled (cmake/oic-compiled.cmake).
#include <oic/src.hpp>
