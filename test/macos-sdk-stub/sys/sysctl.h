// Compile-only stand-in for macOS <sys/sysctl.h> (glibc no longer ships one): sysctl(3)
// with the BSD signature, and the one top-level name native/src/platform_darwin.cc uses.
// Never linked. See test/macos-sdk-stub/README.md.
#pragma once
#include <stddef.h>
#include <sys/types.h>

#define CTL_NET 4

extern "C" int sysctl(int* name, u_int namelen, void* oldp, size_t* oldlenp, void* newp, size_t newlen);
