// The one place where an OS errno becomes a JavaScript Error{errno, code, syscall}.
#pragma once
#include <napi.h>

namespace tunroute {

// errno must be the positive value from <errno.h>; code is its symbolic name ("EEXIST").
Napi::Error ErrnoError(Napi::Env env, int errnum, const char* syscall);

}  // namespace tunroute
