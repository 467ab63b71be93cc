// RouteSocket: the OS routing socket as a JS object shaped like dgram.Socket.
// It holds the fd and a libuv poll handle, and hands every received message to JS as
// bytes. It parses nothing. In batch mode it hands over the datagrams of one readable
// wake-up in one call (one JS callback, not one per datagram).
#pragma once
#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <vector>

namespace tunroute {

class RouteSocket : public Napi::ObjectWrap<RouteSocket> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit RouteSocket(const Napi::CallbackInfo& info);
  ~RouteSocket() override;

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  void Ref(const Napi::CallbackInfo& info);
  void Unref(const Napi::CallbackInfo& info);
  void SetReceiveBufferSize(const Napi::CallbackInfo& info);
  Napi::Value GetReceiveBufferSize(const Napi::CallbackInfo& info);
  Napi::Value LocalPort(const Napi::CallbackInfo& info);
  Napi::Value DiscardQueued(const Napi::CallbackInfo& info);
  void AttachFilter(const Napi::CallbackInfo& info);

  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain();
  // Batch mode: the datagrams of one wake-up in one call (see the constructor).
  void DrainBatch();
  // Calls into JS; returns false when the callback threw or closed the socket.
  bool Deliver(Napi::FunctionReference& callback, std::initializer_list<napi_value> args);
  void CloseNow();
  void RequireOpen(Napi::Env env, const char* syscall);

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  std::vector<uint8_t> buffer_;
  // Batch mode: the datagrams read in this wake-up, back to back, and [end, sender] per datagram.
  bool batch_ = false;
  std::vector<uint8_t> batch_bytes_;
  std::vector<uint32_t> batch_bounds_;
  Napi::FunctionReference on_message_;
  Napi::FunctionReference on_overflow_;
  Napi::FunctionReference on_error_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace tunroute
