/**
 * @module test/xnu/netstat
 * `netstat -rnl` as macOS prints it (network_cmds netstat.tproj/route.c np_rtentry,
 * p_sockaddr, netname, routename, p_flags), computed from the model's own NET_RT_DUMP2
 * bytes so the rows go through the wire format like the real tool's do.
 */
import { AF, RTF, RTM } from './constants.js';
import { formatIPv4, formatIPv6, readRtHeader, roundup32, walkMessages } from './wire.js';

export interface NetstatRow {
  destination: string;
  gateway: string;
  /** Letters in netstat's order: U G H R D M m d C X L S 1 2 W c 3 B b I i Y r g. */
  flags: string;
  netif: string;
  /** The RT_IFA column of `netstat -rnl`. */
  ifa: string;
  mtu: number;
}

/** netstat.tproj/route.c bits[] in print order. */
const BITS: [number, string][] = [
  [RTF.UP, 'U'], [RTF.GATEWAY, 'G'], [RTF.HOST, 'H'], [RTF.REJECT, 'R'], [RTF.DYNAMIC, 'D'], [RTF.MODIFIED, 'M'],
  [RTF.MULTICAST, 'm'], [RTF.DONE, 'd'], [RTF.CLONING, 'C'], [RTF.XRESOLVE, 'X'], [RTF.LLINFO, 'L'], [RTF.STATIC, 'S'],
  [RTF.PROTO1, '1'], [RTF.PROTO2, '2'], [RTF.WASCLONED, 'W'], [RTF.PRCLONING, 'c'], [RTF.PROTO3, '3'],
  [RTF.BLACKHOLE, 'B'], [RTF.BROADCAST, 'b'], [RTF.IFSCOPE, 'I'], [RTF.IFREF, 'i'], [RTF.PROXY, 'Y'],
  [RTF.ROUTER, 'r'], [RTF.GLOBAL, 'g'],
];

export function flagLetters(flags: number): string {
  return BITS.filter(([bit]) => flags & bit).map(([, c]) => c).join('');
}

function u32be(a: Uint8Array, at: number): number {
  return (((a[at] ?? 0) << 24) | ((a[at + 1] ?? 0) << 16) | ((a[at + 2] ?? 0) << 8) | (a[at + 3] ?? 0)) >>> 0;
}

function forgemask(a: number): number {
  if (((a & 0x80000000) >>> 0) === 0) return 0xff000000;
  if (((a & 0xc0000000) >>> 0) === 0x80000000) return 0xffff0000;
  return 0xffffff00;
}

function domask(addr: number, mask: number): string {
  if (mask === 0 || forgemask(addr) === mask) return '';
  let i = 0;
  for (let b = 0; b < 32; b++) {
    if (mask & (1 << b)) {
      i = b;
      for (let bb = b + 1; bb < 32; bb++) if (!(mask & (1 << bb))) { i = -1; break; }
      break;
    }
  }
  return i === -1 ? `&0x${(mask >>> 0).toString(16)}` : `/${32 - i}`;
}

/** netname -n: classful abbreviation of the network, then /bits unless the mask is the class mask. */
export function netname(i: number, mask: number): string {
  const c = (x: number): number => x & 0xff;
  const dmask = forgemask(i);
  let line: string;
  if (dmask === 0xff000000 && (i & 0x00ffffff) === 0) line = `${c(i >>> 24)}`;
  else if (dmask !== 0xffffff00 && (i & 0x0000ffff) === 0) line = `${c(i >>> 24)}.${c(i >>> 16)}`;
  else if ((i & 0xff) === 0) line = `${c(i >>> 24)}.${c(i >>> 16)}.${c(i >>> 8)}`;
  else line = `${c(i >>> 24)}.${c(i >>> 16)}.${c(i >>> 8)}.${c(i)}`;
  return line + domask(i, mask);
}

function linkNtoa(sa: Uint8Array): string {
  const nlen = sa[5]!;
  const alen = sa[6]!;
  let out = Buffer.from(sa.subarray(8, 8 + nlen)).toString('latin1');
  if (alen > 0) out += `${out === '' ? '' : ':'}${[...sa.subarray(8 + nlen, 8 + nlen + alen)].map((b) => b.toString(16)).join('.')}`;
  return out;
}

function inet6(sa: Uint8Array, ifname: (i: number) => string | undefined): { text: string; addr: Uint8Array } {
  const addr = new Uint8Array(16);
  addr.set(sa.subarray(8, Math.min(24, sa.length)));
  let scope = sa.length >= 28 ? (sa[24]! | (sa[25]! << 8) | (sa[26]! << 16) | (sa[27]! << 24)) >>> 0 : 0;
  const linkLocal = addr[0] === 0xfe && (addr[1]! & 0xc0) === 0x80;
  const mcLocal = addr[0] === 0xff && ((addr[1]! & 0x0f) === 1 || (addr[1]! & 0x0f) === 2);
  if (linkLocal || mcLocal) {
    // KAME: the scope sits in address bytes 2–3.
    scope = (addr[2]! << 8) | addr[3]!;
    addr[2] = 0;
    addr[3] = 0;
  }
  const text = formatIPv6(addr) + (scope !== 0 ? `%${ifname(scope) ?? scope}` : '');
  return { text, addr };
}

function pSockaddr(sa: Uint8Array | undefined, mask: Uint8Array | undefined, flags: number, ifname: (i: number) => string | undefined): string {
  if (sa === undefined) return '';
  switch (sa[1]) {
    case AF.INET: {
      const a = u32be(sa, 4);
      if (a === 0 && mask !== undefined && (u32be(mask, 4) === 0 || mask[0] === 0)) return 'default';
      if (flags & RTF.HOST) return formatIPv4(sa.subarray(4, 8));
      return netname(a, mask !== undefined ? u32be(mask, 4) : 0);
    }
    case AF.INET6: {
      const { text, addr } = inet6(sa, ifname);
      if (flags & RTF.HOST) return text;
      let len = 128;
      if (mask !== undefined) {
        len = 0;
        if (mask[0] !== 0) for (let i = 8; i < 24; i++) len += [...Array(8).keys()].filter((j) => (mask[i] ?? 0) & (0x80 >> j)).length;
      }
      if (len === 0 && addr.every((b) => b === 0)) return 'default';
      return `${text}/${len}`;
    }
    case AF.LINK: {
      if (sa[5] === 0 && sa[6] === 0 && sa[7] === 0) return `link#${sa[2]! | (sa[3]! << 8)}`;
      if (sa[4] === 0x6) return [...sa.subarray(8 + sa[5]!, 8 + sa[5]! + sa[6]!)].map((b) => b.toString(16)).join(':');
      return linkNtoa(sa);
    }
    default:
      return `(${sa[1]})`;
  }
}

/** Rows from a NET_RT_DUMP2 buffer, skipping protocol clones like netstat without -a. */
export function netstatRows(dump2: Uint8Array, ifname: (index: number) => string | undefined): NetstatRow[] {
  const rows: NetstatRow[] = [];
  for (const msg of walkMessages(dump2)) {
    if (msg[3] !== RTM.GET2) continue;
    const h = readRtHeader(msg);
    const parentFlags = new DataView(msg.buffer, msg.byteOffset).getInt32(20, true);
    if (h.flags & RTF.WASCLONED && parentFlags & RTF.PRCLONING) continue;
    // get_rtaddrs: ROUNDUP walk; copies into zeroed buffers so bytes past sa_len read as zero.
    const slots: (Uint8Array | undefined)[] = [];
    let off = 92;
    for (let i = 0; i < 8; i++) {
      if (!(h.addrs & (1 << i))) continue;
      const l = msg[off]!;
      const copy = new Uint8Array(128);
      copy.set(msg.subarray(off, off + l));
      slots[i] = copy;
      off += roundup32(l);
    }
    const mask = slots[2] ?? new Uint8Array(128);
    const mtu = new DataView(msg.buffer, msg.byteOffset).getUint32(40, true);
    rows.push({
      destination: pSockaddr(slots[0], mask, h.flags, ifname),
      gateway: pSockaddr(slots[1], undefined, RTF.HOST, ifname),
      flags: flagLetters(h.flags),
      netif: ifname(h.index) ?? '',
      ifa: pSockaddr(slots[5], undefined, RTF.HOST, ifname),
      mtu,
    });
  }
  return rows;
}
