// The mock server, compiled once (the oic_support target defines OIC_TESTING_SEPARATE_COMPILATION).
#include <oic/testing/impl/mock_server.ipp>
