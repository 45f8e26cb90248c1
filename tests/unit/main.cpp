// The unit test runner: every tests/unit/**/*_test.cpp is linked into pikoci-tests.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
