/**
 * @module test/xnu/scenario
 * Ready-made model machines. `createMacScenario()` is a Mac on Ethernet as `netstat -rn`
 * shows one: lo0, gif0, stf0, en0 = index 4 at 192.168.1.10/24 behind 192.168.1.1. Its
 * table is built the way a Mac builds it: configd starts (the dynamic store model with
 * IPMonitor, PreferencesMonitor and IPConfiguration in it), IPConfiguration binds en0's
 * DHCP lease and publishes en0's service, and IPMonitor writes the routes with real RTM_ADD
 * messages. So en0 has the unscoped default and **no scoped default**: IPMonitor keeps one
 * route per destination and interface, and en0's only default is the primary's, unscoped
 * (configd-ipmonitor.md §3.2). `scopedDefault: true` adds `route add -ifscope en0 default
 * 192.168.1.1` by another process, for tests about that shape.
 *
 * Drive it like a real Mac: `network.renew()` (a DHCP renewal rewrites en0's service and
 * IPMonitor re-applies its routes), `network.roam(lease)`, `network.linkDown()`,
 * `configd.restart()`, then `await configd.settle()`. `addTunnel()` is wireguard-go +
 * `ifconfig`.
 *
 * Not in the table: ARP/ND clones (e.g. `192.168.1.1 … UHLWIir`) and 224.0.0.251 entries,
 * which the model does not create (no protocol cloning).
 */
import { AF, IFF, IFT, RTA, RTAX, RTF, RTM } from './constants.js';
import { DynamicStore } from './dynamic-store.js';
import { XnuIPConfiguration, XnuPreferencesMonitor, type Lease } from './ipconfiguration.js';
import { XnuIPMonitor } from './ipmonitor.js';
import { XnuKernel, type XnuInterface } from './kernel.js';
import { buildRouteRequest, formatIPv6, parseIPv4, parseIPv6, prefixMask, sockaddrDl, sockaddrIn } from './wire.js';

export const EN0_MAC = Uint8Array.from([0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56]);
/** configd's pid in the scenario (any non-zero pid works; it only shows up in echoes). */
export const CONFIGD_PID = 53;
/** en0's network service id (a UUID, as the preferences make them). */
export const EN0_SERVICE = '2C9F7E1A-5B3D-4E6F-8A9B-0C1D2E3F4A5B';
/** en0's DHCP lease in the default scenario. */
export const EN0_LEASE: Lease = { address: '192.168.1.10', netmask: '255.255.255.0', router: '192.168.1.1', broadcast: '192.168.1.255' };

export interface MacScenario {
  kernel: XnuKernel;
  lo0: XnuInterface;
  en0: XnuInterface;
  /** wireguard-go creates a utun, then `ifconfig utunN <address> <peer> netmask 255.255.255.255`. */
  addTunnel(options?: TunnelOptions): XnuInterface;
  /** configd: the dynamic store, with its plugins; `restart()`, `settle()`, `openSession()`. */
  configd: DynamicStore;
  ipmonitor: XnuIPMonitor;
  preferences: XnuPreferencesMonitor;
  /** en0's DHCP client: `renew()`, `roam(lease)`, `linkDown()`, `linkUp(lease)`. */
  network: XnuIPConfiguration;
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
  /** Also a scoped en0 default (`default 192.168.1.1 UGScIg en0`), added by another process after boot. */
  scopedDefault?: boolean;
  /** en0's lease has no router: IPMonitor installs no default route at all (224/4 and broadcast still). */
  withoutDefault?: boolean;
  /**
   * en0 also has IPv6 from router advertisements: fe80::3e22:fbff:fe12:3456/64,
   * 2001:db8:1::10/64, the router fe80::1 the kernel learned (its ::/0 is unscoped only while
   * en0 is the default IPv6 interface: `default fe80::1%en0 UGcg en0`), and en0's IPv6
   * service, which makes IPMonitor choose en0. Link-local addresses are stored KAME-style.
   */
  ipv6?: boolean;
  /** IPMonitor's IPv4/IPv6 coupling (configd ≥ 1296, macOS 14+; the default). false: configd-1241. */
  coupling?: boolean;
}

/** A link-local IPv6 address as XNU stores it (KAME): the interface index in bytes 2–3. */
export function embedScope(address: string, index: number): string {
  const bytes = parseIPv6(address);
  bytes[2] = index >> 8;
  bytes[3] = index & 0xff;
  return formatIPv6(bytes);
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

  // Boot: the loopback network route (configd's flush leaves loopback alone), then configd.
  const boot = kernel.openSocket({ pid: CONFIGD_PID });
  let seq = 0;
  const add = (dst: string, bits: number, gateway: Uint8Array, flags: number): void => {
    boot.write(buildRouteRequest({
      type: RTM.ADD,
      flags,
      seq: ++seq,
      addrs: { [RTAX.DST]: sockaddrIn(dst), [RTAX.GATEWAY]: gateway, [RTAX.NETMASK]: sockaddrIn(prefixMask(bits, 4)) },
    }));
  };
  add('127.0.0.0', 8, sockaddrIn('127.0.0.1'), RTF.UP | RTF.CLONING | RTF.STATIC);
  boot.close();

  const configd = new DynamicStore({ pid: CONFIGD_PID });
  const ipmonitor = new XnuIPMonitor(configd, kernel, { coupling: options.coupling ?? true });
  const preferences = new XnuPreferencesMonitor(configd, [EN0_SERVICE]);
  const lease: Lease = { ...EN0_LEASE };
  if (options.withoutDefault) delete lease.router;
  // IPConfiguration configures en0's address when it binds the lease; IPMonitor's subnet
  // route then replaces in_ifinit's (EEXIST → delete → add), which is why a Mac shows it UCS.
  if (options.ipv6) {
    // SLAAC and the router's advertisement: the kernel's part of IPv6 (IPMonitor then picks
    // the default interface, which decides whether the router's ::/0 is scoped).
    kernel.addIPv6Address('en0', { address: embedScope('fe80::3e22:fbff:fe12:3456', en0.index), prefixLength: 64 });
    kernel.addIPv6Address('en0', { address: '2001:db8:1::10', prefixLength: 64 });
    kernel.addNdRouter('en0', 'fe80::1');
  }
  const ipv6 = options.ipv6 ? { ipv6: { address: '2001:db8:1::10', prefixLength: 64, router: 'fe80::1' } } : {};
  const network = new XnuIPConfiguration(configd, kernel, { serviceId: EN0_SERVICE, interface: 'en0', lease, ...ipv6 });
  configd.addPlugin(ipmonitor);
  configd.addPlugin(preferences);
  configd.addPlugin(network);
  configd.start();
  configd.deliverNow();

  if (options.scopedDefault) {
    const other = kernel.openSocket({ pid: CONFIGD_PID });
    other.write(buildRouteRequest({
      type: RTM.ADD, flags: RTF.UP | RTF.GATEWAY | RTF.STATIC | RTF.IFSCOPE, index: en0.index, seq: 1,
      addrs: { [RTAX.DST]: sockaddrIn('0.0.0.0'), [RTAX.GATEWAY]: sockaddrIn('192.168.1.1'), [RTAX.NETMASK]: sockaddrIn(prefixMask(0, 4)) },
    }));
    other.close();
  }

  const addTunnel = (t: TunnelOptions = {}): XnuInterface => {
    const utun = kernel.createUtun(t.name);
    if (t.mtu !== undefined) kernel.setMtu(utun.name, t.mtu);
    const address = t.address ?? '10.10.10.2';
    kernel.addIPv4Address(utun.name, { address, peer: t.peer ?? address, netmask: t.netmask ?? '255.255.255.255' });
    return utun;
  };
  return { kernel, lo0, en0, addTunnel, configd, ipmonitor, preferences, network };
}

/** RTA bits for tests that build requests by hand. */
export { RTA };
