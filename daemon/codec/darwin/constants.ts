/**
 * @module codec/darwin/constants
 * The macOS (XNU) PF_ROUTE constants, struct sizes and field offsets the codec uses.
 * Values come from xnu-11417 headers (reference: xnu-routing-socket.md §1, §2, §6); each
 * entry is keyed by its C name and names the header it is defined in. Entries marked
 * `private` are not in the public macOS SDK, so the ABI probe cannot check them.
 * scripts/check-darwin-abi.ts compares every public value here with the SDK on macOS.
 *
 * The route(4) man page has the classic BSD layout and different RTV_* values; do not
 * "fix" anything here from it (reference §1.12).
 */

export interface CConstant {
  readonly value: number;
  readonly header: string;
  /** Defined only in XNU's private headers; absent from the SDK. */
  readonly private?: boolean;
}

export type ConstantTable = Readonly<Record<string, CConstant>>;

const ROUTE_H = 'net/route.h';
const ROUTE_PRIVATE_H = 'net/route_private.h';
const SOCKET_H = 'sys/socket.h';
const SOCKET_PRIVATE_H = 'sys/socket_private.h';
const IF_H = 'net/if.h';
const IF_TYPES_H = 'net/if_types.h';

export const RTM_VERSION = { value: 5, header: ROUTE_H } as const;
export const CTL_NET = { value: 4, header: 'sys/sysctl.h' } as const;
export const PF_ROUTE = { value: 17, header: SOCKET_H } as const;

/** Message types (rtm_type). Which header layout each one uses is in decode.ts. */
export const RTM = {
  RTM_ADD: { value: 0x1, header: ROUTE_H },
  RTM_DELETE: { value: 0x2, header: ROUTE_H },
  RTM_CHANGE: { value: 0x3, header: ROUTE_H },
  RTM_GET: { value: 0x4, header: ROUTE_H },
  RTM_LOSING: { value: 0x5, header: ROUTE_H },
  RTM_REDIRECT: { value: 0x6, header: ROUTE_H },
  RTM_MISS: { value: 0x7, header: ROUTE_H },
  RTM_LOCK: { value: 0x8, header: ROUTE_H },
  RTM_OLDADD: { value: 0x9, header: ROUTE_H },
  RTM_OLDDEL: { value: 0xa, header: ROUTE_H },
  RTM_RESOLVE: { value: 0xb, header: ROUTE_H },
  RTM_NEWADDR: { value: 0xc, header: ROUTE_H },
  RTM_DELADDR: { value: 0xd, header: ROUTE_H },
  RTM_IFINFO: { value: 0xe, header: ROUTE_H },
  RTM_NEWMADDR: { value: 0xf, header: ROUTE_H },
  RTM_DELMADDR: { value: 0x10, header: ROUTE_H },
  RTM_GET_SILENT: { value: 0x11, header: ROUTE_PRIVATE_H, private: true },
  RTM_IFINFO2: { value: 0x12, header: ROUTE_H },
  RTM_NEWMADDR2: { value: 0x13, header: ROUTE_H },
  RTM_GET2: { value: 0x14, header: ROUTE_H },
  RTM_GET_EXT: { value: 0x15, header: ROUTE_PRIVATE_H, private: true },
} as const satisfies ConstantTable;

/** Route flags (rtm_flags). */
export const RTF = {
  RTF_UP: { value: 0x1, header: ROUTE_H },
  RTF_GATEWAY: { value: 0x2, header: ROUTE_H },
  RTF_HOST: { value: 0x4, header: ROUTE_H },
  RTF_REJECT: { value: 0x8, header: ROUTE_H },
  RTF_DYNAMIC: { value: 0x10, header: ROUTE_H },
  RTF_MODIFIED: { value: 0x20, header: ROUTE_H },
  RTF_DONE: { value: 0x40, header: ROUTE_H },
  RTF_DELCLONE: { value: 0x80, header: ROUTE_H },
  RTF_CLONING: { value: 0x100, header: ROUTE_H },
  RTF_XRESOLVE: { value: 0x200, header: ROUTE_H },
  RTF_LLINFO: { value: 0x400, header: ROUTE_H },
  RTF_STATIC: { value: 0x800, header: ROUTE_H },
  RTF_BLACKHOLE: { value: 0x1000, header: ROUTE_H },
  RTF_NOIFREF: { value: 0x2000, header: ROUTE_H },
  RTF_PROTO2: { value: 0x4000, header: ROUTE_H },
  RTF_PROTO1: { value: 0x8000, header: ROUTE_H },
  RTF_PRCLONING: { value: 0x10000, header: ROUTE_H },
  RTF_WASCLONED: { value: 0x20000, header: ROUTE_H },
  RTF_PROTO3: { value: 0x40000, header: ROUTE_H },
  RTF_PINNED: { value: 0x100000, header: ROUTE_H },
  RTF_LOCAL: { value: 0x200000, header: ROUTE_H },
  RTF_BROADCAST: { value: 0x400000, header: ROUTE_H },
  RTF_MULTICAST: { value: 0x800000, header: ROUTE_H },
  RTF_IFSCOPE: { value: 0x1000000, header: ROUTE_H },
  RTF_CONDEMNED: { value: 0x2000000, header: ROUTE_H },
  RTF_IFREF: { value: 0x4000000, header: ROUTE_H },
  RTF_PROXY: { value: 0x8000000, header: ROUTE_H },
  RTF_ROUTER: { value: 0x10000000, header: ROUTE_H },
  RTF_DEAD: { value: 0x20000000, header: ROUTE_H },
  RTF_GLOBAL: { value: 0x40000000, header: ROUTE_H },
} as const satisfies ConstantTable;

/**
 * netstat -r flag letters, in the order netstat prints them (reference §4.5), so the
 * planner and printers can show `UCS`, `UGScI`, … Flags without a letter are left out.
 */
export const RTF_LETTERS: ReadonlyArray<readonly [letter: string, flag: keyof typeof RTF]> = [
  ['U', 'RTF_UP'],
  ['G', 'RTF_GATEWAY'],
  ['H', 'RTF_HOST'],
  ['R', 'RTF_REJECT'],
  ['D', 'RTF_DYNAMIC'],
  ['M', 'RTF_MODIFIED'],
  ['m', 'RTF_MULTICAST'],
  ['d', 'RTF_DONE'],
  ['C', 'RTF_CLONING'],
  ['X', 'RTF_XRESOLVE'],
  ['L', 'RTF_LLINFO'],
  ['S', 'RTF_STATIC'],
  ['1', 'RTF_PROTO1'],
  ['2', 'RTF_PROTO2'],
  ['W', 'RTF_WASCLONED'],
  ['c', 'RTF_PRCLONING'],
  ['3', 'RTF_PROTO3'],
  ['B', 'RTF_BLACKHOLE'],
  ['b', 'RTF_BROADCAST'],
  ['I', 'RTF_IFSCOPE'],
  ['i', 'RTF_IFREF'],
  ['Y', 'RTF_PROXY'],
  ['r', 'RTF_ROUTER'],
  ['g', 'RTF_GLOBAL'],
];

/**
 * The flag tunroute sets on every route it adds, so a restart can find its leftovers.
 *
 * RTF_PROTO1 (0x8000), as NetBird does. In XNU (checked in xnu-11417, bsd/) it is only
 * aliased as RTF_USETRAILERS in netinet/if_ether.h, and nothing sets or tests either
 * name; route_output does not mask it, so it is stored in rt_flags and comes back in
 * dumps (netstat shows it as `1`). The other two are taken: RTF_PROTO2 is RTF_ANNOUNCE
 * (ARP/ND proxy announcements, tested in in_arp.c and nd6*.c), and RTF_PROTO3 is
 * RTPRF_OURS, which in_rmx.c/in6_rmx.c set and clear on cloned routes they expire.
 */
export const TUNROUTE_TAG_FLAG = RTF.RTF_PROTO1.value;

/** Sockaddr presence bits (rtm_addrs), in the order the sockaddrs follow the header. */
export const RTA = {
  RTA_DST: { value: 0x1, header: ROUTE_H },
  RTA_GATEWAY: { value: 0x2, header: ROUTE_H },
  RTA_NETMASK: { value: 0x4, header: ROUTE_H },
  RTA_GENMASK: { value: 0x8, header: ROUTE_H },
  RTA_IFP: { value: 0x10, header: ROUTE_H },
  RTA_IFA: { value: 0x20, header: ROUTE_H },
  RTA_AUTHOR: { value: 0x40, header: ROUTE_H },
  RTA_BRD: { value: 0x80, header: ROUTE_H },
} as const satisfies ConstantTable;

export const RTAX_MAX = { value: 8, header: ROUTE_H } as const;

/** Metric bits (rtm_inits, rmx_locks). Not the route(4) page's values. */
export const RTV = {
  RTV_MTU: { value: 0x1, header: ROUTE_H },
  RTV_HOPCOUNT: { value: 0x2, header: ROUTE_H },
  RTV_EXPIRE: { value: 0x4, header: ROUTE_H },
  RTV_RPIPE: { value: 0x8, header: ROUTE_H },
  RTV_SPIPE: { value: 0x10, header: ROUTE_H },
  RTV_SSTHRESH: { value: 0x20, header: ROUTE_H },
  RTV_RTT: { value: 0x40, header: ROUTE_H },
  RTV_RTTVAR: { value: 0x80, header: ROUTE_H },
  RTV_REFRESH_HOST: { value: 0x100, header: ROUTE_PRIVATE_H, private: true },
} as const satisfies ConstantTable;

/** Interface flags (ifm_flags; the kernel stores only the low 16 bits). */
export const IFF = {
  IFF_UP: { value: 0x1, header: IF_H },
  IFF_BROADCAST: { value: 0x2, header: IF_H },
  IFF_DEBUG: { value: 0x4, header: IF_H },
  IFF_LOOPBACK: { value: 0x8, header: IF_H },
  IFF_POINTOPOINT: { value: 0x10, header: IF_H },
  IFF_RUNNING: { value: 0x40, header: IF_H },
  IFF_NOARP: { value: 0x80, header: IF_H },
  IFF_PROMISC: { value: 0x100, header: IF_H },
  IFF_ALLMULTI: { value: 0x200, header: IF_H },
  IFF_OACTIVE: { value: 0x400, header: IF_H },
  IFF_SIMPLEX: { value: 0x800, header: IF_H },
  IFF_LINK0: { value: 0x1000, header: IF_H },
  IFF_LINK1: { value: 0x2000, header: IF_H },
  IFF_LINK2: { value: 0x4000, header: IF_H },
  IFF_MULTICAST: { value: 0x8000, header: IF_H },
} as const satisfies ConstantTable;

/** Interface-address flags (ifam_flags): the address's ifa_flags, which reuse RTF bits. */
export const IFA = {
  IFA_ROUTE: { value: 0x1, header: 'net/if_var_private.h', private: true },
  IFA_CLONING: { value: 0x100, header: 'net/if_var_private.h', private: true },
} as const satisfies ConstantTable;

export const AF = {
  AF_UNSPEC: { value: 0, header: SOCKET_H },
  AF_INET: { value: 2, header: SOCKET_H },
  AF_ROUTE: { value: 17, header: SOCKET_H },
  AF_LINK: { value: 18, header: SOCKET_H },
  AF_INET6: { value: 30, header: SOCKET_H },
  AF_MAX: { value: 41, header: SOCKET_H },
} as const satisfies ConstantTable;

/** Interface types (sdl_type, ifi_type). utun is IFT_OTHER. */
export const IFT = {
  IFT_OTHER: { value: 0x1, header: IF_TYPES_H },
  IFT_ETHER: { value: 0x6, header: IF_TYPES_H },
  IFT_PPP: { value: 0x17, header: IF_TYPES_H },
  IFT_LOOP: { value: 0x18, header: IF_TYPES_H },
  IFT_GIF: { value: 0x37, header: IF_TYPES_H },
  IFT_STF: { value: 0x39, header: IF_TYPES_H },
  IFT_L2VLAN: { value: 0x87, header: IF_TYPES_H },
  IFT_IEEE8023ADLAG: { value: 0x88, header: IF_TYPES_H },
  IFT_IEEE1394: { value: 0x90, header: IF_TYPES_H },
  IFT_BRIDGE: { value: 0xd1, header: IF_TYPES_H },
  IFT_CELLULAR: { value: 0xff, header: IF_TYPES_H },
} as const satisfies ConstantTable;

/** sysctl {CTL_NET, PF_ROUTE, 0, af, op, arg} operations (reference §6). */
export const NET_RT = {
  NET_RT_DUMP: { value: 1, header: SOCKET_H },
  NET_RT_FLAGS: { value: 2, header: SOCKET_H },
  NET_RT_IFLIST: { value: 3, header: SOCKET_H },
  NET_RT_STAT: { value: 4, header: SOCKET_H },
  NET_RT_TRASH: { value: 5, header: SOCKET_H },
  NET_RT_IFLIST2: { value: 6, header: SOCKET_H },
  NET_RT_DUMP2: { value: 7, header: SOCKET_H },
  NET_RT_DUMPX: { value: 8, header: SOCKET_PRIVATE_H, private: true },
  NET_RT_DUMPX_FLAGS: { value: 9, header: SOCKET_PRIVATE_H, private: true },
  NET_RT_FLAGS_PRIV: { value: 10, header: SOCKET_H },
  NET_RT_STAT_64: { value: 11, header: SOCKET_PRIVATE_H, private: true },
  NET_RT_MAXID: { value: 11, header: SOCKET_H },
} as const satisfies ConstantTable;

/** sizeof of every struct the codec reads or writes, on 64-bit macOS. */
export const SIZEOF = {
  rt_msghdr: { value: 92, header: ROUTE_H },
  rt_msghdr2: { value: 92, header: ROUTE_H },
  rt_metrics: { value: 56, header: ROUTE_H },
  rt_msghdr_ext: { value: 136, header: ROUTE_PRIVATE_H, private: true },
  if_msghdr: { value: 112, header: IF_H },
  if_msghdr2: { value: 160, header: IF_H },
  if_data: { value: 96, header: 'net/if_var.h' },
  if_data64: { value: 128, header: 'net/if_var.h' },
  ifa_msghdr: { value: 20, header: IF_H },
  ifma_msghdr: { value: 16, header: IF_H },
  ifma_msghdr2: { value: 20, header: IF_H },
  sockaddr: { value: 16, header: SOCKET_H },
  sockaddr_in: { value: 16, header: 'netinet/in.h' },
  sockaddr_in6: { value: 28, header: 'netinet6/in6.h' },
  /** The minimum: sdl_data is declared as 12 bytes, real ones may be longer. */
  sockaddr_dl: { value: 20, header: 'net/if_dl.h' },
  sockaddr_storage: { value: 128, header: SOCKET_H },
} as const satisfies ConstantTable;

/**
 * Field offsets, keyed `struct.field` as the C probe spells them for offsetof().
 * Offsets within if_data / if_data64 are given relative to the enclosing message.
 */
export const OFFSETOF = {
  'rt_msghdr.rtm_msglen': { value: 0, header: ROUTE_H },
  'rt_msghdr.rtm_version': { value: 2, header: ROUTE_H },
  'rt_msghdr.rtm_type': { value: 3, header: ROUTE_H },
  'rt_msghdr.rtm_index': { value: 4, header: ROUTE_H },
  'rt_msghdr.rtm_flags': { value: 8, header: ROUTE_H },
  'rt_msghdr.rtm_addrs': { value: 12, header: ROUTE_H },
  'rt_msghdr.rtm_pid': { value: 16, header: ROUTE_H },
  'rt_msghdr.rtm_seq': { value: 20, header: ROUTE_H },
  'rt_msghdr.rtm_errno': { value: 24, header: ROUTE_H },
  'rt_msghdr.rtm_use': { value: 28, header: ROUTE_H },
  'rt_msghdr.rtm_inits': { value: 32, header: ROUTE_H },
  'rt_msghdr.rtm_rmx': { value: 36, header: ROUTE_H },
  'rt_msghdr2.rtm_refcnt': { value: 16, header: ROUTE_H },
  'rt_msghdr2.rtm_parentflags': { value: 20, header: ROUTE_H },
  'rt_msghdr2.rtm_reserved': { value: 24, header: ROUTE_H },
  'rt_msghdr2.rtm_use': { value: 28, header: ROUTE_H },
  'rt_msghdr2.rtm_inits': { value: 32, header: ROUTE_H },
  'rt_msghdr2.rtm_rmx': { value: 36, header: ROUTE_H },
  'rt_metrics.rmx_locks': { value: 0, header: ROUTE_H },
  'rt_metrics.rmx_mtu': { value: 4, header: ROUTE_H },
  'rt_metrics.rmx_hopcount': { value: 8, header: ROUTE_H },
  'rt_metrics.rmx_expire': { value: 12, header: ROUTE_H },
  'rt_metrics.rmx_recvpipe': { value: 16, header: ROUTE_H },
  'rt_metrics.rmx_sendpipe': { value: 20, header: ROUTE_H },
  'rt_metrics.rmx_ssthresh': { value: 24, header: ROUTE_H },
  'rt_metrics.rmx_rtt': { value: 28, header: ROUTE_H },
  'rt_metrics.rmx_rttvar': { value: 32, header: ROUTE_H },
  'rt_metrics.rmx_pksent': { value: 36, header: ROUTE_H },
  'rt_metrics.rmx_filler': { value: 40, header: ROUTE_H },
  'rt_msghdr_ext.rtm_index': { value: 4, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_flags': { value: 8, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_addrs': { value: 16, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_pid': { value: 20, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_seq': { value: 24, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_errno': { value: 28, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_use': { value: 32, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_inits': { value: 36, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_rmx': { value: 40, header: ROUTE_PRIVATE_H, private: true },
  'rt_msghdr_ext.rtm_ri': { value: 96, header: ROUTE_PRIVATE_H, private: true },
  'if_msghdr.ifm_addrs': { value: 4, header: IF_H },
  'if_msghdr.ifm_flags': { value: 8, header: IF_H },
  'if_msghdr.ifm_index': { value: 12, header: IF_H },
  'if_msghdr.ifm_data': { value: 16, header: IF_H },
  'if_msghdr.ifm_data.ifi_type': { value: 16, header: IF_H },
  'if_msghdr.ifm_data.ifi_typelen': { value: 17, header: IF_H },
  'if_msghdr.ifm_data.ifi_physical': { value: 18, header: IF_H },
  'if_msghdr.ifm_data.ifi_addrlen': { value: 19, header: IF_H },
  'if_msghdr.ifm_data.ifi_hdrlen': { value: 20, header: IF_H },
  'if_msghdr.ifm_data.ifi_recvquota': { value: 21, header: IF_H },
  'if_msghdr.ifm_data.ifi_xmitquota': { value: 22, header: IF_H },
  'if_msghdr.ifm_data.ifi_mtu': { value: 24, header: IF_H },
  'if_msghdr.ifm_data.ifi_metric': { value: 28, header: IF_H },
  'if_msghdr.ifm_data.ifi_baudrate': { value: 32, header: IF_H },
  'if_msghdr.ifm_data.ifi_ipackets': { value: 36, header: IF_H },
  'if_msghdr.ifm_data.ifi_ierrors': { value: 40, header: IF_H },
  'if_msghdr.ifm_data.ifi_opackets': { value: 44, header: IF_H },
  'if_msghdr.ifm_data.ifi_oerrors': { value: 48, header: IF_H },
  'if_msghdr.ifm_data.ifi_collisions': { value: 52, header: IF_H },
  'if_msghdr.ifm_data.ifi_ibytes': { value: 56, header: IF_H },
  'if_msghdr.ifm_data.ifi_obytes': { value: 60, header: IF_H },
  'if_msghdr.ifm_data.ifi_imcasts': { value: 64, header: IF_H },
  'if_msghdr.ifm_data.ifi_omcasts': { value: 68, header: IF_H },
  'if_msghdr.ifm_data.ifi_iqdrops': { value: 72, header: IF_H },
  'if_msghdr.ifm_data.ifi_noproto': { value: 76, header: IF_H },
  'if_msghdr.ifm_data.ifi_recvtiming': { value: 80, header: IF_H },
  'if_msghdr.ifm_data.ifi_xmittiming': { value: 84, header: IF_H },
  'if_msghdr.ifm_data.ifi_lastchange': { value: 88, header: IF_H },
  'if_msghdr.ifm_data.ifi_hwassist': { value: 100, header: IF_H },
  'if_msghdr2.ifm_addrs': { value: 4, header: IF_H },
  'if_msghdr2.ifm_flags': { value: 8, header: IF_H },
  'if_msghdr2.ifm_index': { value: 12, header: IF_H },
  'if_msghdr2.ifm_snd_len': { value: 16, header: IF_H },
  'if_msghdr2.ifm_snd_maxlen': { value: 20, header: IF_H },
  'if_msghdr2.ifm_snd_drops': { value: 24, header: IF_H },
  'if_msghdr2.ifm_timer': { value: 28, header: IF_H },
  'if_msghdr2.ifm_data': { value: 32, header: IF_H },
  'if_msghdr2.ifm_data.ifi_type': { value: 32, header: IF_H },
  'if_msghdr2.ifm_data.ifi_mtu': { value: 40, header: IF_H },
  'if_msghdr2.ifm_data.ifi_metric': { value: 44, header: IF_H },
  'if_msghdr2.ifm_data.ifi_baudrate': { value: 48, header: IF_H },
  'if_msghdr2.ifm_data.ifi_ipackets': { value: 56, header: IF_H },
  'if_msghdr2.ifm_data.ifi_ierrors': { value: 64, header: IF_H },
  'if_msghdr2.ifm_data.ifi_opackets': { value: 72, header: IF_H },
  'if_msghdr2.ifm_data.ifi_oerrors': { value: 80, header: IF_H },
  'if_msghdr2.ifm_data.ifi_collisions': { value: 88, header: IF_H },
  'if_msghdr2.ifm_data.ifi_ibytes': { value: 96, header: IF_H },
  'if_msghdr2.ifm_data.ifi_obytes': { value: 104, header: IF_H },
  'if_msghdr2.ifm_data.ifi_imcasts': { value: 112, header: IF_H },
  'if_msghdr2.ifm_data.ifi_omcasts': { value: 120, header: IF_H },
  'if_msghdr2.ifm_data.ifi_iqdrops': { value: 128, header: IF_H },
  'if_msghdr2.ifm_data.ifi_noproto': { value: 136, header: IF_H },
  'if_msghdr2.ifm_data.ifi_recvtiming': { value: 144, header: IF_H },
  'if_msghdr2.ifm_data.ifi_xmittiming': { value: 148, header: IF_H },
  'if_msghdr2.ifm_data.ifi_lastchange': { value: 152, header: IF_H },
  'ifa_msghdr.ifam_addrs': { value: 4, header: IF_H },
  'ifa_msghdr.ifam_flags': { value: 8, header: IF_H },
  'ifa_msghdr.ifam_index': { value: 12, header: IF_H },
  'ifa_msghdr.ifam_metric': { value: 16, header: IF_H },
  'ifma_msghdr.ifmam_addrs': { value: 4, header: IF_H },
  'ifma_msghdr.ifmam_flags': { value: 8, header: IF_H },
  'ifma_msghdr.ifmam_index': { value: 12, header: IF_H },
  'ifma_msghdr2.ifmam_addrs': { value: 4, header: IF_H },
  'ifma_msghdr2.ifmam_flags': { value: 8, header: IF_H },
  'ifma_msghdr2.ifmam_index': { value: 12, header: IF_H },
  'ifma_msghdr2.ifmam_refcount': { value: 16, header: IF_H },
  'sockaddr_in.sin_port': { value: 2, header: 'netinet/in.h' },
  'sockaddr_in.sin_addr': { value: 4, header: 'netinet/in.h' },
  'sockaddr_in6.sin6_port': { value: 2, header: 'netinet6/in6.h' },
  'sockaddr_in6.sin6_flowinfo': { value: 4, header: 'netinet6/in6.h' },
  'sockaddr_in6.sin6_addr': { value: 8, header: 'netinet6/in6.h' },
  'sockaddr_in6.sin6_scope_id': { value: 24, header: 'netinet6/in6.h' },
  'sockaddr_dl.sdl_index': { value: 2, header: 'net/if_dl.h' },
  'sockaddr_dl.sdl_type': { value: 4, header: 'net/if_dl.h' },
  'sockaddr_dl.sdl_nlen': { value: 5, header: 'net/if_dl.h' },
  'sockaddr_dl.sdl_alen': { value: 6, header: 'net/if_dl.h' },
  'sockaddr_dl.sdl_slen': { value: 7, header: 'net/if_dl.h' },
  'sockaddr_dl.sdl_data': { value: 8, header: 'net/if_dl.h' },
} as const satisfies ConstantTable;

/** Every table, by the group name the ABI probe prints them under. */
export const ALL_CONSTANTS = {
  RTM,
  RTF,
  RTA,
  RTV,
  IFF,
  AF,
  IFT,
  NET_RT,
  misc: { RTM_VERSION, CTL_NET, PF_ROUTE, RTAX_MAX },
  sizeof: SIZEOF,
  offsetof: OFFSETOF,
} as const;

/** The names of the bits set in `value`, prefix stripped, in bit order; unknown bits as `0x…`. */
export function bitNames(value: number, table: ConstantTable, prefix: string): string[] {
  const names: string[] = [];
  let known = 0;
  const entries = Object.entries(table).sort((a, b) => a[1].value - b[1].value);
  for (const [name, c] of entries) {
    // Skip zero and multi-bit entries so each bit is named once.
    if (c.value === 0 || (c.value & (c.value - 1)) !== 0) continue;
    if ((value & c.value) !== 0 && (known & c.value) === 0) {
      names.push(name.startsWith(prefix) ? name.slice(prefix.length) : name);
      known |= c.value;
    }
  }
  const rest = (value & ~known) >>> 0;
  for (let bit = 0; bit < 32; bit++) {
    const b = (2 ** bit) >>> 0;
    if ((rest & b) >>> 0 !== 0) names.push(`0x${b.toString(16)}`);
  }
  return names;
}

/** The inverse of bitNames: names with or without prefix, or `0x…` for raw bits. Throws on an unknown name. */
export function bitsFromNames(names: readonly string[], table: ConstantTable, prefix: string): number {
  let value = 0;
  for (const raw of names) {
    const name = raw.toUpperCase();
    const entry = table[name.startsWith(prefix) ? name : prefix + name];
    if (entry !== undefined) value |= entry.value;
    else if (/^0X[0-9A-F]+$/.test(name)) value |= parseInt(name.slice(2), 16);
    else throw new RangeError(`unknown ${prefix}* flag "${raw}"`);
  }
  return value >>> 0;
}

/** The C name of a value in a table (e.g. 1 → "RTM_ADD"), or undefined. */
export function nameOf(value: number, table: ConstantTable): string | undefined {
  let names = NAMES_BY_VALUE.get(table);
  if (names === undefined) {
    // Built once per table: a message decoder asks for a name per message.
    names = new Map();
    for (const [name, c] of Object.entries(table)) if (!names.has(c.value)) names.set(c.value, name);
    NAMES_BY_VALUE.set(table, names);
  }
  return names.get(value);
}

const NAMES_BY_VALUE = new WeakMap<ConstantTable, Map<number, string>>();

/** netstat's letters for a flag word (`0x801` → `US`). */
export function netstatLetters(flags: number): string {
  return RTF_LETTERS.filter(([, f]) => (flags & RTF[f].value) !== 0)
    .map(([letter]) => letter)
    .join('');
}
