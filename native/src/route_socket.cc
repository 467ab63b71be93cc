#include "route_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>
#ifdef __linux__
#include <linux/filter.h>
#endif
#include <memory>

#include "errno_error.h"
#include "platform.h"

namespace tunroute {

namespace {
// Messages read per readable wake-up. A netlink dump or a burst of route changes can keep
// the socket readable for a long time; bounding the loop lets timers and other I/O run.
constexpr int kMaxMessagesPerWake = 32;
// In batch mode a wake-up costs one JS call whatever it holds, so it reads more: the acks
// of a whole write window (128) in one call.
constexpr int kMaxDatagramsPerBatch = 256;
// ...and at most this many bytes (a dump's datagrams are up to 32 KiB each): the rest is read
// at the next wake-up, and the batch buffer stays small.
constexpr size_t kMaxBatchBytes = 256 << 10;
}  // namespace

Napi::Function RouteSocket::Define(Napi::Env env) {
  return DefineClass(env, "RouteSocket",
                     {
                         InstanceMethod<&RouteSocket::Send>("send"),
                         InstanceMethod<&RouteSocket::Close>("close"),
                         InstanceMethod<&RouteSocket::Ref>("ref"),
                         InstanceMethod<&RouteSocket::Unref>("unref"),
                         InstanceMethod<&RouteSocket::SetReceiveBufferSize>("setReceiveBufferSize"),
                         InstanceMethod<&RouteSocket::GetReceiveBufferSize>("getReceiveBufferSize"),
                         InstanceMethod<&RouteSocket::LocalPort>("localPort"),
                         InstanceMethod<&RouteSocket::DiscardQueued>("discardQueued"),
                         InstanceMethod<&RouteSocket::AttachFilter>("attachFilter"),
                     });
}

// new RouteSocket(onMessage(bytes, senderPort), onOverflow(), onError(err), { groups, receiveBufferSize })
// new RouteSocket(onMessages(bytes, datagrams), onOverflow(), onError(err), { batch: true, ... })
//   batch: each call carries the datagrams read in one wake-up back to back in `bytes`, and
//   `datagrams` (a Uint32Array) holds [end offset, sender port] for each, in order. An
//   overflow (ENOBUFS) is reported after the datagrams read before it, so order is kept.
RouteSocket::RouteSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RouteSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsFunction() || !info[1].IsFunction() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "RouteSocket(onMessage, onOverflow, onError, options?) needs three functions");
  }
  std::vector<uint32_t> groups;
  int receive_buffer_size = 0;
  if (info.Length() > 3 && info[3].IsObject()) {
    Napi::Object options = info[3].As<Napi::Object>();
    Napi::Value g = options.Get("groups");
    if (g.IsArray()) {
      Napi::Array list = g.As<Napi::Array>();
      for (uint32_t i = 0; i < list.Length(); i++) groups.push_back(list.Get(i).As<Napi::Number>().Uint32Value());
    }
    Napi::Value size = options.Get("receiveBufferSize");
    if (size.IsNumber()) receive_buffer_size = size.As<Napi::Number>().Int32Value();
    batch_ = options.Get("batch").ToBoolean().Value();
  }

  const char* syscall = "socket";
  fd_ = OpenRouteSocket(groups, &syscall);
  if (fd_ < 0) throw ErrnoError(env, errno, syscall);
  if (receive_buffer_size > 0 && tunroute::SetReceiveBufferSize(fd_, receive_buffer_size, &syscall) < 0) {
    int saved = errno;
    close(fd_);
    fd_ = -1;
    throw ErrnoError(env, saved, syscall);
  }

  on_message_ = Napi::Persistent(info[0].As<Napi::Function>());
  on_overflow_ = Napi::Persistent(info[1].As<Napi::Function>());
  on_error_ = Napi::Persistent(info[2].As<Napi::Function>());
  context_ = std::make_unique<Napi::AsyncContext>(env, "tunroute:RouteSocket");

  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  int status = uv_poll_init(loop, poll_, fd_);
  if (status == 0) status = uv_poll_start(poll_, UV_READABLE, &RouteSocket::OnReadable);
  if (status != 0) {
    delete poll_;
    poll_ = nullptr;
    close(fd_);
    fd_ = -1;
    throw ErrnoError(env, -status, "uv_poll_start");
  }
  poll_->data = this;
}

RouteSocket::~RouteSocket() { CloseNow(); }

void RouteSocket::RequireOpen(Napi::Env env, const char* syscall) {
  if (fd_ < 0) throw ErrnoError(env, EBADF, syscall);
}

Napi::Value RouteSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "send(bytes) needs a Uint8Array");
  }
  RequireOpen(env, "send");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const char* syscall = "send";
  ssize_t n;
  do {
    n = SendMessage(fd_, bytes.Data(), bytes.ByteLength(), &syscall);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw ErrnoError(env, errno, syscall);
  return Napi::Number::New(env, static_cast<double>(n));
}

void RouteSocket::Close(const Napi::CallbackInfo& info) { CloseNow(); }

void RouteSocket::CloseNow() {
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poll_ = nullptr;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  // Drop the callbacks so the closures they hold can be collected.
  if (!on_message_.IsEmpty()) on_message_.Reset();
  if (!on_overflow_.IsEmpty()) on_overflow_.Reset();
  if (!on_error_.IsEmpty()) on_error_.Reset();
}

void RouteSocket::Ref(const Napi::CallbackInfo& info) {
  if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
}

void RouteSocket::Unref(const Napi::CallbackInfo& info) {
  if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

void RouteSocket::SetReceiveBufferSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setReceiveBufferSize(bytes) needs a number");
  RequireOpen(env, "setsockopt");
  const char* syscall = "setsockopt";
  if (tunroute::SetReceiveBufferSize(fd_, info[0].As<Napi::Number>().Int32Value(), &syscall) < 0) {
    throw ErrnoError(env, errno, syscall);
  }
}

Napi::Value RouteSocket::GetReceiveBufferSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "getsockopt");
  int size = 0;
  socklen_t length = sizeof(size);
  if (getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, &length) < 0) throw ErrnoError(env, errno, "getsockopt");
  return Napi::Number::New(env, size);
}

Napi::Value RouteSocket::LocalPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "getsockname");
  return Napi::Number::New(env, tunroute::LocalPort(fd_));
}

// discardQueued(): reads and drops every datagram queued now, none handed to JS; returns
// how many. After an overflow the queue holds only messages older than the loss, which a
// caller that resyncs from a fresh snapshot has no use for: reading them through JS (10,000
// route notifications fill the daemon's 8 MiB) only delays the resync. An ENOBUFS met on
// the way is part of the same loss; reading stops when the queue is empty (EAGAIN).
Napi::Value RouteSocket::DiscardQueued(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "recv");
  double discarded = 0;
  for (;;) {
    uint32_t sender = 0;
    const char* syscall = "recv";
    if (ReceiveMessage(fd_, buffer_, &sender, &syscall) >= 0) {
      discarded++;
    } else if (errno != EINTR && errno != ENOBUFS) {
      break;
    }
  }
  return Napi::Number::New(env, discarded);
}

// attachFilter(program): SO_ATTACH_FILTER with a classic BPF program (struct sock_filter
// entries, 8 bytes each, built in JS). Linux only; elsewhere EOPNOTSUPP.
void RouteSocket::AttachFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "attachFilter(program) needs a Uint8Array");
  }
  RequireOpen(env, "setsockopt");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
#ifdef __linux__
  if (bytes.ByteLength() == 0 || bytes.ByteLength() % sizeof(sock_filter) != 0 || bytes.ByteLength() / sizeof(sock_filter) > BPF_MAXINSNS) {
    throw Napi::RangeError::New(env, "attachFilter(program) needs 1 to 4096 sock_filter entries of 8 bytes");
  }
  // Copied: the JS bytes need not be aligned for struct sock_filter.
  std::vector<sock_filter> program(bytes.ByteLength() / sizeof(sock_filter));
  std::memcpy(program.data(), bytes.Data(), bytes.ByteLength());
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = program.data();
  if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) < 0) throw ErrnoError(env, errno, "setsockopt");
#else
  throw ErrnoError(env, EOPNOTSUPP, "setsockopt");
#endif
}

void RouteSocket::OnReadable(uv_poll_t* handle, int status, int events) {
  RouteSocket* self = static_cast<RouteSocket*>(handle->data);
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  if (status < 0) {
    // libuv reports POLLERR as UV_EBADF and stops the handle. A netlink socket raises
    // POLLERR after an overflow; recv() then returns the pending ENOBUFS, so drain as usual
    // (a really bad fd shows up there as EBADF) and resume polling.
    if (self->batch_) {
      self->DrainBatch();
    } else {
      self->Drain();
    }
    if (self->poll_ != nullptr) {
      int restarted = uv_poll_start(self->poll_, UV_READABLE, &RouteSocket::OnReadable);
      if (restarted != 0) self->Deliver(self->on_error_, {ErrnoError(env, -restarted, "uv_poll_start").Value()});
    }
    return;
  }
  if (self->batch_) {
    self->DrainBatch();
  } else {
    self->Drain();
  }
}

void RouteSocket::Drain() {
  Napi::Env env = Env();
  for (int i = 0; i < kMaxMessagesPerWake && fd_ >= 0; i++) {
    Napi::HandleScope scope(env);
    uint32_t sender = 0;
    const char* syscall = "recv";
    ssize_t n = ReceiveMessage(fd_, buffer_, &sender, &syscall);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      // The kernel dropped messages because our queue was full: JS must resync.
      if (errno == ENOBUFS) {
        if (!Deliver(on_overflow_, {})) return;
        continue;
      }
      Deliver(on_error_, {ErrnoError(env, errno, syscall).Value()});
      return;
    }
    Napi::Buffer<uint8_t> bytes = Napi::Buffer<uint8_t>::Copy(env, buffer_.data(), static_cast<size_t>(n));
    if (!Deliver(on_message_, {bytes, Napi::Number::New(env, sender)})) return;
  }
}

void RouteSocket::DrainBatch() {
  Napi::Env env = Env();
  batch_bytes_.clear();
  batch_bounds_.clear();
  // Hands what was read so far to JS; false when the callback threw or closed the socket.
  auto flush = [&]() -> bool {
    if (batch_bounds_.empty()) return fd_ >= 0;
    Napi::HandleScope scope(env);
    Napi::Buffer<uint8_t> bytes = Napi::Buffer<uint8_t>::Copy(env, batch_bytes_.data(), batch_bytes_.size());
    Napi::Uint32Array bounds = Napi::Uint32Array::New(env, batch_bounds_.size());
    std::copy(batch_bounds_.begin(), batch_bounds_.end(), bounds.Data());
    batch_bytes_.clear();
    batch_bounds_.clear();
    return Deliver(on_message_, {bytes, bounds});
  };
  for (int i = 0; i < kMaxDatagramsPerBatch && batch_bytes_.size() < kMaxBatchBytes && fd_ >= 0; i++) {
    uint32_t sender = 0;
    const char* syscall = "recv";
    ssize_t n = ReceiveMessage(fd_, buffer_, &sender, &syscall);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      int saved = errno;
      // What was read before the error goes first: JS sees everything in the kernel's order.
      if (!flush()) return;
      Napi::HandleScope scope(env);
      if (saved == ENOBUFS) {
        if (!Deliver(on_overflow_, {})) return;
        continue;
      }
      Deliver(on_error_, {ErrnoError(env, saved, syscall).Value()});
      return;
    }
    batch_bytes_.insert(batch_bytes_.end(), buffer_.begin(), buffer_.begin() + n);
    batch_bounds_.push_back(static_cast<uint32_t>(batch_bytes_.size()));
    batch_bounds_.push_back(sender);
  }
  flush();
}

bool RouteSocket::Deliver(Napi::FunctionReference& callback, std::initializer_list<napi_value> args) {
  if (callback.IsEmpty()) return false;
  // Keep the JS object alive while its callback runs: the callback may drop the last reference.
  Napi::Reference<Napi::Object> self = Napi::Persistent(Value());
  try {
    callback.MakeCallback(Value(), args, *context_);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(Env(), e.Value());
    return false;
  }
  return fd_ >= 0;
}

}  // namespace tunroute
