#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "platform.h"

namespace tunroute {

int OpenRouteSocket(const std::vector<uint32_t>& groups, const char** syscall) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    *syscall = "socket";
    return -1;
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;  // nl_pid 0: the kernel assigns a unique port
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) {
    *syscall = "bind";
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  // NETLINK_ADD_MEMBERSHIP takes group numbers, not the 32-bit bind() mask, so every
  // RTNLGRP_* (some are above 32) can be joined the same way.
  for (uint32_t group : groups) {
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
      *syscall = "setsockopt";
      int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
  }
  return fd;
}

uint32_t LocalPort(int fd) {
  sockaddr_nl local{};
  socklen_t length = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) < 0) return 0;
  return local.nl_pid;
}

// One recvmsg per datagram, into a 64 KiB buffer (a peek for the size first cost a second
// system call per datagram: 15% of the daemon's CPU in a route storm). rtnetlink datagrams
// fit: a notification is one message, and netlink_dump fills a batch of at most
// max(min_dump_alloc, NLMSG_GOODSIZE) or the largest read seen, capped at
// SKB_WITH_OVERHEAD(32768) (netlink_recvmsg, net/netlink/af_netlink.c). MSG_TRUNC makes
// recvmsg return the real length; a datagram that did not fit is gone, so it is reported as
// ENOBUFS, like messages the kernel dropped: the daemon resyncs and a dump is read again.
constexpr size_t kReceiveBufferBytes = 64 << 10;

ssize_t ReceiveMessage(int fd, std::vector<uint8_t>& buf, uint32_t* sender, const char** syscall) {
  if (buf.size() < kReceiveBufferBytes) buf.resize(kReceiveBufferBytes);
  sockaddr_nl from{};
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n = recvmsg(fd, &msg, MSG_TRUNC);
  if (n < 0) {
    *syscall = "recvmsg";
    return -1;
  }
  if (static_cast<size_t>(n) > buf.size()) {
    *syscall = "recvmsg";
    errno = ENOBUFS;
    return -1;
  }
  *sender = from.nl_pid;
  return n;
}

ssize_t SendMessage(int fd, const uint8_t* data, size_t length, const char** syscall) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n = sendto(fd, data, length, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  if (n < 0) *syscall = "sendto";
  return n;
}

}  // namespace tunroute

namespace tunroute {

int SetReceiveBufferSize(int fd, int size, const char** syscall) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == 0) return 0;
  if (errno != EPERM) {
    *syscall = "setsockopt";
    return -1;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0) {
    *syscall = "setsockopt";
    return -1;
  }
  return 0;
}

}  // namespace tunroute
