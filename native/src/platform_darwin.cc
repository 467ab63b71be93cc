#include <errno.h>
#include <fcntl.h>
#include <net/route.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <unistd.h>

#include "platform.h"

namespace tunroute {

int OpenRouteSocket(const std::vector<uint32_t>& groups, const char** syscall) {
  if (!groups.empty()) {
    // PF_ROUTE has no multicast groups: every routing socket sees every message.
    *syscall = "socket";
    errno = EINVAL;
    return -1;
  }
  // Protocol 0 (AF_UNSPEC): a socket opened for one family misses RTM_IFINFO and the
  // echoes tagged 0 (reference section 3.6).
  int fd = socket(PF_ROUTE, SOCK_RAW, 0);
  if (fd < 0) {
    *syscall = "socket";
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    *syscall = "fcntl";
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

uint32_t LocalPort(int fd) { return 0; }

ssize_t ReceiveMessage(int fd, std::vector<uint8_t>& buf, uint32_t* sender, const char** syscall) {
  // rtm_msglen is 16 bits, so one routing message always fits in 64 KiB.
  if (buf.size() < 65536) buf.resize(65536);
  ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  if (n < 0) {
    *syscall = "recv";
    return -1;
  }
  *sender = 0;
  return n;
}

ssize_t SendMessage(int fd, const uint8_t* data, size_t length, const char** syscall) {
  // write(), not sendto(): the route socket is pre-connected and sendto with an address
  // fails with EISCONN. The kernel's verdict on the request comes back as write's errno.
  ssize_t n = write(fd, data, length);
  if (n < 0) *syscall = "write";
  return n;
}

}  // namespace tunroute

namespace tunroute {

int SetReceiveBufferSize(int fd, int size, const char** syscall) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0) {
    *syscall = "setsockopt";
    return -1;
  }
  return 0;
}

int SysctlRouteDump(int af, int op, int arg, std::vector<uint8_t>& out, const char** syscall) {
  int mib[6] = {CTL_NET, PF_ROUTE, 0, af, op, arg};
  for (int attempt = 0; attempt < 10; attempt++) {
    size_t needed = 0;
    if (sysctl(mib, 6, nullptr, &needed, nullptr, 0) < 0) {
      *syscall = "sysctl";
      return -1;
    }
    // Headroom for routes added between the two calls.
    out.resize(needed + needed / 8 + 1024);
    size_t got = out.size();
    if (sysctl(mib, 6, out.data(), &got, nullptr, 0) == 0) {
      out.resize(got);
      return 0;
    }
    if (errno != ENOMEM) {
      *syscall = "sysctl";
      return -1;
    }
  }
  *syscall = "sysctl";
  errno = ENOMEM;
  return -1;
}

}  // namespace tunroute
