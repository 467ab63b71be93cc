// macOS only: SCDynamicStore sessions for JavaScript (native/index.ts DynamicStoreSession).
#pragma once
#include <napi.h>

namespace tunroute {

// Adds openDynamicStore(name, { useSessionKeys }, onChange) to the module's exports.
void RegisterDynamicStore(Napi::Env env, Napi::Object exports);

}  // namespace tunroute
