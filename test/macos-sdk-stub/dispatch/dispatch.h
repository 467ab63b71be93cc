// Compile-only stand-in for <dispatch/dispatch.h> as plain C++ (not Objective-C) sees it:
// dispatch objects are pointers to structs derived from dispatch_object_s, released with
// dispatch_release. Never linked. See test/macos-sdk-stub/README.md.
#pragma once
#include <stddef.h>

struct dispatch_object_s {};
struct dispatch_queue_s : public dispatch_object_s {};
struct dispatch_queue_attr_s : public dispatch_object_s {};
typedef dispatch_object_s* dispatch_object_t;
typedef dispatch_queue_s* dispatch_queue_t;
typedef dispatch_queue_attr_s* dispatch_queue_attr_t;
typedef void (*dispatch_function_t)(void*);

#define DISPATCH_QUEUE_SERIAL NULL

extern "C" {
dispatch_queue_t dispatch_queue_create(const char* label, dispatch_queue_attr_t attr);
void dispatch_sync_f(dispatch_queue_t queue, void* context, dispatch_function_t work);
void dispatch_release(dispatch_object_t object);
}
