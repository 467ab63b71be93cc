// macOS only (binding.gyp): one SCDynamicStore session, configd's key-value store, as a
// JavaScript object. Each method is one SystemConfiguration call; property lists cross as
// plain values (CFString, CFNumber, CFBoolean, CFArray, CFDictionary and nothing else).
// Which keys to write and when is decided in TypeScript (daemon/strategies/system.ts).
//
// Change notifications arrive on a private serial dispatch queue and reach JavaScript
// through a thread-safe function, so onChange always runs on the event loop. The keys
// are copied to std::strings on the queue; nothing CF crosses threads.
//
// Linux cannot compile this against the SDK: test/unit/native-macos-compile.test.ts
// compiles it against test/macos-sdk-stub/, which declares what it calls.
#include "dynamic_store.h"

#include <CoreFoundation/CoreFoundation.h>
#include <SystemConfiguration/SystemConfiguration.h>
#include <dispatch/dispatch.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tunroute {
namespace {

// A CF object we own (the Create/Copy rule): released when the holder goes, so a thrown
// TypeError halfway through a conversion leaks nothing.
class Owned {
 public:
  explicit Owned(CFTypeRef ref = nullptr) : ref_(ref) {}
  ~Owned() {
    if (ref_ != nullptr) CFRelease(ref_);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  CFTypeRef get() const { return ref_; }

 private:
  CFTypeRef ref_;
};

// The SystemConfiguration name of a status, as the `code` of the error.
const char* StatusName(int status) {
  switch (status) {
    case kSCStatusOK: return "kSCStatusOK";
    case kSCStatusFailed: return "kSCStatusFailed";
    case kSCStatusInvalidArgument: return "kSCStatusInvalidArgument";
    case kSCStatusAccessError: return "kSCStatusAccessError";
    case kSCStatusNoKey: return "kSCStatusNoKey";
    case kSCStatusKeyExists: return "kSCStatusKeyExists";
    case kSCStatusLocked: return "kSCStatusLocked";
    case kSCStatusNeedLock: return "kSCStatusNeedLock";
    case kSCStatusNoStoreSession: return "kSCStatusNoStoreSession";
    case kSCStatusNoStoreServer: return "kSCStatusNoStoreServer";
    case kSCStatusNotifierActive: return "kSCStatusNotifierActive";
    default: return nullptr;
  }
}

// Error{errno: status, code: its kSCStatus name, syscall: the function}.
Napi::Error StatusError(Napi::Env env, int status, const char* function) {
  const char* name = StatusName(status);
  std::string code = name != nullptr ? name : "SCStatus" + std::to_string(status);
  const char* text = SCErrorString(status);
  Napi::Error error = Napi::Error::New(env, std::string(function) + " " + code + " (" + (text != nullptr ? text : "?") + ")");
  error.Set("errno", Napi::Number::New(env, status));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, function));
  return error;
}

Napi::Error LastError(Napi::Env env, const char* function) { return StatusError(env, SCError(), function); }

CFStringRef NewString(const std::string& text) {
  return CFStringCreateWithBytes(kCFAllocatorDefault, reinterpret_cast<const UInt8*>(text.data()), static_cast<CFIndex>(text.size()),
                                 kCFStringEncodingUTF8, false);
}

CFStringRef NewString(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsString()) throw Napi::TypeError::New(env, std::string(what) + " must be a string");
  CFStringRef string = NewString(value.As<Napi::String>().Utf8Value());
  if (string == nullptr) throw Napi::TypeError::New(env, std::string(what) + " is not valid UTF-8");
  return string;
}

std::string Utf8(CFStringRef string) {
  CFIndex size = CFStringGetMaximumSizeForEncoding(CFStringGetLength(string), kCFStringEncodingUTF8) + 1;
  std::vector<char> buffer(static_cast<size_t>(size), '\0');
  if (!CFStringGetCString(string, buffer.data(), size, kCFStringEncodingUTF8)) return std::string();
  return std::string(buffer.data());
}

// A CFArray of CFStrings from a JS array of strings; null for an empty or missing list.
CFArrayRef NewStringArray(Napi::Env env, Napi::Value value, const char* what) {
  if (value.IsUndefined() || value.IsNull()) return nullptr;
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of strings");
  Napi::Array list = value.As<Napi::Array>();
  if (list.Length() == 0) return nullptr;
  CFMutableArrayRef array = CFArrayCreateMutable(kCFAllocatorDefault, static_cast<CFIndex>(list.Length()), &kCFTypeArrayCallBacks);
  Owned owner(array);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Owned item(NewString(env, list.Get(i), what));
    CFArrayAppendValue(array, item.get());
  }
  CFRetain(array);
  return array;
}

constexpr int kMaxDepth = 32;

// JS → CFPropertyList (PlistValue in native/index.ts). The caller owns the result.
CFPropertyListRef NewPlist(Napi::Env env, Napi::Value value, int depth) {
  if (depth > kMaxDepth) throw Napi::TypeError::New(env, "a property list nests too deeply (a cycle?)");
  if (value.IsString()) return NewString(env, value, "a property list string");
  if (value.IsBoolean()) return CFRetain(value.As<Napi::Boolean>().Value() ? kCFBooleanTrue : kCFBooleanFalse);
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    // Whole numbers become integers (OverridePrimary: 1, PrefixLength: [64]), as configd's
    // readers expect; anything else stays a double.
    if (std::isfinite(number) && std::trunc(number) == number && std::fabs(number) <= 9007199254740991.0) {
      int64_t integer = static_cast<int64_t>(number);
      return CFNumberCreate(kCFAllocatorDefault, kCFNumberSInt64Type, &integer);
    }
    return CFNumberCreate(kCFAllocatorDefault, kCFNumberFloat64Type, &number);
  }
  if (value.IsArray()) {
    Napi::Array list = value.As<Napi::Array>();
    CFMutableArrayRef array = CFArrayCreateMutable(kCFAllocatorDefault, static_cast<CFIndex>(list.Length()), &kCFTypeArrayCallBacks);
    Owned owner(array);
    for (uint32_t i = 0; i < list.Length(); i++) {
      Owned item(NewPlist(env, list.Get(i), depth + 1));
      CFArrayAppendValue(array, item.get());
    }
    return CFRetain(array);
  }
  if (value.IsObject() && !value.IsFunction()) {
    Napi::Object object = value.As<Napi::Object>();
    Napi::Array names = object.GetPropertyNames();
    CFMutableDictionaryRef dictionary = CFDictionaryCreateMutable(kCFAllocatorDefault, static_cast<CFIndex>(names.Length()),
                                                                  &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
    Owned owner(dictionary);
    for (uint32_t i = 0; i < names.Length(); i++) {
      Napi::Value name = names.Get(i);
      Owned key(NewString(env, name, "a property list key"));
      Owned item(NewPlist(env, object.Get(name), depth + 1));
      CFDictionarySetValue(dictionary, key.get(), item.get());
    }
    return CFRetain(dictionary);
  }
  throw Napi::TypeError::New(env, "a property list value must be a string, number, boolean, array or plain object");
}

// CFPropertyList → JS. Types outside PlistValue (CFData, CFDate) are refused, not guessed.
Napi::Value FromPlist(Napi::Env env, CFPropertyListRef plist, int depth) {
  if (depth > kMaxDepth) throw Napi::TypeError::New(env, "a stored property list nests too deeply");
  CFTypeID type = CFGetTypeID(plist);
  if (type == CFStringGetTypeID()) return Napi::String::New(env, Utf8(static_cast<CFStringRef>(plist)));
  if (type == CFBooleanGetTypeID()) return Napi::Boolean::New(env, CFBooleanGetValue(static_cast<CFBooleanRef>(plist)));
  if (type == CFNumberGetTypeID()) {
    CFNumberRef number = static_cast<CFNumberRef>(plist);
    if (CFNumberIsFloatType(number)) {
      double real = 0;
      CFNumberGetValue(number, kCFNumberFloat64Type, &real);
      return Napi::Number::New(env, real);
    }
    int64_t integer = 0;
    CFNumberGetValue(number, kCFNumberSInt64Type, &integer);
    return Napi::Number::New(env, static_cast<double>(integer));
  }
  if (type == CFArrayGetTypeID()) {
    CFArrayRef array = static_cast<CFArrayRef>(plist);
    CFIndex count = CFArrayGetCount(array);
    Napi::Array out = Napi::Array::New(env, static_cast<size_t>(count));
    for (CFIndex i = 0; i < count; i++) out.Set(static_cast<uint32_t>(i), FromPlist(env, CFArrayGetValueAtIndex(array, i), depth + 1));
    return out;
  }
  if (type == CFDictionaryGetTypeID()) {
    CFDictionaryRef dictionary = static_cast<CFDictionaryRef>(plist);
    CFIndex count = CFDictionaryGetCount(dictionary);
    std::vector<const void*> keys(static_cast<size_t>(count));
    std::vector<const void*> values(static_cast<size_t>(count));
    CFDictionaryGetKeysAndValues(dictionary, keys.data(), values.data());
    Napi::Object out = Napi::Object::New(env);
    for (CFIndex i = 0; i < count; i++) {
      if (CFGetTypeID(keys[i]) != CFStringGetTypeID()) throw Napi::TypeError::New(env, "a stored dictionary has a key that is not a string");
      out.Set(Utf8(static_cast<CFStringRef>(keys[i])), FromPlist(env, values[i], depth + 1));
    }
    return out;
  }
  throw Napi::TypeError::New(env, "a stored value is not a string, number, boolean, array or dictionary (CF type " + std::to_string(type) + ")");
}

// What the notification queue hands the event loop: the changed keys as UTF-8.
using ChangedKeys = std::vector<std::string>;

// Shared by the session and its thread-safe function, which can be finalized first (at
// environment teardown): neither touches the other after it is gone.
struct Shared {
  // Set by close() on the JS thread: deliveries already queued are dropped.
  std::atomic<bool> closed{false};
  // Set by the thread-safe function's finalizer: it must not be aborted any more.
  std::atomic<bool> finalized{false};
};
using SharedRef = std::shared_ptr<Shared>;

void DeliverChange(Napi::Env env, Napi::Function onChange, SharedRef* shared, ChangedKeys* keys) {
  if (env != nullptr && onChange != nullptr && !(*shared)->closed.load()) {
    Napi::Array list = Napi::Array::New(env, keys->size());
    for (size_t i = 0; i < keys->size(); i++) list.Set(static_cast<uint32_t>(i), Napi::String::New(env, (*keys)[i]));
    try {
      onChange.Call({list});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }
  delete keys;
}

using ChangeFunction = Napi::TypedThreadSafeFunction<SharedRef, ChangedKeys, DeliverChange>;

class DynamicStoreSession : public Napi::ObjectWrap<DynamicStoreSession> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DynamicStoreSession",
                       {
                           InstanceMethod<&DynamicStoreSession::SetMultiple>("setMultiple"),
                           InstanceMethod<&DynamicStoreSession::CopyValue>("copyValue"),
                           InstanceMethod<&DynamicStoreSession::CopyKeyList>("copyKeyList"),
                           InstanceMethod<&DynamicStoreSession::NotifyValue>("notifyValue"),
                           InstanceMethod<&DynamicStoreSession::SetNotificationKeys>("setNotificationKeys"),
                           InstanceMethod<&DynamicStoreSession::Close>("close"),
                       });
  }

  // new DynamicStoreSession(name, { useSessionKeys }, onChange(changedKeys))
  explicit DynamicStoreSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DynamicStoreSession>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[1].IsObject() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "openDynamicStore(name, options, onChange) needs a string, an object and a function");
    }
    Owned name(NewString(env, info[0], "name"));
    bool sessionKeys = info[1].As<Napi::Object>().Get("useSessionKeys").ToBoolean().Value();
    CFMutableDictionaryRef options = CFDictionaryCreateMutable(kCFAllocatorDefault, 1, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
    Owned optionsOwner(options);
    // Session keys: every key this session sets is removed by configd when the session's
    // Mach port dies, SIGKILL included (reference §5.1-5.2).
    if (sessionKeys) CFDictionarySetValue(options, kSCDynamicStoreUseSessionKeys, kCFBooleanTrue);

    SCDynamicStoreContext context = {0, this, nullptr, nullptr, nullptr};
    store_ = SCDynamicStoreCreateWithOptions(kCFAllocatorDefault, static_cast<CFStringRef>(name.get()), options, &DynamicStoreSession::OnChange, &context);
    if (store_ == nullptr) throw LastError(env, "SCDynamicStoreCreateWithOptions");

    shared_ = std::make_shared<Shared>();
    change_ = ChangeFunction::New(env, info[2].As<Napi::Function>(), "tunroute:DynamicStore", 0, 1, new SharedRef(shared_),
                                  [](Napi::Env, void*, SharedRef* shared) {
                                    (*shared)->finalized.store(true);
                                    delete shared;
                                  });
    // Like an unref'd socket: a watched store alone does not keep the process running.
    change_.Unref(env);
    queue_ = dispatch_queue_create("org.tunroute.dynamic-store", DISPATCH_QUEUE_SERIAL);
    if (!SCDynamicStoreSetDispatchQueue(store_, queue_)) {
      Napi::Error error = LastError(env, "SCDynamicStoreSetDispatchQueue");
      CloseNow();
      throw error;
    }
  }

  ~DynamicStoreSession() override { CloseNow(); }

 private:
  // Runs on queue_, not on the JS thread: copy the keys and hand them over.
  static void OnChange(SCDynamicStoreRef store, CFArrayRef changedKeys, void* info) {
    DynamicStoreSession* self = static_cast<DynamicStoreSession*>(info);
    ChangedKeys* keys = new ChangedKeys();
    CFIndex count = changedKeys != nullptr ? CFArrayGetCount(changedKeys) : 0;
    for (CFIndex i = 0; i < count; i++) {
      CFTypeRef key = CFArrayGetValueAtIndex(changedKeys, i);
      if (CFGetTypeID(key) == CFStringGetTypeID()) keys->push_back(Utf8(static_cast<CFStringRef>(key)));
    }
    // An empty list is meaningful: configd restarted and our keys are gone (reference §5.4).
    // CloseNow() drains this queue before it touches shared_, so reading it here is safe.
    if (self->shared_->finalized.load() || self->change_.NonBlockingCall(keys) != napi_ok) delete keys;
  }

  void RequireOpen(Napi::Env env, const char* function) {
    if (store_ == nullptr) throw StatusError(env, kSCStatusNoStoreSession, function);
  }

  // setMultiple(set: {key: plist}, remove: string[], notify: string[])
  void SetMultiple(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || info[0].IsArray()) throw Napi::TypeError::New(env, "setMultiple(set, remove, notify) needs an object and two arrays");
    RequireOpen(env, "SCDynamicStoreSetMultiple");
    Napi::Object set = info[0].As<Napi::Object>();
    Owned toSet(set.GetPropertyNames().Length() > 0 ? NewPlist(env, set, 0) : nullptr);
    Owned toRemove(NewStringArray(env, info[1], "remove"));
    Owned toNotify(NewStringArray(env, info[2], "notify"));
    if (!SCDynamicStoreSetMultiple(store_, static_cast<CFDictionaryRef>(toSet.get()), static_cast<CFArrayRef>(toRemove.get()),
                                   static_cast<CFArrayRef>(toNotify.get()))) {
      throw LastError(env, "SCDynamicStoreSetMultiple");
    }
  }

  // copyValue(key) → the value, or null when the key is absent.
  Napi::Value CopyValue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "SCDynamicStoreCopyValue");
    Owned key(NewString(env, info[0], "key"));
    Owned value(SCDynamicStoreCopyValue(store_, static_cast<CFStringRef>(key.get())));
    if (value.get() == nullptr) {
      int status = SCError();
      if (status == kSCStatusNoKey) return env.Null();
      throw StatusError(env, status, "SCDynamicStoreCopyValue");
    }
    return FromPlist(env, value.get(), 0);
  }

  // copyKeyList(pattern) → every key matching the regular expression.
  Napi::Value CopyKeyList(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "SCDynamicStoreCopyKeyList");
    Owned pattern(NewString(env, info[0], "pattern"));
    Owned keys(SCDynamicStoreCopyKeyList(store_, static_cast<CFStringRef>(pattern.get())));
    if (keys.get() == nullptr) throw LastError(env, "SCDynamicStoreCopyKeyList");
    return FromPlist(env, keys.get(), 0);
  }

  void NotifyValue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "SCDynamicStoreNotifyValue");
    Owned key(NewString(env, info[0], "key"));
    if (!SCDynamicStoreNotifyValue(store_, static_cast<CFStringRef>(key.get()))) throw LastError(env, "SCDynamicStoreNotifyValue");
  }

  // setNotificationKeys(keys, patterns): replaces what this session watches.
  void SetNotificationKeys(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "SCDynamicStoreSetNotificationKeys");
    Owned keys(NewStringArray(env, info.Length() > 0 ? info[0] : env.Undefined(), "keys"));
    Owned patterns(NewStringArray(env, info.Length() > 1 ? info[1] : env.Undefined(), "patterns"));
    if (!SCDynamicStoreSetNotificationKeys(store_, static_cast<CFArrayRef>(keys.get()), static_cast<CFArrayRef>(patterns.get()))) {
      throw LastError(env, "SCDynamicStoreSetNotificationKeys");
    }
  }

  void Close(const Napi::CallbackInfo& info) { CloseNow(); }

  static void Nothing(void*) {}

  // Idempotent. After it returns no onChange runs: notifications are switched off, a
  // callout already running on the queue is waited for, and anything it queued is dropped.
  // Releasing the store closes the session, and configd removes its session keys.
  void CloseNow() {
    if (queue_ != nullptr) {
      if (store_ != nullptr) SCDynamicStoreSetDispatchQueue(store_, nullptr);
      dispatch_sync_f(queue_, nullptr, &DynamicStoreSession::Nothing);
      dispatch_release(queue_);
      queue_ = nullptr;
    }
    if (shared_ != nullptr) {
      shared_->closed.store(true);
      if (!shared_->finalized.load()) change_.Abort();
      shared_.reset();
    }
    if (store_ != nullptr) {
      CFRelease(store_);
      store_ = nullptr;
    }
  }

  SCDynamicStoreRef store_ = nullptr;
  dispatch_queue_t queue_ = nullptr;
  SharedRef shared_;
  ChangeFunction change_;
};

Napi::Value OpenDynamicStore(const Napi::CallbackInfo& info) {
  Napi::FunctionReference* constructor = static_cast<Napi::FunctionReference*>(info.Data());
  return constructor->New({info[0], info[1], info[2]});
}

}  // namespace

void RegisterDynamicStore(Napi::Env env, Napi::Object exports) {
  Napi::FunctionReference* constructor = new Napi::FunctionReference(Napi::Persistent(DynamicStoreSession::Define(env)));
  env.AddCleanupHook([constructor]() { delete constructor; });
  exports.Set("openDynamicStore", Napi::Function::New(env, OpenDynamicStore, "openDynamicStore", constructor));
}

}  // namespace tunroute
