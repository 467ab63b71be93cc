// The OS-specific syscalls behind RouteSocket and the lookups. Each returns -1 with errno
// set on failure and names the failing call in *syscall, so the caller can build the error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <sys/types.h>
#include <vector>

namespace tunroute {

// Opens the routing socket non-blocking and close-on-exec. On Linux it is a NETLINK_ROUTE
// socket joined to `groups` (RTNLGRP_* numbers); macOS has no groups, and names none.
int OpenRouteSocket(const std::vector<uint32_t>& groups, const char** syscall);

// The socket's own address: the netlink port id on Linux, 0 on macOS (replies there are
// matched on the pid the kernel writes into rtm_pid).
uint32_t LocalPort(int fd);

// Receives one datagram into the first bytes of buf (grown to 64 KiB). *sender is the
// netlink port of the sender on Linux (0 = the kernel) and 0 on macOS. Returns the length
// or -1; on Linux a datagram larger than buf is lost and reported as ENOBUFS.
ssize_t ReceiveMessage(int fd, std::vector<uint8_t>& buf, uint32_t* sender, const char** syscall);

// Sends one message to the kernel. Returns the bytes written or -1.
ssize_t SendMessage(int fd, const uint8_t* data, size_t length, const char** syscall);

}  // namespace tunroute

namespace tunroute {

// SO_RCVBUF; on Linux SO_RCVBUFFORCE first, so root is not capped by net.core.rmem_max.
int SetReceiveBufferSize(int fd, int size, const char** syscall);

#ifdef __APPLE__
// sysctl {CTL_NET, PF_ROUTE, 0, af, op, arg}: the raw table or interface dump. Retries
// while the table grows between the size query and the copy (ENOMEM).
int SysctlRouteDump(int af, int op, int arg, std::vector<uint8_t>& out, const char** syscall);
#endif

}  // namespace tunroute
