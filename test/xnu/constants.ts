/**
 * @module test/xnu/constants
 * The XNU numbers the model needs. They are duplicated here on purpose instead of being
 * imported from daemon/codec/darwin: the model exists to check that codec independently,
 * so a wrong value there must not silently become a wrong value here too.
 * Values: apple-oss-distributions/xnu bsd/net/route.h, route_private.h, if.h, if_types.h,
 * bsd/sys/socket.h, bsd/sys/errno.h (see /work/shared/reference/xnu-routing-socket.md §1–§2).
 */

/** bsd/net/route.h */
export const RTM_VERSION = 5;

/** bsd/net/route.h (RTM_GET_SILENT, RTM_GET_EXT: route_private.h) */
export const RTM = {
  ADD: 0x1,
  DELETE: 0x2,
  CHANGE: 0x3,
  GET: 0x4,
  LOSING: 0x5,
  REDIRECT: 0x6,
  MISS: 0x7,
  LOCK: 0x8,
  OLDADD: 0x9,
  OLDDEL: 0xa,
  RESOLVE: 0xb,
  NEWADDR: 0xc,
  DELADDR: 0xd,
  IFINFO: 0xe,
  NEWMADDR: 0xf,
  DELMADDR: 0x10,
  GET_SILENT: 0x11,
  IFINFO2: 0x12,
  NEWMADDR2: 0x13,
  GET2: 0x14,
  GET_EXT: 0x15,
} as const;

/** bsd/net/route.h RTF_* */
export const RTF = {
  UP: 0x1,
  GATEWAY: 0x2,
  HOST: 0x4,
  REJECT: 0x8,
  DYNAMIC: 0x10,
  MODIFIED: 0x20,
  DONE: 0x40,
  DELCLONE: 0x80,
  CLONING: 0x100,
  XRESOLVE: 0x200,
  LLINFO: 0x400,
  STATIC: 0x800,
  BLACKHOLE: 0x1000,
  NOIFREF: 0x2000,
  PROTO2: 0x4000,
  PROTO1: 0x8000,
  PRCLONING: 0x10000,
  WASCLONED: 0x20000,
  PROTO3: 0x40000,
  PINNED: 0x100000,
  LOCAL: 0x200000,
  BROADCAST: 0x400000,
  MULTICAST: 0x800000,
  IFSCOPE: 0x1000000,
  CONDEMNED: 0x2000000,
  IFREF: 0x4000000,
  PROXY: 0x8000000,
  ROUTER: 0x10000000,
  DEAD: 0x20000000,
  GLOBAL: 0x40000000,
} as const;

/** bsd/net/route.h RTA_* (bit i is RTAX index i) */
export const RTA = {
  DST: 0x1,
  GATEWAY: 0x2,
  NETMASK: 0x4,
  GENMASK: 0x8,
  IFP: 0x10,
  IFA: 0x20,
  AUTHOR: 0x40,
  BRD: 0x80,
} as const;

/** bsd/net/route.h RTAX_* */
export const RTAX = { DST: 0, GATEWAY: 1, NETMASK: 2, GENMASK: 3, IFP: 4, IFA: 5, AUTHOR: 6, BRD: 7, MAX: 8 } as const;

/** bsd/net/route.h RTV_* */
export const RTV = {
  MTU: 0x1,
  HOPCOUNT: 0x2,
  EXPIRE: 0x4,
  RPIPE: 0x8,
  SPIPE: 0x10,
  SSTHRESH: 0x20,
  RTT: 0x40,
  RTTVAR: 0x80,
  REFRESH_HOST: 0x100,
} as const;

/** bsd/sys/socket.h */
export const AF = { UNSPEC: 0, INET: 2, ROUTE: 17, LINK: 18, INET6: 30, MAX: 41 } as const;

/** bsd/sys/socket.h NET_RT_* (sysctl {CTL_NET, PF_ROUTE, 0, af, op, arg}) */
export const NET_RT = { DUMP: 1, FLAGS: 2, IFLIST: 3, STAT: 4, TRASH: 5, IFLIST2: 6, DUMP2: 7, FLAGS_PRIV: 10 } as const;

/** bsd/net/if.h IFF_* */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  DEBUG: 0x4,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  ALLMULTI: 0x200,
  SIMPLEX: 0x800,
  MULTICAST: 0x8000,
} as const;

/** bsd/netinet/in_var.h IFA_ROUTE: the address has its interface route installed. */
export const IFA_ROUTE = 0x1;

/** bsd/net/if_types.h */
export const IFT = { OTHER: 0x1, ETHER: 0x6, LOOP: 0x18, GIF: 0x37, STF: 0x39 } as const;

/** Header sizes on LP64 macOS (reference §1). */
export const SIZE = {
  rt_msghdr: 92,
  rt_msghdr2: 92,
  if_msghdr: 112,
  if_data: 96,
  ifa_msghdr: 20,
  ifma_msghdr: 16,
  rt_metrics: 56,
  sockaddr_in: 16,
  sockaddr_in6: 28,
  sockaddr_dl_min: 20,
  sockaddr_storage: 128,
} as const;

/**
 * Darwin errno numbers (bsd/sys/errno.h) with the strerror text, so a thrown error looks
 * like the one the addon builds. Darwin's EOPNOTSUPP is 102, not Linux's 95.
 */
export const ERRNO = {
  EPERM: { errno: 1, text: 'Operation not permitted' },
  ESRCH: { errno: 3, text: 'No such process' },
  EBADF: { errno: 9, text: 'Bad file descriptor' },
  ENOMEM: { errno: 12, text: 'Cannot allocate memory' },
  EBUSY: { errno: 16, text: 'Resource busy' },
  EEXIST: { errno: 17, text: 'File exists' },
  EINVAL: { errno: 22, text: 'Invalid argument' },
  EPROTONOSUPPORT: { errno: 43, text: 'Protocol not supported' },
  ENOTSUP: { errno: 45, text: 'Operation not supported' },
  EAFNOSUPPORT: { errno: 47, text: 'Address family not supported by protocol family' },
  EADDRINUSE: { errno: 48, text: 'Address already in use' },
  EADDRNOTAVAIL: { errno: 49, text: "Can't assign requested address" },
  ENETUNREACH: { errno: 51, text: 'Network is unreachable' },
  ENOBUFS: { errno: 55, text: 'No buffer space available' },
  EISCONN: { errno: 56, text: 'Socket is already connected' },
  EHOSTUNREACH: { errno: 65, text: 'No route to host' },
  EOPNOTSUPP: { errno: 102, text: 'Operation not supported on socket' },
} as const;

export type ErrnoName = keyof typeof ERRNO;

export function errnoName(errno: number): ErrnoName | undefined {
  for (const [name, value] of Object.entries(ERRNO)) if (value.errno === errno) return name as ErrnoName;
  return undefined;
}

/** raw_cb.h RAWRCVQ: the route socket's default SO_RCVBUF (raw_attach → soreserve). */
export const RAW_RECVSPACE = 8192;
/** uipc_socket2.c sb_max_adj = SB_MAX (8 MiB) * MCLBYTES / (MSIZE + MCLBYTES): the SO_RCVBUF ceiling. */
export const SB_MAX_ADJ = Math.floor((8 * 1024 * 1024 * 2048) / (256 + 2048));
/** rtsock.c route_src: sa_len 2, family PF_ROUTE; sbappendaddr charges its length too. */
export const ROUTE_SRC_LEN = 2;
