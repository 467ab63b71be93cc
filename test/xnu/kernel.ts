/**
 * @module test/xnu/kernel
 * A simulated XNU routing table and interface list that speaks the real PF_ROUTE wire
 * format, for running the daemon's macOS code on Linux. It follows xnu-11417.101.15:
 * rtsock.c route_output (request checks in order, echoes, rebuilt GET/DELETE replies),
 * route.c rtrequest_common_locked / rt_lookup_common / rt_setgate / rt_setif /
 * ifa_ifwithroute (scoped routing, primary interface), in_rmx.c in_addroute (flags the
 * kernel adds), in.c in_ifinit and the interface lifecycle of §7 of the reference.
 *
 * Not modelled (each would need far more of the kernel): protocol cloning (ARP/ND host
 * entries, PRCLONING clones) and RTM_RESOLVE, RTM_MISS/REDIRECT, IPv6 embedded scope ids,
 * per-family socket protocols (every socket is protocol 0, as the addon opens it),
 * SO_USELOOPBACK off, NET_RT_IFLIST2 / DUMPX, entitlement and MAC scrubbing.
 */
import {
  AF, ERRNO, IFA_ROUTE, IFF, IFT, NET_RT, RTA, RTAX, RTF, RTM, RTM_VERSION, RTV, SIZE, type ErrnoName,
} from './constants.js';
import { netstatRows, type NetstatRow } from './netstat.js';
import { XnuRouteSocket, systemError, type SocketKernel, type XnuSocketOptions } from './socket.js';
import {
  addrLength, emptyInfo, formatIPv4, formatIPv6, kernelIfaMask, kernelRouteMask, parseIP, parseIPv4,
  prefixMask, readRtHeader, rtMsg1, rtMsg2, rtXaddrs, saLen, sockaddrAddress, sockaddrDl, sockaddrIn,
  sockaddrIn6, type AddrInfo,
} from './wire.js';

export type Family = typeof AF.INET | typeof AF.INET6;

/** One interface address (struct ifaddr). The link-level one has family AF_LINK. */
export interface XnuIfAddr {
  family: number;
  /** ifa_addr as a sockaddr. */
  sa: Uint8Array;
  /** Address bytes (4 or 16) for INET/INET6. */
  addr: Uint8Array;
  /** Netmask address bytes; undefined for the link address. */
  mask?: Uint8Array;
  /** ifa_dstaddr: the peer (point-to-point), broadcast address, or own address (loopback). */
  dst?: Uint8Array;
  /** ia_dstaddr exists but is empty (point-to-point address configured without a peer). */
  emptyDst?: boolean;
  flags: number;
  ifp: XnuInterface;
}

export interface XnuInterface {
  index: number;
  name: string;
  type: number;
  flags: number;
  mtu: number;
  metric: number;
  baudrate: number;
  hdrlen: number;
  lladdr: Uint8Array;
  /** if_lladdr: always first in the address list. */
  link: XnuIfAddr;
  addrs: XnuIfAddr[];
  /** Joined IPv4/IPv6 multicast groups (address bytes as text). */
  groups: Set<string>;
  lastChange: number;
}

export interface XnuRoute {
  family: Family;
  /** Destination address bytes, already masked. */
  key: Uint8Array;
  /** Mask address bytes; null = host entry (no mask in the tree). */
  mask: Uint8Array | null;
  /** Interface scope; 0 = unscoped. */
  scope: number;
  /** rt_gateway exactly as stored (AF_INET gateways of scoped routes carry a scope id in sin_zero). */
  gateway: Uint8Array;
  flags: number;
  ifp: XnuInterface;
  ifa: XnuIfAddr;
  /** rt_metrics, 14 u32 in header order. */
  rmx: number[];
  genmask: Uint8Array | undefined;
  use: number;
  /** Insertion order, for stable dupedkey ordering. */
  serial: number;
}

export interface InterfaceSpec {
  name: string;
  type: number;
  flags: number;
  mtu: number;
  lladdr?: Uint8Array;
  hdrlen?: number;
  baudrate?: number;
}

export interface XnuKernelOptions {
  /** Calendar seconds for if_data.ifi_lastchange; default Date.now()/1000. */
  now?: () => number;
}

const RMX = { locks: 0, mtu: 1, hopcount: 2, expire: 3, recvpipe: 4, sendpipe: 5, ssthresh: 6, rtt: 7, rttvar: 8, pksent: 9 } as const;

class KernelError extends Error {
  readonly errname: ErrnoName;
  constructor(name: ErrnoName) {
    super(name);
    this.errname = name;
  }
}

function fail(name: ErrnoName): never {
  throw new KernelError(name);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** sa_equal: same sa_len and the same first sa_len bytes. */
function saEqual(a: Uint8Array, b: Uint8Array): boolean {
  const la = saLen(a);
  if (la !== saLen(b)) return false;
  for (let i = 0; i < la; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false;
  return true;
}

function isZero(a: Uint8Array): boolean {
  return a.every((b) => b === 0);
}

function masked(addr: Uint8Array, mask: Uint8Array | null): Uint8Array {
  if (mask === null) return addr.slice();
  return addr.map((b, i) => b & (mask[i] ?? 0));
}

function ones(mask: Uint8Array | null, family: number): number {
  if (mask === null) return addrLength(family) * 8 + 1;
  let n = 0;
  for (const b of mask) for (let j = 0; j < 8; j++) if (b & (1 << j)) n++;
  return n;
}

function hex(a: Uint8Array): string {
  return Buffer.from(a).toString('hex');
}

export function formatAddress(family: number, a: Uint8Array): string {
  return family === AF.INET6 ? formatIPv6(a) : formatIPv4(a);
}

export class XnuKernel implements SocketKernel {
  private readonly ifnet = new Map<number, XnuInterface>();
  private readonly sockets = new Set<XnuRouteSocket>();
  private table: XnuRoute[] = [];
  private nextIndex = 1;
  private serial = 0;
  private readonly primary = { [AF.INET]: 0, [AF.INET6]: 0 } as Record<number, number>;
  private readonly now: () => number;

  constructor(options: XnuKernelOptions = {}) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  // -------------------------------------------------------------------------------------
  // Sockets

  /** A routing socket for "another process" (route(8), configd, another VPN) or for a binding. */
  openSocket(options: XnuSocketOptions): XnuRouteSocket {
    const socket = new XnuRouteSocket(this, options);
    this.sockets.add(socket);
    return socket;
  }

  detach(socket: XnuRouteSocket): void {
    this.sockets.delete(socket);
  }

  openSockets(): XnuRouteSocket[] {
    return [...this.sockets];
  }

  private readonly taps = new Set<(bytes: Uint8Array) => void>();

  /**
   * A test instrument, not a socket (think dtrace on raw_input): `tap` sees every message the
   * kernel broadcasts, synchronously, at the moment the table changed. Returns the removal.
   */
  tap(listener: (bytes: Uint8Array) => void): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  /** raw_input: a copy to every open routing socket; full buffers drop it silently. */
  private broadcast(bytes: Uint8Array): void {
    for (const t of this.taps) t(bytes.slice());
    for (const s of this.sockets) s.append(bytes);
  }

  // -------------------------------------------------------------------------------------
  // Interfaces

  /** The primary interface index for a family (route.c get_primary_ifscope); 0 = none. */
  primaryInterface(family: Family): number {
    return this.primary[family] ?? 0;
  }

  interfaces(): XnuInterface[] {
    return [...this.ifnet.values()];
  }

  nameToIndex(name: string): number {
    for (const ifp of this.ifnet.values()) if (ifp.name === name) return ifp.index;
    return 0;
  }

  indexToName(index: number): string | undefined {
    return this.ifnet.get(index)?.name;
  }

  getInterface(name: string): XnuInterface {
    const index = this.nameToIndex(name);
    const ifp = this.ifnet.get(index);
    if (ifp === undefined) throw new Error(`no interface ${name}`);
    return ifp;
  }

  /** The interface's own link sockaddr (IFP), sized like dlil_subr.c does. */
  linkSockaddr(ifp: XnuInterface): Uint8Array {
    return sockaddrDl({ index: ifp.index, type: ifp.type, name: ifp.name, lladdr: ifp.lladdr });
  }

  /**
   * ifnet_attach: a new index from if_next_index (monotonic; a re-created utun gets a fresh
   * one). No routing message: attach is announced on the kernel-event socket only (§7).
   */
  createInterface(spec: InterfaceSpec): XnuInterface {
    if (this.nameToIndex(spec.name) !== 0) throw new Error(`interface ${spec.name} exists`);
    const index = this.nextIndex++;
    const ifp: XnuInterface = {
      index,
      name: spec.name,
      type: spec.type,
      flags: spec.flags,
      mtu: spec.mtu,
      metric: 0,
      baudrate: spec.baudrate ?? 0,
      hdrlen: spec.hdrlen ?? 0,
      lladdr: spec.lladdr ?? new Uint8Array(0),
      link: undefined as unknown as XnuIfAddr,
      addrs: [],
      groups: new Set(),
      lastChange: this.now(),
    };
    ifp.link = { family: AF.LINK, sa: this.linkSockaddr(ifp), addr: new Uint8Array(0), flags: 0, ifp };
    this.ifnet.set(index, ifp);
    return ifp;
  }

  /** A utun as utun_ctl_connect makes it: lowest free unit, UP|POINTOPOINT|RUNNING|MULTICAST, silent. */
  createUtun(name?: string): XnuInterface {
    let n = name;
    if (n === undefined) {
      let unit = 0;
      while (this.nameToIndex(`utun${unit}`) !== 0) unit++;
      n = `utun${unit}`;
    }
    return this.createInterface({
      name: n,
      type: IFT.OTHER,
      flags: IFF.UP | IFF.POINTOPOINT | IFF.RUNNING | IFF.MULTICAST,
      mtu: 1500,
    });
  }

  /** SIOCSIFMTU: one RTM_IFINFO. */
  setMtu(name: string, mtu: number): void {
    const ifp = this.getInterface(name);
    if (ifp.mtu === mtu) return;
    ifp.mtu = mtu;
    this.ifinfo(ifp);
  }

  /**
   * SIOCAIFADDR for IPv4 (in.c in_ifinit). Point-to-point with a peer: RTM_NEWADDR, the RTM_ADD
   * of the peer host route, RTM_NEWMADDR 224.0.0.1 (first address only). Point-to-point without a
   * peer: no route and so no RTM_NEWADDR. Broadcast interfaces: subnet route.
   */
  addIPv4Address(name: string, spec: { address: string; peer?: string; netmask?: string; broadcast?: string }): XnuIfAddr {
    const ifp = this.getInterface(name);
    const addr = parseIPv4(spec.address);
    const mask = spec.netmask !== undefined ? parseIPv4(spec.netmask) : classfulMask(addr);
    const ifa: XnuIfAddr = { family: AF.INET, sa: sockaddrIn(addr), addr, mask, flags: 0, ifp };
    if (ifp.flags & IFF.POINTOPOINT) {
      if (spec.peer !== undefined) ifa.dst = parseIPv4(spec.peer);
      else ifa.emptyDst = true;
    } else if (ifp.flags & IFF.LOOPBACK) {
      ifa.dst = addr;
    } else if (ifp.flags & IFF.BROADCAST) {
      ifa.dst = spec.broadcast !== undefined ? parseIPv4(spec.broadcast) : addr.map((b, i) => (b & mask[i]!) | (~mask[i]! & 0xff));
    }
    ifp.addrs.push(ifa);
    // in_ifinit returns before joining 224.0.0.1 when a point-to-point address has no peer.
    if (this.inIfinit(ifa) && ifp.flags & IFF.MULTICAST) this.joinGroup(ifp, AF.INET, parseIPv4('224.0.0.1'));
    return ifa;
  }

  /** SIOCDIFADDR for IPv4: RTM_DELETE + RTM_DELADDR of its interface route, DELMADDR after the last one. */
  removeIPv4Address(name: string, address: string): void {
    const ifp = this.getInterface(name);
    const addr = parseIPv4(address);
    const ifa = ifp.addrs.find((a) => a.family === AF.INET && bytesEqual(a.addr, addr));
    if (ifa === undefined) throw new Error(`${address} is not on ${name}`);
    this.inIfscrub(ifa);
    ifp.addrs = ifp.addrs.filter((a) => a !== ifa);
    if (!ifp.addrs.some((a) => a.family === AF.INET)) this.leaveGroup(ifp, AF.INET, parseIPv4('224.0.0.1'));
  }

  /**
   * An IPv6 address (in6.c). /128 with a peer: RTM_NEWADDR + RTM_ADD of the peer route; then
   * RTM_NEWADDR + RTM_ADD of the own-address host route via lo0 (LLINFO); other prefix
   * lengths get their prefix route silently (it is only announced through rt_missmsg, which
   * these XNU versions do not deliver, §3.6). RTM_NEWMADDR for ff02::1 on the first address.
   */
  addIPv6Address(name: string, spec: { address: string; prefixLength: number; peer?: string }): XnuIfAddr {
    const ifp = this.getInterface(name);
    const addr = parseIP(spec.address);
    const mask = prefixMask(spec.prefixLength, 16);
    const ifa: XnuIfAddr = { family: AF.INET6, sa: sockaddrIn6(addr), addr, mask, flags: 0, ifp };
    if (spec.peer !== undefined) ifa.dst = parseIP(spec.peer);
    else ifa.emptyDst = true;
    const first = !ifp.addrs.some((a) => a.family === AF.INET6);
    ifp.addrs.push(ifa);
    if (ifa.dst !== undefined && spec.prefixLength === 128) {
      this.ifaRoute(ifa, RTF.UP | RTF.HOST, ifa.dst, null, ifp);
    } else if (spec.prefixLength < 128) {
      this.tryInsert({ family: AF.INET6, key: masked(addr, mask), mask, scope: 0, gateway: sockaddrDl({ index: ifp.index, type: ifp.type }), flags: RTF.UP | RTF.CLONING, ifa });
    }
    const lo = [...this.ifnet.values()].find((i) => i.flags & IFF.LOOPBACK);
    if (lo !== undefined) this.ifaRoute(ifa, RTF.UP | RTF.HOST | RTF.LLINFO, addr, null, lo);
    if (first && ifp.flags & IFF.MULTICAST) this.joinGroup(ifp, AF.INET6, parseIP('ff02::1'));
    return ifa;
  }

  /** Clears IFF_UP (if_down): §7 "Down". */
  setDown(name: string): void {
    const ifp = this.getInterface(name);
    if (!(ifp.flags & IFF.UP)) return;
    ifp.flags &= ~IFF.UP;
    ifp.lastChange = this.now();
    for (const ifa of ifp.addrs.filter((a) => a.family === AF.INET)) {
      this.inIfscrub(ifa);
      // in_ifadown(ifa, 1): every other IPv4 route using this address goes, without a message.
      this.silentlyDelete((r) => r.ifa === ifa);
    }
    this.ifinfo(ifp);
  }

  /** Sets IFF_UP (if_up): §7 "Up". Routes removed on down are not restored. */
  setUp(name: string): void {
    const ifp = this.getInterface(name);
    if (ifp.flags & IFF.UP) return;
    ifp.flags |= IFF.UP;
    ifp.lastChange = this.now();
    for (const ifa of ifp.addrs.filter((a) => a.family === AF.INET)) this.inIfinit(ifa);
    this.ifinfo(ifp);
  }

  /** Closing the utun control socket (ifnet_detach): §7 "Destroy". */
  destroyInterface(name: string): void {
    const ifp = this.getInterface(name);
    for (const ifa of ifp.addrs.filter((a) => a.family === AF.INET)) this.inIfscrub(ifa);
    ifp.addrs = ifp.addrs.filter((a) => a.family !== AF.INET);
    this.leaveGroup(ifp, AF.INET, parseIPv4('224.0.0.1'));
    // if_rtproto_del → if_rtdel: rtrequest_locked without rt_newaddrmsg.
    this.silentlyDelete((r) => r.family === AF.INET && (r.ifp === ifp || r.ifa.ifp === ifp));
    for (const ifa of ifp.addrs.filter((a) => a.family === AF.INET6)) {
      if (ifa.dst !== undefined) this.deleteIfaRoute(ifa, ifa.dst);
      this.deleteIfaRoute(ifa, ifa.addr);
    }
    ifp.addrs = [];
    this.leaveGroup(ifp, AF.INET6, parseIP('ff02::1'));
    this.silentlyDelete((r) => r.family === AF.INET6 && (r.ifp === ifp || r.ifa.ifp === ifp));
    if (ifp.flags & IFF.UP) {
      ifp.flags &= ~IFF.UP;
      this.ifinfo(ifp);
    }
    this.ifnet.delete(ifp.index);
  }

  /** rtrequest_locked(RTM_DELETE) without rt_newaddrmsg: no message, but the primary scope is cleared as usual. */
  private silentlyDelete(which: (r: XnuRoute) => boolean): void {
    for (const r of this.ordered()) if (which(r)) this.removeRoute(r);
  }

  private loopbackIndex(): number {
    for (const ifp of this.ifnet.values()) if (ifp.flags & IFF.LOOPBACK) return ifp.index;
    return 0;
  }

  /** in_ifinit's route part (after the address is set). */
  private inIfinit(ifa: XnuIfAddr): boolean {
    const ifp = ifa.ifp;
    if (ifp.flags & IFF.POINTOPOINT) {
      if (ifa.dst === undefined) return false;
      this.ifaRoute(ifa, RTF.UP | RTF.HOST, ifa.dst, null, ifp);
    } else if (ifp.flags & IFF.LOOPBACK) {
      this.ifaRoute(ifa, RTF.UP | RTF.HOST, ifa.addr, null, ifp);
    } else {
      this.ifaRoute(ifa, RTF.UP | RTF.CLONING, masked(ifa.addr, ifa.mask!), ifa.mask!, ifp);
    }
    return true;
  }

  /** in_ifscrub: removes the address's interface route with its messages. */
  private inIfscrub(ifa: XnuIfAddr): void {
    if (!(ifa.flags & IFA_ROUTE)) return;
    const ifp = ifa.ifp;
    if (ifp.flags & (IFF.POINTOPOINT | IFF.LOOPBACK)) this.deleteIfaRoute(ifa, ifp.flags & IFF.LOOPBACK ? ifa.addr : ifa.dst!);
    else this.deleteIfaRoute(ifa, masked(ifa.addr, ifa.mask!), ifa.mask!);
    ifa.flags &= ~IFA_ROUTE;
  }

  /**
   * rtinit(RTM_ADD): the route plus rt_newaddrmsg (RTM_NEWADDR first, then RTM_ADD with the
   * route's flags and no DONE, pid/seq 0). EEXIST is swallowed with no message at all.
   */
  private ifaRoute(ifa: XnuIfAddr, flags: number, dst: Uint8Array, mask: Uint8Array | null, ifp: XnuInterface): void {
    const family = ifa.family as Family;
    let gateway = ifa.sa;
    let f = flags | ifa.flags;
    if (!(flags & RTF.HOST) && ifa.family === AF.INET && !(ifp.flags & IFF.POINTOPOINT)) {
      // arp_rtrequest turns the subnet route into a cloning route to the link.
      gateway = sockaddrDl({ index: ifp.index, type: ifp.type, len: SIZE.sockaddr_dl_min });
      f |= RTF.CLONING;
    }
    const route = this.tryInsert({ family, key: masked(dst, mask), mask, scope: 0, gateway, flags: f, ifa, ifp });
    if (route === undefined) return;
    // rt_newaddrmsg runs inside rtinit; in_ifinit sets IFA_ROUTE only afterwards.
    this.newaddrmsg(RTM.ADD, ifa, route);
    if (ifp === ifa.ifp) ifa.flags |= IFA_ROUTE;
  }

  /** rtinit(RTM_DELETE): only the route with this ifa and not STATIC; then RTM_DELETE + RTM_DELADDR. */
  private deleteIfaRoute(ifa: XnuIfAddr, dst: Uint8Array, mask: Uint8Array | null = null): void {
    const family = ifa.family;
    const route = this.table.find((r) => r.family === family && r.scope === 0 && bytesEqual(r.key, masked(dst, mask)) &&
      (mask === null ? r.mask === null : r.mask !== null && bytesEqual(r.mask, mask)));
    if (route === undefined || route.ifa !== ifa || route.flags & RTF.STATIC) return;
    this.removeRoute(route);
    this.newaddrmsg(RTM.DELETE, ifa, route);
  }

  /** rt_newaddrmsg: ADD → NEWADDR then ADD; DELETE → DELETE then DELADDR. */
  private newaddrmsg(cmd: number, ifa: XnuIfAddr, route: XnuRoute): void {
    const addrMsg = (): void => {
      const info = emptyInfo();
      info[RTAX.IFA] = ifa.sa;
      info[RTAX.IFP] = ifa.ifp.link.sa;
      info[RTAX.NETMASK] = kernelIfaMask(ifa.family, ifa.mask!, RTM.NEWADDR);
      info[RTAX.BRD] = this.ifaDstSockaddr(ifa);
      const m = rtMsg1(cmd === RTM.ADD ? RTM.NEWADDR : RTM.DELADDR, info);
      const v = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      v.setInt32(4, m.addrs, true);
      v.setInt32(8, ifa.flags, true);
      v.setUint16(12, ifa.ifp.index, true);
      v.setInt32(16, ifa.ifp.metric, true);
      this.broadcast(m.bytes);
    };
    const routeMsg = (): void => {
      const info = emptyInfo();
      info[RTAX.DST] = this.dstSockaddr(route);
      info[RTAX.GATEWAY] = route.gateway;
      if (route.mask !== null) info[RTAX.NETMASK] = kernelRouteMask(route.family, route.mask, cmd);
      const m = rtMsg1(cmd, info);
      const v = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      v.setUint16(4, ifa.ifp.index, true);
      v.setInt32(8, route.flags, true);
      v.setInt32(12, m.addrs, true);
      this.broadcast(m.bytes);
    };
    if (cmd === RTM.ADD) {
      addrMsg();
      routeMsg();
    } else {
      routeMsg();
      addrMsg();
    }
  }

  /** ifa_dstaddr as a sockaddr, or an empty one (4 zero bytes in output) when unset. */
  private ifaDstSockaddr(ifa: XnuIfAddr): Uint8Array | undefined {
    if (ifa.dst !== undefined) return ifa.family === AF.INET6 ? sockaddrIn6(ifa.dst) : sockaddrIn(ifa.dst);
    if (ifa.emptyDst) return new Uint8Array(4);
    return undefined;
  }

  private joinGroup(ifp: XnuInterface, family: number, group: Uint8Array): void {
    const key = `${family}/${hex(group)}`;
    if (ifp.groups.has(key)) return;
    ifp.groups.add(key);
    this.maddrmsg(RTM.NEWMADDR, ifp, family, group);
  }

  private leaveGroup(ifp: XnuInterface, family: number, group: Uint8Array): void {
    const key = `${family}/${hex(group)}`;
    if (!ifp.groups.delete(key)) return;
    this.maddrmsg(RTM.DELMADDR, ifp, family, group);
  }

  /**
   * rt_newmaddrmsg. Ethernet-like interfaces first get the link-level group (IFA = the
   * unpadded sockaddr_dl 01:00:5e:…), then the IP group with it as GATEWAY; utun has no
   * link-level multicast.
   */
  private maddrmsg(cmd: number, ifp: XnuInterface, family: number, group: Uint8Array): void {
    const send = (info: AddrInfo): void => {
      const m = rtMsg1(cmd, info);
      const v = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      v.setInt32(4, m.addrs, true);
      v.setUint16(12, ifp.index, true);
      this.broadcast(m.bytes);
    };
    let ll: Uint8Array | undefined;
    if (ifp.type === IFT.ETHER) {
      const mac = family === AF.INET
        ? Uint8Array.from([0x01, 0x00, 0x5e, group[1]! & 0x7f, group[2]!, group[3]!])
        : Uint8Array.from([0x33, 0x33, group[12]!, group[13]!, group[14]!, group[15]!]);
      ll = sockaddrDl({ index: ifp.index, type: ifp.type, lladdr: mac, len: 8 + 6 });
      const llInfo = emptyInfo();
      llInfo[RTAX.IFP] = ifp.link.sa;
      llInfo[RTAX.IFA] = ll;
      if (cmd === RTM.NEWMADDR) send(llInfo);
      const ipInfo = emptyInfo();
      ipInfo[RTAX.GATEWAY] = ll;
      ipInfo[RTAX.IFP] = ifp.link.sa;
      ipInfo[RTAX.IFA] = family === AF.INET6 ? sockaddrIn6(group) : sockaddrIn(group);
      send(ipInfo);
      if (cmd === RTM.DELMADDR) send(llInfo);
      return;
    }
    const info = emptyInfo();
    info[RTAX.IFP] = ifp.link.sa;
    info[RTAX.IFA] = family === AF.INET6 ? sockaddrIn6(group) : sockaddrIn(group);
    send(info);
  }

  /** rt_ifmsg: 112 bytes, ifm_addrs 0, no sockaddrs. */
  private ifinfo(ifp: XnuInterface): void {
    const m = rtMsg1(RTM.IFINFO, emptyInfo());
    this.fillIfMsghdr(m.bytes, ifp, 0);
    this.broadcast(m.bytes);
  }

  private fillIfMsghdr(bytes: Uint8Array, ifp: XnuInterface, addrs: number): void {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    v.setInt32(4, addrs, true);
    v.setInt32(8, ifp.flags & 0xffff, true);
    v.setUint16(12, ifp.index, true);
    const d = 16;
    v.setUint8(d + 0, ifp.type);
    v.setUint8(d + 3, ifp.lladdr.length);
    v.setUint8(d + 4, ifp.hdrlen);
    v.setUint32(d + 8, ifp.mtu, true);
    v.setUint32(d + 12, ifp.metric, true);
    v.setUint32(d + 16, Math.min(ifp.baudrate, 0xffffffff), true);
    v.setInt32(d + 72, ifp.lastChange, true);
  }

  // -------------------------------------------------------------------------------------
  // The table

  private dstSockaddr(r: XnuRoute): Uint8Array {
    return r.family === AF.INET6 ? sockaddrIn6(r.key) : sockaddrIn(r.key);
  }

  /** Radix walk order: by key bytes, then scope (the scope lives in the key), then host first, longer masks first. */
  private ordered(): XnuRoute[] {
    const cmp = (a: XnuRoute, b: XnuRoute): number => {
      if (a.family !== b.family) return a.family - b.family;
      for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return a.key[i]! - b.key[i]!;
      if (a.scope !== b.scope) return a.scope - b.scope;
      const d = ones(b.mask, b.family) - ones(a.mask, a.family);
      return d !== 0 ? d : a.serial - b.serial;
    };
    return [...this.table].sort(cmp);
  }

  private sameMask(a: Uint8Array | null, b: Uint8Array | null): boolean {
    if (a === null || b === null) return a === b;
    return bytesEqual(a, b);
  }

  /** Inserts unless key+mask+scope exists (then undefined). Applies in_addroute's flags. */
  private tryInsert(r: { family: Family; key: Uint8Array; mask: Uint8Array | null; scope: number; gateway: Uint8Array; flags: number; ifa: XnuIfAddr; ifp?: XnuInterface }): XnuRoute | undefined {
    if (this.table.some((e) => e.family === r.family && e.scope === r.scope && bytesEqual(e.key, r.key) && this.sameMask(e.mask, r.mask))) return undefined;
    const ifp = r.ifp ?? r.ifa.ifp;
    const route: XnuRoute = {
      family: r.family, key: r.key, mask: r.mask, scope: r.scope, gateway: r.gateway, flags: RTF.UP | r.flags,
      ifp, ifa: r.ifa, rmx: new Array<number>(14).fill(0), genmask: undefined, use: 0, serial: this.serial++,
    };
    this.addrouteFlags(route);
    if (route.rmx[RMX.mtu] === 0) route.rmx[RMX.mtu] = ifp.mtu;
    this.table.push(route);
    return route;
  }

  /** in_addroute / in6_addroute: MULTICAST, PRCLONING, BROADCAST or LOCAL. */
  private addrouteFlags(route: XnuRoute): void {
    const multicast = route.family === AF.INET ? (route.key[0]! & 0xf0) === 0xe0 : route.key[0] === 0xff;
    if (multicast) route.flags |= RTF.MULTICAST;
    if (!(route.flags & (RTF.HOST | RTF.CLONING | RTF.MULTICAST))) route.flags |= RTF.PRCLONING;
    if (route.flags & RTF.HOST) {
      if (route.family === AF.INET && this.inBroadcast(route.key, route.ifp)) route.flags |= RTF.BROADCAST;
      else if (route.ifa.family === route.family && bytesEqual(route.ifa.addr, route.key)) route.flags |= RTF.LOCAL;
    }
  }

  /** in.c in_broadcast. */
  private inBroadcast(a: Uint8Array, ifp: XnuInterface): boolean {
    if (a.every((b) => b === 0xff) || isZero(a)) return true;
    if (!(ifp.flags & IFF.BROADCAST)) return false;
    return ifp.addrs.some((ifa) => {
      if (ifa.family !== AF.INET || ifa.mask === undefined || ifa.mask.every((b) => b === 0xff)) return false;
      const subnet = masked(ifa.addr, ifa.mask);
      return (ifa.dst !== undefined && bytesEqual(a, ifa.dst)) || bytesEqual(a, subnet);
    });
  }

  private removeRoute(route: XnuRoute): void {
    this.table = this.table.filter((r) => r !== route);
    route.flags = (route.flags & ~RTF.UP & ~RTF.ROUTER) | RTF.CONDEMNED;
    if (isZero(route.key) && !(route.flags & RTF.IFSCOPE)) this.primary[route.family] = 0;
  }

  /** node_lookup: longest match among unscoped entries (scope 0) or among RTF_IFSCOPE entries of that scope. */
  private nodeLookup(family: number, addr: Uint8Array, mask: Uint8Array | null | undefined, scope: number): XnuRoute | undefined {
    const candidates = this.table.filter((r) => r.family === family &&
      (scope === 0 ? !(r.flags & RTF.IFSCOPE) : (r.flags & RTF.IFSCOPE) !== 0 && r.scope === scope) &&
      bytesEqual(masked(addr, r.mask), r.key));
    if (candidates.length === 0) return undefined;
    candidates.sort((a, b) => ones(b.mask, family) - ones(a.mask, family) || a.serial - b.serial);
    const best = candidates[0]!;
    if (mask === undefined) return best;
    // rn_lookup: the best match's dupedkey chain must hold that exact mask.
    return candidates.find((r) => bytesEqual(r.key, best.key) && this.sameMask(r.mask, mask));
  }

  /**
   * route.c rt_lookup_common: scope-aware lookup (§4.4). `mask` undefined = longest prefix.
   */
  lookup(family: Family, addr: Uint8Array, mask?: Uint8Array | null, ifscope = 0, coarse = false): XnuRoute | undefined {
    const dontcare = ifscope === 0;
    let rn0 = this.nodeLookup(family, addr, mask, 0);
    let rn = rn0;
    let scope = ifscope;
    if (dontcare) scope = this.primary[family] ?? 0;
    if (rn !== undefined) {
      if (!(rn.ifp.flags & IFF.LOOPBACK) || rn.flags & RTF.GATEWAY) {
        if (rn.ifp.index !== scope) {
          const was = rn;
          rn = undefined;
          if (dontcare) scope = was.ifp.index;
          else if (scope !== this.loopbackIndex() || !bytesEqual(was.ifa.addr, addr)) rn0 = undefined;
        } else if (!(rn.flags & RTF.IFSCOPE)) {
          rn = undefined;
        }
      }
    }
    if (rn === undefined) rn = this.nodeLookup(family, addr, mask, scope);
    if (rn === undefined || coarse || (rn0 !== undefined &&
      ((isZero(rn.key) && !isZero(rn0.key)) || (!(rn.flags & RTF.HOST) && rn0.flags & RTF.HOST)))) {
      rn = rn0;
    }
    if (rn === undefined) {
      const d = this.nodeLookup(family, new Uint8Array(addrLength(family)), undefined, 0);
      if (d !== undefined && d.ifp.index === scope) rn = d;
    }
    if (rn !== undefined && (!(rn.flags & RTF.UP) || rn.flags & RTF.CONDEMNED)) return undefined;
    return rn;
  }

  // ---- interface-address resolution (route.c ifa_ifwithroute and if.c helpers)

  private allIfas(): XnuIfAddr[] {
    return [...this.ifnet.values()].flatMap((ifp) => [ifp.link, ...ifp.addrs]);
  }

  private ifaSockaddrFor(family: number, a: Uint8Array): Uint8Array {
    return family === AF.INET6 ? sockaddrIn6(a) : sockaddrIn(a);
  }

  /** ifa_ifwithdstaddr(_scoped): a point-to-point address whose peer equals `sa`. */
  private ifaWithDstaddr(sa: Uint8Array, scope = 0): XnuIfAddr | undefined {
    return this.allIfas().find((ifa) => (ifa.ifp.flags & IFF.POINTOPOINT) !== 0 && (scope === 0 || ifa.ifp.index === scope) &&
      ifa.dst !== undefined && ifa.family === sa[1] && saEqual(this.ifaSockaddrFor(ifa.family, ifa.dst), sa));
  }

  /** ifa_ifwithaddr_scoped: an address (or broadcast address) equal to `sa`. */
  private ifaWithAddr(sa: Uint8Array, scope = 0): XnuIfAddr | undefined {
    return this.allIfas().find((ifa) => (scope === 0 || ifa.ifp.index === scope) && ifa.family === sa[1] &&
      (saEqual(ifa.sa, sa) || (ifa.ifp.flags & IFF.BROADCAST && ifa.dst !== undefined && saEqual(this.ifaSockaddrFor(ifa.family, ifa.dst), sa))));
  }

  /** ifa_ifwithnet_scoped: AF_LINK by sdl_index; otherwise the subnet (or point-to-point peer) holding `sa`. */
  private ifaWithNet(sa: Uint8Array, scope = 0): XnuIfAddr | undefined {
    const family = sa[1]!;
    if (family === AF.LINK) {
      const index = sa[2]! | (sa[3]! << 8);
      const ifp = this.ifnet.get(index);
      return ifp !== undefined && (scope === 0 || scope === index) ? ifp.link : undefined;
    }
    if (family !== AF.INET && family !== AF.INET6) return undefined;
    const a = sockaddrAddress(sa, family);
    let best: XnuIfAddr | undefined;
    for (const ifa of this.allIfas()) {
      if (ifa.family !== family || (scope !== 0 && ifa.ifp.index !== scope)) continue;
      if (ifa.ifp.flags & IFF.POINTOPOINT) {
        if (ifa.dst !== undefined && bytesEqual(ifa.dst, a)) return ifa;
      } else if (ifa.mask !== undefined && bytesEqual(masked(a, ifa.mask), masked(ifa.addr, ifa.mask))) {
        if (best === undefined || ones(ifa.mask, family) > ones(best.mask!, family)) best = ifa;
      }
    }
    return best;
  }

  /** ifaof_ifpforaddr: the interface's address best matching `sa`, else its first of that family. */
  private ifaOfIfpForAddr(sa: Uint8Array, ifp: XnuInterface): XnuIfAddr | undefined {
    const family = sa[1]!;
    let maybe: XnuIfAddr | undefined;
    for (const ifa of [ifp.link, ...ifp.addrs]) {
      if (ifa.family !== family) continue;
      maybe ??= ifa;
      if (family !== AF.INET && family !== AF.INET6) continue;
      const a = sockaddrAddress(sa, family);
      if (bytesEqual(ifa.addr, a)) return ifa;
      if (ifp.flags & IFF.POINTOPOINT) {
        if (ifa.dst !== undefined && bytesEqual(ifa.dst, a)) return ifa;
      } else if (ifa.mask !== undefined && bytesEqual(masked(a, ifa.mask), masked(ifa.addr, ifa.mask))) {
        return ifa;
      }
    }
    return maybe;
  }

  /** route.c ifa_ifwithroute_common_locked. */
  private ifaWithRoute(flags: number, family: Family, dst: Uint8Array, gw: Uint8Array, ifscope: number): XnuIfAddr | undefined {
    const dstSa = this.ifaSockaddrFor(family, dst);
    let ifa: XnuIfAddr | undefined;
    if (!(flags & RTF.GATEWAY)) {
      if (flags & RTF.HOST) ifa = this.ifaWithDstaddr(dstSa);
      ifa ??= this.ifaWithAddr(gw, ifscope);
    } else {
      if (flags & RTF.IFSCOPE && ifscope !== 0) ifa = this.ifaWithDstaddr(gw, ifscope);
      ifa ??= this.ifaWithDstaddr(gw);
    }
    ifa ??= this.ifaWithNet(gw, ifscope);
    ifa ??= this.lookup(family, dst, undefined, ifscope)?.ifa;
    if (ifa !== undefined && ifa.family !== family) ifa = this.ifaOfIfpForAddr(dstSa, ifa.ifp) ?? ifa;
    const gwFamily = gw[1];
    if ((ifa === undefined || !saEqual(ifa.sa, gw)) && (gwFamily === AF.INET || gwFamily === AF.INET6)) {
      const rt = this.lookup(gwFamily, sockaddrAddress(gw, gwFamily), undefined, ifscope);
      if (rt !== undefined) ifa = rt.ifa;
    }
    if (flags & RTF.IFSCOPE && ifa !== undefined && ifa.ifp.index !== ifscope) ifa = undefined;
    if (ifa !== undefined && ifa.family !== family) ifa = undefined;
    return ifa;
  }

  /** if_withname: an interface named by a sockaddr_dl's name. */
  private ifWithName(sa: Uint8Array): XnuInterface | undefined {
    if (sa[1] !== AF.LINK) return undefined;
    const nlen = sa[5]!;
    const name = Buffer.from(sa.subarray(8, 8 + nlen)).toString('latin1');
    if (nlen === 0) return undefined;
    return [...this.ifnet.values()].find((i) => i.name === name);
  }

  /** rtsock.c rt_setif. */
  private setIf(rt: XnuRoute, ifpSa: Uint8Array | undefined, ifaSa: Uint8Array | undefined, gate: Uint8Array | undefined, ifscope: number): void {
    if (rt.flags & RTF.CONDEMNED) return;
    let ifa: XnuIfAddr | undefined;
    let ifp: XnuInterface | undefined;
    const viaNet = ifpSa !== undefined ? this.ifaWithNet(ifpSa, ifscope) : undefined;
    if (viaNet !== undefined && (ifaSa !== undefined || gate !== undefined)) {
      ifp = viaNet.ifp;
      ifa = this.ifaOfIfpForAddr((ifaSa ?? gate)!, ifp);
    } else if (ifpSa !== undefined && (ifp = this.ifWithName(ifpSa)) !== undefined) {
      ifa = gate !== undefined ? this.ifaOfIfpForAddr(gate, ifp) : ifp.link;
    } else if (ifaSa !== undefined && (ifa = this.ifaWithAddr(ifaSa, ifscope)) !== undefined) {
      ifp = ifa.ifp;
    } else if (gate !== undefined) {
      ifa = this.ifaWithRoute(rt.flags, rt.family, rt.key, gate, ifscope);
      ifp = ifa?.ifp;
    }
    if (ifa === undefined || ifp === undefined || ifa === rt.ifa) return;
    rt.ifa = ifa;
    rt.ifp = ifp;
    if (isZero(rt.key) && !(rt.flags & RTF.IFSCOPE)) this.primary[rt.family] = ifp.index;
    if (!(rt.rmx[RMX.locks]! & RTV.MTU)) rt.rmx[RMX.mtu] = ifp.mtu;
  }

  /** route.c rt_setgate: loop checks, the scoped gateway-route check, storing the gateway. */
  private setGate(rt: { family: Family; key: Uint8Array; flags: number; scope: number; gateway: Uint8Array }, gate: Uint8Array): void {
    if (rt.flags & RTF.CONDEMNED) fail('EBUSY');
    let loop = false;
    if (rt.flags & RTF.GATEWAY && gate[1] === rt.family && saLen(gate) === (rt.family === AF.INET6 ? 28 : 16)) {
      loop = bytesEqual(sockaddrAddress(gate, rt.family), rt.key);
    }
    const kind = rt.flags & (RTF.HOST | RTF.GATEWAY | RTF.LLINFO);
    if (loop && (kind === RTF.GATEWAY || kind === (RTF.HOST | RTF.GATEWAY))) fail('EADDRNOTAVAIL');
    let stored = gate.slice(0, Math.max(saLen(gate), 0));
    if (rt.flags & RTF.GATEWAY && (gate[1] === AF.INET || gate[1] === AF.INET6)) {
      const gwFamily = gate[1] as Family;
      const gwrt = this.lookup(gwFamily, sockaddrAddress(gate, gwFamily), undefined, rt.scope);
      if (rt.scope !== 0 && rt.flags & RTF.IFSCOPE && gwrt !== undefined && gwrt.ifp.index !== rt.scope) {
        fail(rt.flags & RTF.HOST ? 'EHOSTUNREACH' : 'ENETUNREACH');
      }
      // For consistency with rt_key(gwroute), a scoped gateway route's scope lands in the gateway.
      if (gwrt !== undefined && gwrt.flags & RTF.IFSCOPE && gwFamily === rt.family) {
        stored = gate.slice(0, Math.max(saLen(gate), 16));
        const v = new DataView(stored.buffer);
        if (gwFamily === AF.INET) v.setUint32(8, gwrt.scope, true);
        else v.setUint32(24, gwrt.scope, true);
      }
    }
    rt.gateway = stored;
  }

  /** rtsock.c rt_setmetrics; returns the errno name on failure. */
  private setMetrics(which: number, rmx: number[], rt: XnuRoute): ErrnoName | undefined {
    if (which & RTV.REFRESH_HOST) {
      if (which & ~RTV.REFRESH_HOST || rt.flags & RTF.STATIC || !(rt.flags & RTF.LLINFO)) return 'EINVAL';
      return 'ENOTSUP';
    }
    const pairs: [number, number][] = [
      [RTV.RPIPE, RMX.recvpipe], [RTV.SPIPE, RMX.sendpipe], [RTV.SSTHRESH, RMX.ssthresh], [RTV.RTT, RMX.rtt],
      [RTV.RTTVAR, RMX.rttvar], [RTV.HOPCOUNT, RMX.hopcount], [RTV.MTU, RMX.mtu], [RTV.EXPIRE, RMX.expire],
    ];
    for (const [bit, i] of pairs) if (which & bit) rt.rmx[i] = rmx[i]!;
    if ((rt.rmx[RMX.expire]! | 0) <= 0) rt.rmx[RMX.expire] = 0;
    return undefined;
  }

  /** rtrequest_scoped_locked(RTM_ADD). */
  private rtAdd(family: number, dstSa: Uint8Array, gw: Uint8Array, maskSa: Uint8Array | undefined, flagsIn: number, ifscope: number): XnuRoute {
    let flags = flagsIn & ~RTF.GLOBAL;
    if (family !== AF.INET && family !== AF.INET6) fail('ESRCH');
    const fam = family as Family;
    const mask = flags & RTF.HOST || maskSa === undefined ? null : maskFromSockaddr(fam, maskSa);
    if (ifscope !== 0) flags |= RTF.IFSCOPE;
    else flags &= ~RTF.IFSCOPE;
    const dst = sockaddrAddress(dstSa, fam);
    const ifa = this.ifaWithRoute(flags, fam, dst, gw, ifscope);
    if (ifa === undefined) fail('ENETUNREACH');
    const key = masked(dst, mask);
    const draft = { family: fam, key, flags: RTF.UP | flags, scope: ifscope, gateway: gw };
    this.setGate(draft, gw);
    const route = this.tryInsert({ family: fam, key, mask, scope: ifscope, gateway: draft.gateway, flags: draft.flags, ifa });
    if (route === undefined) fail('EEXIST');
    if (isZero(key)) {
      if (!(route.flags & RTF.IFSCOPE)) this.primary[fam] = route.ifp.index;
      if (!(route.flags & RTF.HOST)) route.flags |= RTF.GLOBAL;
    }
    return route;
  }

  /** rtrequest_scoped_locked(RTM_DELETE): exact key (not masked), mask and scope; the gateway is ignored. */
  private rtDelete(family: number, dstSa: Uint8Array, maskSa: Uint8Array | undefined, flags: number, ifscope: number): XnuRoute {
    if (family !== AF.INET && family !== AF.INET6) fail('ESRCH');
    const fam = family as Family;
    const mask = flags & RTF.HOST || maskSa === undefined ? undefined : maskFromSockaddr(fam, maskSa);
    const key = sockaddrAddress(dstSa, fam);
    const chain = this.ordered().filter((r) => r.family === fam && r.scope === ifscope && bytesEqual(r.key, key));
    // rn_delete: without a mask the first entry of the dupedkey chain goes (the host entry if any).
    const route = mask === undefined ? chain[0] : chain.find((r) => r.mask !== null && bytesEqual(r.mask, mask));
    if (route === undefined) fail('ESRCH');
    this.removeRoute(route);
    return route;
  }

  // -------------------------------------------------------------------------------------
  // route_output

  /** rtsock.c route_output for one write(2) on `socket`. Throws the write's SystemError. */
  routeOutput(socket: XnuRouteSocket, input: Uint8Array): void {
    const len = input.length;
    const msglen = len >= 2 ? input[0]! | (input[1]! << 8) : -1;
    if (len < SIZE.rt_msghdr || len !== msglen) {
      // No message buffer yet: the raw bytes go out unchanged, no errno in them.
      this.broadcast(input.slice());
      throw systemError('EINVAL', 'write');
    }
    let rtm: Uint8Array = input.slice();
    const view = (): DataView => new DataView(rtm.buffer, rtm.byteOffset, rtm.byteLength);
    let onlySelf = false;
    let error: ErrnoName | undefined;
    try {
      const h = readRtHeader(rtm);
      if (h.version !== RTM_VERSION) fail('EPROTONOSUPPORT');
      if (h.type === RTM.GET_SILENT) {
        onlySelf = true;
        rtm[3] = RTM.GET;
      }
      const type = rtm[3]!;
      if (type !== RTM.GET && !socket.root) fail('EPERM');
      view().setInt32(16, socket.pid, true);
      const parsed = rtXaddrs(rtm, SIZE.rt_msghdr, h.addrs);
      if (parsed.error !== undefined) fail('EINVAL');
      const info = parsed.info;
      let dst = info[RTAX.DST];
      let gw = info[RTAX.GATEWAY];
      if (dst === undefined || dst[1]! >= AF.MAX || (gw !== undefined && gw[1]! >= AF.MAX)) fail('EINVAL');
      dst = sanitize(dst);
      if (gw !== undefined) gw = sanitize(gw);
      const dstFamily = dst[1]!;
      let ifscope = 0;
      if (h.flags & RTF.IFSCOPE) {
        if (dstFamily !== AF.INET && dstFamily !== AF.INET6) fail('EINVAL');
        ifscope = h.index;
      }
      if (h.flags & RTF.PROXY) fail('EINVAL');
      const mask = info[RTAX.NETMASK];
      switch (type) {
        case RTM.ADD: {
          if (gw === undefined) fail('EINVAL');
          const route = this.rtAdd(dstFamily, dst, gw, mask, h.flags, ifscope);
          this.setIf(route, info[RTAX.IFP], info[RTAX.IFA], gw, ifscope);
          const rmx = readRmx(rtm);
          this.setMetrics(h.inits, rmx, route);
          route.rmx[RMX.locks] = (route.rmx[RMX.locks]! & ~h.inits) | (h.inits & rmx[RMX.locks]!);
          route.genmask = info[RTAX.GENMASK];
          break;
        }
        case RTM.DELETE: {
          const route = this.rtDelete(dstFamily, dst, mask, h.flags, ifscope);
          rtm = this.report(rtm, route, info);
          break;
        }
        case RTM.GET:
        case RTM.CHANGE:
        case RTM.LOCK: {
          if (dstFamily !== AF.INET && dstFamily !== AF.INET6) fail('EAFNOSUPPORT');
          const fam = dstFamily as Family;
          const route = this.lookup(fam, sockaddrAddress(dst, fam), mask === undefined ? undefined : maskFromSockaddr(fam, mask), ifscope);
          if (route === undefined) fail('ESRCH');
          if (type === RTM.GET) {
            rtm = this.report(rtm, route, info);
            break;
          }
          const rmx = readRmx(rtm);
          if (type === RTM.CHANGE) {
            if (gw !== undefined) this.setGate(route, gw);
            const gate = gw ?? (route.flags & RTF.GATEWAY ? route.gateway : undefined);
            this.setIf(route, info[RTAX.IFP], info[RTAX.IFA], gate, ifscope);
            const e = this.setMetrics(h.inits, rmx, route);
            if (e !== undefined) fail(e);
            if (info[RTAX.GENMASK] !== undefined) route.genmask = info[RTAX.GENMASK];
          }
          route.rmx[RMX.locks] = (route.rmx[RMX.locks]! & ~h.inits) | (h.inits & rmx[RMX.locks]!);
          break;
        }
        default:
          fail('EOPNOTSUPP');
      }
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      error = e.errname;
    }
    const v = view();
    if (error !== undefined) v.setInt32(24, ERRNO[error].errno, true);
    else v.setInt32(8, v.getInt32(8, true) | RTF.DONE, true);
    if (onlySelf) {
      // route_output resets error to 0 here: only a full buffer fails the write.
      if (!socket.append(rtm)) throw systemError('ENOBUFS', 'write');
      return;
    } else {
      this.broadcast(rtm);
    }
    if (error !== undefined) throw systemError(error, 'write');
  }

  /** The RTM_GET / RTM_DELETE reply: the request header, the route's flags/index/metrics, rt_msg2 sockaddrs. */
  private report(request: Uint8Array, route: XnuRoute, requestInfo: AddrInfo): Uint8Array {
    const reqAddrs = new DataView(request.buffer, request.byteOffset).getInt32(12, true);
    const info = emptyInfo();
    info[RTAX.DST] = this.dstSockaddr(route);
    info[RTAX.GATEWAY] = route.gateway;
    if (route.mask !== null) info[RTAX.NETMASK] = kernelRouteMask(route.family, route.mask, request[3]!);
    info[RTAX.GENMASK] = route.genmask;
    if (reqAddrs & (RTA.IFP | RTA.IFA)) {
      info[RTAX.IFP] = route.ifp.link.sa;
      info[RTAX.IFA] = route.ifa.sa;
    }
    // Whatever else the request carried stays in rt_addrinfo and is echoed (AUTHOR, BRD).
    info[RTAX.AUTHOR] = requestInfo[RTAX.AUTHOR];
    info[RTAX.BRD] = requestInfo[RTAX.BRD];
    const m = rtMsg2(request[3]!, info);
    const out = m.bytes;
    out.set(request.subarray(4, SIZE.rt_msghdr), 4);
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    v.setUint16(4, route.ifp.index, true);
    v.setInt32(8, route.flags, true);
    v.setInt32(12, m.addrs, true);
    writeRmx(out, route.rmx);
    return out;
  }

  // -------------------------------------------------------------------------------------
  // sysctl

  /** sysctl({CTL_NET, PF_ROUTE, 0, af, op, arg}) → the raw buffer; throws SystemError (syscall 'sysctl'). */
  sysctl(mib: number[]): Buffer {
    // DECLARE_SYSCTL_HANDLER_ARG_ARRAY(int, 4, …): exactly 4 levels after net.route.
    if (mib.length !== 6 || mib[0] !== 4 || mib[1] !== AF.ROUTE) throw systemError('EINVAL', 'sysctl');
    const af = mib[3]! & 0xff;
    const op = mib[4]!;
    const arg = mib[5]!;
    const out: Uint8Array[] = [];
    switch (op) {
      case NET_RT.DUMP:
      case NET_RT.DUMP2:
      case NET_RT.FLAGS:
      case NET_RT.FLAGS_PRIV: {
        // Only families with a table are walked; error starts as EINVAL and stays so when none matches.
        const families = [AF.INET, AF.INET6].filter((f) => af === 0 || af === f);
        if (families.length === 0) throw systemError('EINVAL', 'sysctl');
        for (const r of this.ordered()) {
          if (!families.includes(r.family)) continue;
          if ((op === NET_RT.FLAGS || op === NET_RT.FLAGS_PRIV) && !(r.flags & arg)) continue;
          out.push(this.dumpRecord(r, op === NET_RT.DUMP2 ? RTM.GET2 : RTM.GET));
        }
        break;
      }
      case NET_RT.IFLIST:
        for (const ifp of [...this.ifnet.values()].sort((a, b) => a.index - b.index)) {
          if (arg !== 0 && arg !== ifp.index) continue;
          const info = emptyInfo();
          info[RTAX.IFP] = ifp.link.sa;
          const m = rtMsg2(RTM.IFINFO, info);
          this.fillIfMsghdr(m.bytes, ifp, m.addrs);
          out.push(m.bytes);
          for (const ifa of ifp.addrs) {
            if (af !== 0 && af !== ifa.family) continue;
            const ai = emptyInfo();
            ai[RTAX.IFA] = ifa.sa;
            ai[RTAX.NETMASK] = kernelIfaMask(ifa.family, ifa.mask!, RTM.NEWADDR);
            ai[RTAX.BRD] = this.ifaDstSockaddr(ifa);
            const am = rtMsg2(RTM.NEWADDR, ai);
            const v = new DataView(am.bytes.buffer);
            v.setInt32(4, am.addrs, true);
            v.setInt32(8, ifa.flags, true);
            v.setUint16(12, ifp.index, true);
            v.setInt32(16, ifp.metric, true);
            out.push(am.bytes);
          }
        }
        break;
      case NET_RT.STAT:
        out.push(new Uint8Array(12));
        break;
      case NET_RT.TRASH:
        out.push(new Uint8Array(4));
        break;
      case NET_RT.IFLIST2:
      case 8:
      case 9:
        throw new Error(`the XNU model does not implement sysctl op ${op}`);
      default:
        throw systemError('EINVAL', 'sysctl');
    }
    return Buffer.concat(out);
  }

  /** sysctl_dumpentry: DST, GATEWAY, NETMASK, GENMASK, IFA; never IFP. */
  private dumpRecord(r: XnuRoute, type: number): Uint8Array {
    const info = emptyInfo();
    info[RTAX.DST] = this.dstSockaddr(r);
    info[RTAX.GATEWAY] = r.gateway;
    if (r.mask !== null) info[RTAX.NETMASK] = kernelRouteMask(r.family, r.mask, type);
    info[RTAX.GENMASK] = r.genmask;
    info[RTAX.IFA] = r.ifa.sa;
    const m = rtMsg2(type, info);
    const v = new DataView(m.bytes.buffer);
    v.setUint16(4, r.ifp.index, true);
    v.setInt32(8, r.flags, true);
    v.setInt32(12, m.addrs, true);
    if (type === RTM.GET2) v.setInt32(16, 1, true); // rtm_refcnt: the table's own reference
    v.setInt32(28, r.use, true);
    writeRmx(m.bytes, r.rmx);
    return m.bytes;
  }

  // -------------------------------------------------------------------------------------
  // IPv6 default routers (netinet6/nd6_rtr.c), as far as configd's IPMonitor steers them

  private readonly ndRouters: Array<{ ifp: XnuInterface; gateway: Uint8Array; route: XnuRoute | null }> = [];
  private ndDefaultIfindex = 0;

  /**
   * A router advertisement from `gateway` on `name` (defrtrlist_update → defrouter_select):
   * the router's ::/0 is installed unscoped when `name` is the default IPv6 interface, scoped
   * to it otherwise. A link-local gateway is stored with its index embedded (KAME).
   */
  addNdRouter(name: string, gateway: string): void {
    const ifp = this.getInterface(name);
    const gw = parseIP(gateway);
    if (gw[0] === 0xfe && (gw[1]! & 0xc0) === 0x80) {
      gw[2] = ifp.index >> 8;
      gw[3] = ifp.index & 0xff;
    }
    const router = { ifp, gateway: gw, route: null };
    this.ndRouters.push(router);
    this.defrouterInstall(router);
  }

  /** nd6_defifindex: the interface SIOCSDEFIFACE_IN6 last set (0 = none). */
  ipv6DefaultInterface(): number {
    return this.ndDefaultIfindex;
  }

  /**
   * SIOCSDEFIFACE_IN6 (nd6_setdefaultiface): the routers of the old and the new default
   * interface are selected again, each ::/0 removed and put back in its new scope with
   * RTM_DELETE / RTM_ADD. lo0 as the default (IPMonitor's "no IPv6 primary") installs
   * nothing on lo0, so every router is left scoped. A router whose key is taken (someone
   * else's unscoped ::/0) stays uninstalled, as defrouter_addreq's failure leaves it.
   */
  setIPv6DefaultInterface(index: number): void {
    if (index === this.ndDefaultIfindex) return;
    const old = this.ndDefaultIfindex;
    this.ndDefaultIfindex = index;
    for (const r of this.ndRouters) {
      if (r.ifp.index !== old && r.ifp.index !== index) continue;
      if (r.route !== null && this.table.includes(r.route)) {
        this.removeRoute(r.route);
        this.ndRtmsg(RTM.DELETE, r.route);
      }
      r.route = null;
      this.defrouterInstall(r);
    }
  }

  private defrouterInstall(r: { ifp: XnuInterface; gateway: Uint8Array; route: XnuRoute | null }): void {
    if (!this.ifnet.has(r.ifp.index)) return;
    const ifa = r.ifp.addrs.find((a) => a.family === AF.INET6);
    if (ifa === undefined) return;
    const scope = r.ifp.index === this.ndDefaultIfindex ? 0 : r.ifp.index;
    const zero = new Uint8Array(16);
    const route = this.tryInsert({ family: AF.INET6, key: zero, mask: zero, scope, gateway: sockaddrIn6(r.gateway), flags: RTF.UP | RTF.GATEWAY | (scope ? RTF.IFSCOPE : 0), ifa, ifp: r.ifp });
    if (route === undefined) return;
    route.flags |= RTF.GLOBAL;
    if (scope === 0) this.primary[AF.INET6] = r.ifp.index;
    r.route = route;
    this.ndRtmsg(RTM.ADD, route);
  }

  /** nd6_rtmsg: DST, GATEWAY, NETMASK, IFP, IFA with the route's flags; rtm_index 0 (rt_missmsg). */
  private ndRtmsg(cmd: number, route: XnuRoute): void {
    const info = emptyInfo();
    info[RTAX.DST] = this.dstSockaddr(route);
    info[RTAX.GATEWAY] = route.gateway;
    info[RTAX.NETMASK] = kernelRouteMask(route.family, route.mask ?? new Uint8Array(16), cmd);
    info[RTAX.IFP] = route.ifp.link.sa;
    info[RTAX.IFA] = route.ifa.sa;
    const m = rtMsg1(cmd, info);
    const v = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    v.setInt32(8, route.flags, true);
    v.setInt32(12, m.addrs, true);
    this.broadcast(m.bytes);
  }

  // -------------------------------------------------------------------------------------
  // Test-side views and setup

  /** `netstat -rnl` rows (af 0 = all, AF_INET, AF_INET6), computed from this kernel's NET_RT_DUMP2 bytes. */
  netstat(af = 0): NetstatRow[] {
    return netstatRows(this.sysctl([4, AF.ROUTE, 0, af, NET_RT.DUMP2, 0]), (i) => this.indexToName(i));
  }

  /** The table as data, in dump order, for exact before/after comparisons. */
  routes(): RouteSnapshot[] {
    return this.ordered().map((r) => ({
      family: r.family === AF.INET6 ? 'inet6' : 'inet',
      destination: formatAddress(r.family, r.key),
      prefixLength: r.mask === null ? null : maskLengthOrNaN(r.mask),
      scope: r.scope === 0 ? null : (this.indexToName(r.scope) ?? `#${r.scope}`),
      gateway: describeSockaddr(r.gateway),
      flags: r.flags,
      interface: r.ifp.name,
      ifa: r.ifa.family === AF.LINK ? describeSockaddr(r.ifa.sa) : formatAddress(r.ifa.family, r.ifa.addr),
      mtu: r.rmx[RMX.mtu]!,
    }));
  }

  /**
   * Installs a route directly, the way configd/IPConfiguration or in_ifinit leave it (no
   * request checks, no messages). For building scenarios only.
   */
  installRoute(spec: { destination: string; prefixLength: number | null; gateway: Uint8Array; interface: string; flags: number; scope?: string }): XnuRoute {
    const ifp = this.getInterface(spec.interface);
    const addr = parseIP(spec.destination);
    const family: Family = addr.length === 16 ? AF.INET6 : AF.INET;
    const ifa = ifp.addrs.find((a) => a.family === family);
    if (ifa === undefined) throw new Error(`${spec.interface} has no address of that family`);
    const mask = spec.prefixLength === null ? null : prefixMask(spec.prefixLength, addr.length);
    const scope = spec.scope === undefined ? 0 : this.nameToIndex(spec.scope);
    const flags = scope !== 0 ? spec.flags | RTF.IFSCOPE : spec.flags;
    const route = this.tryInsert({ family, key: masked(addr, mask), mask, scope, gateway: spec.gateway, flags: flags & ~RTF.GLOBAL, ifa, ifp });
    if (route === undefined) throw new Error(`route ${spec.destination} exists`);
    route.flags = (route.flags & ~(RTF.PRCLONING | RTF.MULTICAST | RTF.BROADCAST | RTF.LOCAL)) | (flags & ~RTF.IFSCOPE) | (scope ? RTF.IFSCOPE : 0) | RTF.UP;
    if (isZero(route.key) && !(route.flags & RTF.IFSCOPE)) this.primary[family] = ifp.index;
    return route;
  }
}

export interface RouteSnapshot {
  family: 'inet' | 'inet6';
  destination: string;
  /** null: a host entry (no mask in the tree). */
  prefixLength: number | null;
  /** The scope interface's name, null when unscoped. */
  scope: string | null;
  gateway: string;
  flags: number;
  interface: string;
  ifa: string;
  mtu: number;
}

function maskLengthOrNaN(mask: Uint8Array): number {
  let n = 0;
  let ended = false;
  for (const b of mask) for (let j = 7; j >= 0; j--) {
    if (b & (1 << j)) {
      if (ended) return Number.NaN;
      n++;
    } else {
      ended = true;
    }
  }
  return n;
}

/** A sockaddr as text: an address, `link#N`, or `name`/`name:mac` for a named sockaddr_dl. */
export function describeSockaddr(sa: Uint8Array): string {
  const family = sa[1];
  if (family === AF.INET) return formatIPv4(sockaddrAddress(sa, AF.INET));
  if (family === AF.INET6) return formatIPv6(sockaddrAddress(sa, AF.INET6));
  if (family === AF.LINK) {
    const nlen = sa[5]!;
    const alen = sa[6]!;
    if (nlen === 0 && alen === 0 && sa[7] === 0) return `link#${sa[2]! | (sa[3]! << 8)}`;
    const name = Buffer.from(sa.subarray(8, 8 + nlen)).toString('latin1');
    const mac = [...sa.subarray(8 + nlen, 8 + nlen + alen)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    return alen === 0 ? name : name === '' ? mac : `${name}:${mac}`;
  }
  return `(${family}) ${hex(sa)}`;
}

/** route_output's rebuild of short AF_INET sockaddrs and zeroing of the private scope bytes. */
function sanitize(sa: Uint8Array): Uint8Array {
  const family = sa[1];
  if (family === AF.INET) {
    if (saLen(sa) !== 16 && saLen(sa) < 8) fail('EINVAL');
    const out = new Uint8Array(16);
    out[0] = 16;
    out[1] = AF.INET;
    out.set(sa.subarray(2, 8), 2);
    if (saLen(sa) === 16) out.set(sa.subarray(12, 16), 12);
    return out;
  }
  if (family === AF.INET6 && saLen(sa) < 28) fail('EINVAL');
  return sa;
}

/** A request mask → the address bytes the radix tree keys on (missing bytes are zero; family ignored). */
export function maskFromSockaddr(family: number, sa: Uint8Array): Uint8Array {
  return sockaddrAddress(sa, family);
}

function classfulMask(a: Uint8Array): Uint8Array {
  const b = a[0]!;
  return prefixMask(b < 128 ? 8 : b < 192 ? 16 : 24, 4);
}

function readRmx(rtm: Uint8Array): number[] {
  const v = new DataView(rtm.buffer, rtm.byteOffset, rtm.byteLength);
  return Array.from({ length: 14 }, (_, i) => v.getUint32(36 + i * 4, true));
}

function writeRmx(msg: Uint8Array, rmx: number[]): void {
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  rmx.forEach((x, i) => v.setUint32(36 + i * 4, x >>> 0, true));
}

