/**
 * @module test/xnu/ipconfiguration
 * The two other configd plugins a Mac's table depends on, reduced to what drives IPMonitor:
 *
 * - **PreferencesMonitor** publishes `Setup:/Network/Global/IPv4` with the `ServiceOrder`
 *   from the network preferences (configd-ipmonitor.md §1.1).
 * - **IPConfiguration** (the DHCP client; bootp's ipconfigd, loaded into configd) owns one
 *   physical interface: it puts the leased address on the interface (SIOCAIFADDR), then
 *   publishes `State:/Network/Service/<id>/IPv4` = {Addresses, SubnetMasks, Router,
 *   InterfaceName}. Every renewal writes that key again with the same content, which is the
 *   event that makes IPMonitor re-apply the service's routes (§4.2: "IPConfiguration on DHCP
 *   or link events"; its exact trigger set is UNCONFIRMED, so tests call `renew()` and
 *   `roam()` where a real Mac would renew or roam).
 *
 * Model assumption, not from the reference: the `169.254` link-local route and the host
 * route to the interface's own address (`192.168.1.10/32 link#4 UCS`) that a real Mac's
 * table shows are added here, by the DHCP client, through a routing socket with configd's
 * pid, when the lease is bound. IPMonitor's flush removes them on a configd restart and the
 * restarted IPConfiguration puts them back.
 */
import type { PlistValue } from '../../native/index.js';
import { AF, RTAX, RTF, RTM } from './constants.js';
import type { ConfigdPlugin, DynamicStore, StoreSession } from './dynamic-store.js';
import { SETUP_GLOBAL_IPV4 } from './ipmonitor.js';
import type { XnuKernel } from './kernel.js';
import { buildRouteRequest, parseIPv4, prefixMask, sockaddrDl, sockaddrIn } from './wire.js';

export class XnuPreferencesMonitor implements ConfigdPlugin {
  private readonly store: DynamicStore;
  private session: StoreSession | undefined;
  private order: string[];

  constructor(store: DynamicStore, serviceOrder: string[]) {
    this.store = store;
    this.order = [...serviceOrder];
  }

  start(): void {
    this.session?.close();
    this.session = this.store.openSession({ name: 'PreferencesMonitor', pid: this.store.pid });
    this.publish();
  }

  /** The user reorders services in System Settings. */
  setServiceOrder(order: string[]): void {
    this.order = [...order];
    this.publish();
  }

  private publish(): void {
    this.session!.setMultiple({ [SETUP_GLOBAL_IPV4]: { ServiceOrder: [...this.order] } }, [], []);
  }
}

export interface Lease {
  address: string;
  netmask: string;
  /** Absent: a lease with no router option (the service gets no default route). */
  router?: string;
  broadcast?: string;
}

/** IPv6 from router advertisements: published as the service's IPv6 entity when the link comes up. */
export interface Ipv6Config {
  address: string;
  prefixLength: number;
  /** The advertising router (link-local). */
  router: string;
}

export interface IPConfigurationOptions {
  serviceId: string;
  interface: string;
  lease: Lease;
  ipv6?: Ipv6Config;
}

export class XnuIPConfiguration implements ConfigdPlugin {
  readonly serviceId: string;
  readonly interfaceName: string;
  private readonly store: DynamicStore;
  private readonly kernel: XnuKernel;
  private session: StoreSession | undefined;
  private lease: Lease | null;
  private seq = 0;
  /** How many times the service's IPv4 key was written. */
  publications = 0;

  constructor(store: DynamicStore, kernel: XnuKernel, options: IPConfigurationOptions) {
    this.store = store;
    this.kernel = kernel;
    this.serviceId = options.serviceId;
    this.interfaceName = options.interface;
    this.lease = { ...options.lease };
    this.ipv6 = options.ipv6;
  }

  private readonly ipv6: Ipv6Config | undefined;

  get ipv6Key(): string {
    return `State:/Network/Service/${this.serviceId}/IPv6`;
  }

  get ipv4Key(): string {
    return `State:/Network/Service/${this.serviceId}/IPv4`;
  }

  get currentLease(): Lease | null {
    return this.lease === null ? null : { ...this.lease };
  }

  /** At configd start (boot or restart): bind the lease again and publish. */
  start(): void {
    this.session?.close();
    this.session = this.store.openSession({ name: 'IPConfiguration', pid: this.store.pid });
    if (this.lease !== null) this.bind(this.lease);
  }

  /** A DHCP renewal: the same lease, the service key written again with the same content. */
  renew(): void {
    if (this.lease === null) throw new Error(`${this.interfaceName} has no lease to renew`);
    this.publish();
  }

  /** A roam (or a new DHCP server): the old address goes, the new lease is bound and published. */
  roam(lease: Lease): void {
    this.unbind();
    this.lease = { ...lease };
    this.bind(this.lease);
  }

  /** Link down / lease lost: the service's IPv4 key is removed and the address with it. */
  linkDown(): void {
    this.unbind();
    this.lease = null;
    this.session!.setMultiple({}, [this.ipv4Key, ...(this.ipv6 !== undefined ? [this.ipv6Key] : [])], []);
  }

  /** Link up again with `lease`. */
  linkUp(lease: Lease): void {
    if (this.lease !== null) throw new Error(`${this.interfaceName} already has a lease`);
    this.lease = { ...lease };
    this.bind(this.lease);
  }

  private dict(lease: Lease): PlistValue {
    const d: Record<string, PlistValue> = {
      Addresses: [lease.address],
      SubnetMasks: [lease.netmask],
      InterfaceName: this.interfaceName,
    };
    if (lease.router !== undefined) d.Router = lease.router;
    return d;
  }

  private publish(): void {
    this.publications++;
    this.session!.setMultiple({ [this.ipv4Key]: this.dict(this.lease!) }, [], []);
  }

  private bind(lease: Lease): void {
    const ifp = this.kernel.getInterface(this.interfaceName);
    const has = ifp.addrs.some((a) => a.family === AF.INET && a.addr.join('.') === lease.address);
    if (!has) this.kernel.addIPv4Address(this.interfaceName, { address: lease.address, netmask: lease.netmask, ...(lease.broadcast ? { broadcast: lease.broadcast } : {}) });
    this.ownRoutes(RTM.ADD, lease);
    this.publish();
    if (this.ipv6 !== undefined) {
      this.session!.setMultiple({
        [this.ipv6Key]: { Addresses: [this.ipv6.address], PrefixLength: [this.ipv6.prefixLength], Router: this.ipv6.router, InterfaceName: this.interfaceName },
      }, [], []);
    }
  }

  private unbind(): void {
    const lease = this.lease;
    if (lease === null) return;
    this.ownRoutes(RTM.DELETE, lease);
    const ifp = this.kernel.getInterface(this.interfaceName);
    if (ifp.addrs.some((a) => a.family === AF.INET && a.addr.join('.') === lease.address)) this.kernel.removeIPv4Address(this.interfaceName, lease.address);
  }

  /** The link-local route and the own-address host route (see the module comment). Errors are ignored, as a DHCP client would log them. */
  private ownRoutes(type: number, lease: Lease): void {
    const ifp = this.kernel.getInterface(this.interfaceName);
    const socket = this.kernel.openSocket({ pid: this.store.pid });
    const link = sockaddrDl({ index: ifp.index, type: ifp.type, len: 20 });
    const write = (dst: string, bits: number): void => {
      try {
        socket.write(buildRouteRequest({
          type, flags: RTF.UP | RTF.CLONING | RTF.STATIC, seq: ++this.seq,
          addrs: { [RTAX.DST]: sockaddrIn(parseIPv4(dst)), [RTAX.GATEWAY]: link, [RTAX.NETMASK]: sockaddrIn(prefixMask(bits, 4)) },
        }));
      } catch {
        // EEXIST / ESRCH: already there, already gone.
      }
    };
    try {
      write('169.254.0.0', 16);
      write(lease.address, 32);
    } finally {
      socket.close();
    }
  }
}
