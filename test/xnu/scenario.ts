/**
 * @module test/xnu/scenario
 * Ready-made model machines. `createMacScenario()` is a Mac on Ethernet as `netstat -rn`
 * shows one (lo0, gif0, stf0, en0 = index 4 at 192.168.1.10/24 behind 192.168.1.1, with the
 * unscoped and the configd-scoped default), built by writing configd's real RTM_ADD
 * requests through a routing socket. `addTunnel()` is wireguard-go + `ifconfig`.
 *
 * Not in the table: ARP/ND clones (e.g. `192.168.1.1 … UHLWIir`) and 224.0.0.251 entries,
 * which the model does not create (no protocol cloning).
 */
import { AF, IFF, IFT, RTA, RTAX, RTF, RTM } from './constants.js';
import { XnuKernel, type XnuInterface } from './kernel.js';
import { buildRouteRequest, parseIPv4, prefixMask, sockaddrDl, sockaddrIn } from './wire.js';

export const EN0_MAC = Uint8Array.from([0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56]);
/** configd's pid in the scenario (any non-zero pid works; it only shows up in echoes). */
export const CONFIGD_PID = 53;

export interface MacScenario {
  kernel: XnuKernel;
  lo0: XnuInterface;
  en0: XnuInterface;
  /** wireguard-go creates a utun, then `ifconfig utunN <address> <peer> netmask 255.255.255.255`. */
  addTunnel(options?: TunnelOptions): XnuInterface;
}

export interface TunnelOptions {
  /** Default: the lowest free utunN, as the kernel picks for unit 0. */
  name?: string;
  address?: string;
  peer?: string;
  netmask?: string;
  /** wireguard-go sets the MTU (SIOCSIFMTU → RTM_IFINFO) before the address is configured. */
  mtu?: number;
}

export interface MacScenarioOptions {
  /** Leave out configd's scoped default (`default 192.168.1.1 UGScIg en0`). */
  withoutScopedDefault?: boolean;
  /** Leave out the unscoped default. */
  withoutDefault?: boolean;
}

/** A link sockaddr with only the index, as configd and NetworkExtension write it (`link#N`). */
export function linkGateway(ifp: XnuInterface): Uint8Array {
  return sockaddrDl({ index: ifp.index, type: ifp.type, len: 20 });
}

export function createMacScenario(options: MacScenarioOptions = {}): MacScenario {
  const kernel = new XnuKernel();
  const lo0 = kernel.createInterface({ name: 'lo0', type: IFT.LOOP, flags: IFF.UP | IFF.LOOPBACK | IFF.RUNNING | IFF.MULTICAST, mtu: 16384 });
  kernel.createInterface({ name: 'gif0', type: IFT.GIF, flags: IFF.POINTOPOINT | IFF.MULTICAST, mtu: 1280 });
  kernel.createInterface({ name: 'stf0', type: IFT.STF, flags: 0, mtu: 1280 });
  const en0 = kernel.createInterface({
    name: 'en0', type: IFT.ETHER, flags: IFF.UP | IFF.BROADCAST | IFF.RUNNING | IFF.SIMPLEX | IFF.MULTICAST,
    mtu: 1500, lladdr: EN0_MAC, hdrlen: 14, baudrate: 1_000_000_000,
  });
  kernel.addIPv4Address('lo0', { address: '127.0.0.1', netmask: '255.0.0.0' });
  kernel.addIPv6Address('lo0', { address: '::1', prefixLength: 128 });
  kernel.addIPv4Address('en0', { address: '192.168.1.10', netmask: '255.255.255.0', broadcast: '192.168.1.255' });
  // netstat shows the subnet route as UCS on a real Mac; in_ifinit alone leaves it UC.
  const subnet = kernel.lookup(AF.INET, parseIPv4('192.168.1.0'), prefixMask(24, 4));
  if (subnet !== undefined) subnet.flags |= RTF.STATIC;

  const configd = kernel.openSocket({ pid: CONFIGD_PID });
  let seq = 0;
  const add = (dst: string, bits: number, gateway: Uint8Array, flags: number, scope = 0): void => {
    configd.write(buildRouteRequest({
      type: RTM.ADD,
      flags: flags | (scope !== 0 ? RTF.IFSCOPE : 0),
      index: scope,
      seq: ++seq,
      addrs: { [RTAX.DST]: sockaddrIn(dst), [RTAX.GATEWAY]: gateway, [RTAX.NETMASK]: sockaddrIn(prefixMask(bits, 4)) },
    }));
  };
  const link = linkGateway(en0);
  add('127.0.0.0', 8, sockaddrIn('127.0.0.1'), RTF.UP | RTF.CLONING | RTF.STATIC);
  if (!options.withoutDefault) add('0.0.0.0', 0, sockaddrIn('192.168.1.1'), RTF.UP | RTF.GATEWAY | RTF.STATIC);
  if (!options.withoutScopedDefault) add('0.0.0.0', 0, sockaddrIn('192.168.1.1'), RTF.UP | RTF.GATEWAY | RTF.STATIC, en0.index);
  add('169.254.0.0', 16, link, RTF.UP | RTF.CLONING | RTF.STATIC);
  add('192.168.1.1', 32, link, RTF.UP | RTF.CLONING | RTF.STATIC);
  add('192.168.1.10', 32, link, RTF.UP | RTF.CLONING | RTF.STATIC);
  add('224.0.0.0', 4, link, RTF.UP | RTF.CLONING | RTF.STATIC);
  add('255.255.255.255', 32, link, RTF.UP | RTF.CLONING | RTF.STATIC);
  configd.close();

  const addTunnel = (t: TunnelOptions = {}): XnuInterface => {
    const utun = kernel.createUtun(t.name);
    if (t.mtu !== undefined) kernel.setMtu(utun.name, t.mtu);
    const address = t.address ?? '10.10.10.2';
    kernel.addIPv4Address(utun.name, { address, peer: t.peer ?? address, netmask: t.netmask ?? '255.255.255.255' });
    return utun;
  };
  return { kernel, lo0, en0, addTunnel };
}

/** RTA bits for tests that build requests by hand. */
export { RTA };
