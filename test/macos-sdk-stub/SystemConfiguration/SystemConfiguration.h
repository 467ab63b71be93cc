// Compile-only stand-in for <SystemConfiguration/SystemConfiguration.h>: SCDynamicStore.h
// and the SCError status codes (SystemConfiguration.h), as Apple documents them. Never
// linked. See test/macos-sdk-stub/README.md.
#pragma once
#include <CoreFoundation/CoreFoundation.h>
#include <dispatch/dispatch.h>

extern "C" {

// SystemConfiguration.h: the status codes SCError() returns.
enum {
  kSCStatusOK = 0,
  kSCStatusFailed = 1001,
  kSCStatusInvalidArgument = 1002,
  kSCStatusAccessError = 1003,
  kSCStatusNoKey = 1004,
  kSCStatusKeyExists = 1005,
  kSCStatusLocked = 1006,
  kSCStatusNeedLock = 1007,
  kSCStatusNoStoreSession = 2001,
  kSCStatusNoStoreServer = 2002,
  kSCStatusNotifierActive = 2003,
  kSCStatusNoPrefsSession = 3001,
  kSCStatusPrefsBusy = 3002,
  kSCStatusNoConfigFile = 3003,
  kSCStatusNoLink = 3004,
  kSCStatusStale = 3005,
  kSCStatusMaxLink = 3006,
  kSCStatusReachabilityUnknown = 4001,
  kSCStatusConnectionNoService = 5001,
  kSCStatusConnectionIgnore = 5002,
};
int SCError(void);
const char* SCErrorString(int status);

// SCDynamicStore.h
typedef const struct __SCDynamicStore* SCDynamicStoreRef;
typedef struct {
  CFIndex version;
  void* info;
  const void* (*retain)(const void* info);
  void (*release)(const void* info);
  CFStringRef (*copyDescription)(const void* info);
} SCDynamicStoreContext;
typedef void (*SCDynamicStoreCallBack)(SCDynamicStoreRef store, CFArrayRef changedKeys, void* info);

extern const CFStringRef kSCDynamicStoreUseSessionKeys;

SCDynamicStoreRef SCDynamicStoreCreateWithOptions(CFAllocatorRef allocator, CFStringRef name, CFDictionaryRef storeOptions, SCDynamicStoreCallBack callout, SCDynamicStoreContext* context);
Boolean SCDynamicStoreSetDispatchQueue(SCDynamicStoreRef store, dispatch_queue_t queue);
Boolean SCDynamicStoreSetMultiple(SCDynamicStoreRef store, CFDictionaryRef keysToSet, CFArrayRef keysToRemove, CFArrayRef keysToNotify);
CFPropertyListRef SCDynamicStoreCopyValue(SCDynamicStoreRef store, CFStringRef key);
CFArrayRef SCDynamicStoreCopyKeyList(SCDynamicStoreRef store, CFStringRef pattern);
Boolean SCDynamicStoreNotifyValue(SCDynamicStoreRef store, CFStringRef key);
Boolean SCDynamicStoreSetNotificationKeys(SCDynamicStoreRef store, CFArrayRef keys, CFArrayRef patterns);

}  // extern "C"
