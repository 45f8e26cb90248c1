// Integration tests start the built pikoci-node on port 0 and drive it over HTTP.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
