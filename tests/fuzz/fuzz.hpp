#pragma once
// What the fuzz targets share: a property that does not hold stops the run (libFuzzer keeps the
// input as a crasher; the replay tests in the ordinary suite fail on it).

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)
