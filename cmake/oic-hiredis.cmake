# oic::hiredis, an imported target for hiredis (Debian's libhiredis-dev), when it is installed.
# Used by the build and by the installed package alike: hiredis ships no CMake package of its own.
if(NOT TARGET oic::hiredis)
  find_library(OIC_HIREDIS_LIBRARY hiredis)
  find_path(OIC_HIREDIS_INCLUDE_DIR hiredis/hiredis.h)
  if(OIC_HIREDIS_LIBRARY AND OIC_HIREDIS_INCLUDE_DIR)
    add_library(oic::hiredis UNKNOWN IMPORTED)
    set_target_properties(oic::hiredis PROPERTIES
      IMPORTED_LOCATION "${OIC_HIREDIS_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${OIC_HIREDIS_INCLUDE_DIR}")
  endif()
endif()
