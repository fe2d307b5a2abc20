// A user's program: builds a client and refuses a bad configuration with a clear error.
#include <oic/oic.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>
#include <string_view>

int main() {
#ifdef OIC_PACKAGE_VERSION
    if (std::string_view(OIC_PACKAGE_VERSION) != OIC_VERSION_STRING) {
        std::cout << "package version " << OIC_PACKAGE_VERSION << ", headers " << OIC_VERSION_STRING << '\n';
        return 1;
    }
#endif
    boost::asio::io_context ioc;
    oic::client_config cfg;
    cfg.base_url = "ftp://not-http.example";
    try {
        oic::client c(ioc.get_executor(), cfg);
    } catch (oic::error_with_diagnostics const& e) {
        std::cout << "refused: " << e.what() << '\n';
        return e.code() == oic::error::bad_url ? 0 : 1;
    }
    return 1;
}
