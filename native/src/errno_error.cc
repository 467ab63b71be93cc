#include "errno_error.h"

#include <string>
#include <uv.h>

namespace tunroute {

Napi::Error ErrnoError(Napi::Env env, int errnum, const char* syscall) {
  // libuv names errors by their negated errno on Unix, which gives Node's own codes.
  char name[32];
  uv_err_name_r(-errnum, name, sizeof(name));
  std::string message = std::string(syscall) + " " + name + " (" + uv_strerror(-errnum) + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, errnum));
  error.Set("code", Napi::String::New(env, name));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

}  // namespace tunroute
