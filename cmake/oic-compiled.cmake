# oic::compiled: link it instead of oic::oic to compile Asio, its SSL layer, Beast and oic's
# operations for asio::any_io_executor once (include/oic/src.hpp) rather than in every translation
# unit. Built in the consumer's build, with its compiler and flags, and only when something links
# it. Used by the build and by the installed package alike.
if(NOT TARGET oic::compiled)
  add_library(oic_compiled STATIC EXCLUDE_FROM_ALL "${CMAKE_CURRENT_LIST_DIR}/oic-compiled.cpp")
  add_library(oic::compiled ALIAS oic_compiled)
  target_link_libraries(oic_compiled PUBLIC oic::oic)
  target_compile_definitions(oic_compiled PUBLIC
    OIC_SEPARATE_COMPILATION BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION)
endif()
