// Module entry: RouteSocket, the interface name/index lookups and, on macOS, the
// routing-table sysctl and SCDynamicStore sessions (dynamic_store.cc). Everything else
// (every byte of every message, every dictionary key) is TypeScript.
#include <errno.h>
#include <net/if.h>
#include <sys/file.h>
#include <napi.h>

#include "errno_error.h"
#ifdef __APPLE__
#include "dynamic_store.h"
#endif
#include "platform.h"
#include "route_socket.h"

namespace tunroute {
namespace {

// nameToIndex(name) → index, or 0 when there is no such interface.
Napi::Value NameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "nameToIndex(name) needs a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(env, if_nametoindex(name.c_str()));
}

// indexToName(index) → name, or undefined when there is no such interface.
Napi::Value IndexToName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "indexToName(index) needs a number");
  char name[IF_NAMESIZE];
  if (if_indextoname(info[0].As<Napi::Number>().Uint32Value(), name) == nullptr) {
    if (errno == ENXIO || errno == ENODEV) return env.Undefined();
    throw ErrnoError(env, errno, "if_indextoname");
  }
  return Napi::String::New(env, name);
}

// flock(fd, operation) → undefined. One advisory lock call (LOCK_SH/EX/UN | LOCK_NB), for
// the per-profile lock file: the kernel releases it when the process dies, however it dies.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "flock(fd, operation) needs two numbers");
  int rc;
  do {
    rc = flock(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) throw ErrnoError(env, errno, "flock");
  return env.Undefined();
}

#ifdef __APPLE__
// sysctlRouteDump(af, op, arg) → Buffer of back-to-back routing messages.
Napi::Value SysctlRouteDumpJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "sysctlRouteDump(af, op, arg) needs three numbers");
  std::vector<uint8_t> out;
  const char* syscall = "sysctl";
  if (SysctlRouteDump(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                      info[2].As<Napi::Number>().Int32Value(), out, &syscall) < 0) {
    throw ErrnoError(env, errno, syscall);
  }
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("RouteSocket", RouteSocket::Define(env));
  exports.Set("nameToIndex", Napi::Function::New(env, NameToIndex, "nameToIndex"));
  exports.Set("indexToName", Napi::Function::New(env, IndexToName, "indexToName"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
#ifdef __APPLE__
  exports.Set("sysctlRouteDump", Napi::Function::New(env, SysctlRouteDumpJs, "sysctlRouteDump"));
  RegisterDynamicStore(env, exports);
#endif
  exports.Set("platform", Napi::String::New(env,
#ifdef __APPLE__
                                            "darwin"
#else
                                            "linux"
#endif
                                            ));
  return exports;
}

}  // namespace
}  // namespace tunroute

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tunroute::Init(env, exports); }

NODE_API_MODULE(tunroute_native, InitModule)
