/**
 * @module backends/darwin
 * The macOS backend: PF_ROUTE through the native socket, the sysctl table dumps, and the
 * darwin codec. Routes tunroute adds carry RTF_PROTO1 (TUNROUTE_TAG_FLAG).
 *
 * Writes are synchronous on macOS: write(2) on the routing socket returns the kernel's
 * verdict (EEXIST, ESRCH, ENETUNREACH …), and the echo that follows is only a copy. So a
 * request settles when send() returns, and the echoes of our own writes (rtm_pid = our
 * pid) are dropped instead of being treated as foreign changes.
 */
import type { NativeBinding, NativeRouteSocket } from '../../native/index.js';
import type { Backend, KernelEvent, KernelInterface, KernelRoute, KernelSnapshot, RestoreOptions, RouteRecord } from './backend.js';
import type { Gateway, Route } from '../model/route.js';
import { sameGateway } from '../model/route.js';
import { darwinCodec, encodeRequest, namedRouteFlags, RMX, RouteView, scan, TUNROUTE_TAG_FLAG } from '../codec/darwin/index.js';
import type { RouteRequest } from '../codec/darwin/index.js';
import { AF, IFF, NET_RT, RTF, RTM } from '../codec/darwin/constants.js';

/** Route messages that describe the table; MISS, REDIRECT, RESOLVE and GET replies do not change it. */
const TABLE_CHANGES = new Map<number, 'added' | 'deleted' | 'changed'>([
  [RTM.RTM_ADD.value, 'added'],
  [RTM.RTM_DELETE.value, 'deleted'],
  [RTM.RTM_CHANGE.value, 'changed'],
]);

/** ARP/ND entries and clones come and go with traffic; they never affect tunroute's routes. */
const CHURN = RTF.RTF_WASCLONED.value | RTF.RTF_LLINFO.value;

const REQUESTABLE = new Set(['UP', 'GATEWAY', 'HOST', 'REJECT', 'STATIC', 'CLONING', 'BLACKHOLE', 'XRESOLVE', 'LLINFO']);

const AF_INET = AF.AF_INET.value;
const AF_INET6 = AF.AF_INET6.value;
const AF_LINK = AF.AF_LINK.value;

/** IFT_OTHER: what utun reports, and route(8)'s default for a link gateway. */
const IFT_OTHER = 1;

export interface DarwinBackendOptions {
  native: NativeBinding;
  /** The pid the kernel writes into our messages' rtm_pid (an in-process model passes its own). */
  pid?: number;
  receiveBufferSize?: number;
}

export class DarwinBackend implements Backend {
  readonly os = 'darwin' as const;
  private readonly native: NativeBinding;
  private readonly pid: number;
  private readonly receiveBufferSize: number;
  private socket: NativeRouteSocket | null = null;
  private seq = 0;
  private malformed = 0;
  private overflows = 0;
  /** IFT_* by interface index, from the last snapshot: a link gateway carries its interface's type. */
  private linkTypes = new Map<number, number>();

  constructor(options: DarwinBackendOptions) {
    this.native = options.native;
    this.pid = options.pid ?? process.pid;
    this.receiveBufferSize = options.receiveBufferSize ?? 1 << 20;
  }

  async open(onEvent: (event: KernelEvent) => void): Promise<void> {
    this.socket = new this.native.RouteSocket(
      (bytes) => this.receive(bytes, onEvent),
      () => {
        this.overflows++;
        onEvent({ kind: 'overflow' });
      },
      (error) => onEvent({ kind: 'malformed', error: error.message }),
      { receiveBufferSize: this.receiveBufferSize },
    );
  }

  private receive(bytes: Uint8Array, onEvent: (event: KernelEvent) => void): void {
    this.malformed += notificationEvents(bytes, this.pid, onEvent);
  }

  private dump(op: number): Uint8Array {
    if (!this.native.sysctlRouteDump) throw new Error('this native binding has no sysctl (not macOS)');
    return this.native.sysctlRouteDump(AF.AF_UNSPEC.value, op, 0);
  }

  async snapshot(): Promise<KernelSnapshot> {
    const routes: KernelRoute[] = [];
    scan(this.dump(NET_RT.NET_RT_DUMP.value), VIEW, {
      route: (v) => {
        if (v.flags & CHURN) return;
        const route = toKernelRoute(v);
        if (route) routes.push(route);
      },
      other: () => undefined,
      malformed: () => this.malformed++,
    });
    const interfaces = new Map<number, KernelInterface>();
    const list = darwinCodec.walk(this.dump(NET_RT.NET_RT_IFLIST.value));
    this.malformed += list.errors.length;
    for (const { message } of list.messages) {
      if (message.kind === 'interface') {
        const ifp = message.addrs.ifp;
        this.linkTypes.set(message.index, ifp?.family === 'link' ? ifp.type : message.data.type);
        interfaces.set(message.index, {
          name: ifp?.family === 'link' ? ifp.name : (this.native.indexToName(message.index) ?? `#${message.index}`),
          index: message.index,
          up: (message.flags & IFF.IFF_UP.value) !== 0,
          addresses: [],
          mtu: message.data.mtu,
          pointToPoint: (message.flags & IFF.IFF_POINTOPOINT.value) !== 0,
        });
      } else if (message.kind === 'address' && message.address) {
        interfaces.get(message.index)?.addresses.push(message.address);
      }
    }
    return { routes, rules: [], interfaces: [...interfaces.values()] };
  }

  private send(request: Omit<RouteRequest, 'seq' | 'pid'>): Promise<void> {
    if (!this.socket) return Promise.reject(new Error('the routing socket is not open'));
    try {
      this.seq = (this.seq % 0x7fffffff) + 1;
      this.socket.send(encodeRequest({ ...request, seq: this.seq, pid: this.pid }));
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private request(type: 'add' | 'delete', route: Route | KernelRoute, tag: boolean): Omit<RouteRequest, 'seq' | 'pid'> {
    const link = route.gateway !== null && 'link' in route.gateway ? route.gateway.link : null;
    return routeRequest(type, route, { tag, linkType: link === null ? undefined : this.linkTypes.get(link) });
  }

  addRoute(route: Route): Promise<void> {
    return this.send(this.request('add', route, true));
  }

  restoreRoute(route: Route, options: RestoreOptions = {}): Promise<void> {
    const request = this.request('add', { ...route, flags: route.flags.filter((f) => f !== 'PROTO1') }, false);
    const record = options.record;
    if (record && record.os === 'darwin') Object.assign(request, recordedParts(record, request));
    return this.send(request);
  }

  deleteRoute(route: Route | KernelRoute): Promise<void> {
    // The kernel matches key, mask and scope exactly and ignores the gateway (§3.5); the
    // gateway still goes along so `route monitor` shows what was meant.
    return this.send(this.request('delete', route, false));
  }

  addRule(): Promise<void> {
    return Promise.reject(new Error('policy rules are a Linux feature'));
  }

  deleteRule(): Promise<void> {
    return Promise.reject(new Error('policy rules are a Linux feature'));
  }

  keyOf(route: Route | KernelRoute): string {
    return `${route.destination}|${route.scope ?? '-'}`;
  }

  sameKey(kernel: KernelRoute, route: Route | KernelRoute): boolean {
    return kernel.destination === route.destination && kernel.scope === route.scope;
  }

  satisfies(kernel: KernelRoute, route: Route): boolean {
    return this.sameKey(kernel, route) && kernel.index === route.index && sameGateway(kernel.gateway, route.gateway);
  }

  stats(): { malformed: number; overflows: number } {
    return { malformed: this.malformed, overflows: this.overflows };
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}

export interface RequestOptions {
  /** Adds TUNROUTE_TAG_FLAG: a route tunroute owns. */
  tag: boolean;
  /** IFT_* of a link gateway's interface (default IFT_OTHER, utun's). */
  linkType?: number | undefined;
}

/**
 * The PF_ROUTE request that adds or deletes `route`, without seq and pid. The one place
 * a route becomes a request: the backend writes these, `tunroute plan --emit hex` prints them.
 */
export function routeRequest(type: 'add' | 'delete', route: Route | KernelRoute, options: RequestOptions): Omit<RouteRequest, 'seq' | 'pid'> {
  const host = route.flags.includes('HOST');
  // Only what user space may ask for; the kernel adds PRCLONING, GLOBAL, MULTICAST … itself,
  // and a route read from the table and written back must not carry them.
  const names = route.flags.filter((f) => REQUESTABLE.has(f));
  const request: Omit<RouteRequest, 'seq' | 'pid'> = {
    type,
    destination: route.destination,
    // A /32 that is not RTF_HOST (255.255.255.255/32) needs its mask, or the kernel keys it as a host entry.
    netmask: host ? 'none' : 'trimmed',
    flags: names.reduce((acc, n) => acc | (RTF[`RTF_${n}` as keyof typeof RTF]?.value ?? 0), options.tag ? TUNROUTE_TAG_FLAG : 0),
  };
  if (route.gateway !== null) {
    request.gateway = 'address' in route.gateway
      ? { address: route.gateway.address, ...(route.gateway.scope ? { scope: route.gateway.scope } : {}) }
      // Index only, no name: what NetworkExtension and configd write, shown by netstat as link#N.
      : { link: { index: route.gateway.link, type: options.linkType ?? IFT_OTHER, name: '' } };
  }
  if (route.scope !== null) request.scope = route.scope;
  if (type === 'add' && route.mtu !== null) request.metrics = { mtu: route.mtu };
  return request;
}

/** RTF_* bits a restored route may ask for: the requestable ones, never tunroute's tag. */
const REQUESTABLE_BITS = [...REQUESTABLE].reduce((acc, n) => acc | (RTF[`RTF_${n}` as keyof typeof RTF]?.value ?? 0), 0) | RTF.RTF_PROTO2.value | RTF.RTF_PROTO3.value;
const METRIC_NAMES = ['mtu', 'hopcount', 'expire', 'recvpipe', 'sendpipe', 'ssthresh', 'rtt', 'rttvar'] as const;

/**
 * The parts of an add request that come from the kernel's record of the route: its own
 * flags (STATIC, CLONING, other daemons' PROTO2/3 …), every metric it had, their locks,
 * and an IPv6 gateway's scope (a link-local next hop is meaningless without it).
 */
function recordedParts(record: Extract<RouteRecord, { os: 'darwin' }>, request: Omit<RouteRequest, 'seq' | 'pid'>): Partial<RouteRequest> {
  const scopeBit = RTF.RTF_IFSCOPE.value;
  const flags = (record.flags & REQUESTABLE_BITS & ~TUNROUTE_TAG_FLAG) | (typeof request.flags === 'number' ? request.flags & scopeBit : 0);
  const metrics: Record<string, number> = {};
  for (const name of METRIC_NAMES) if (record.metrics[name] !== 0) metrics[name] = record.metrics[name];
  const parts: Partial<RouteRequest> = { flags, metrics, locks: record.locks };
  if (request.gateway && 'address' in request.gateway && record.gatewayScope !== 0) parts.gateway = { address: request.gateway.address, scope: record.gatewayScope };
  if (request.gateway && 'link' in request.gateway && record.gatewayLinkType !== undefined) parts.gateway = { link: { ...request.gateway.link, type: record.gatewayLinkType } };
  return parts;
}

/** The view every route message is read with (reused: each becomes a KernelRoute before the next is read). */
const VIEW = new RouteView();

/**
 * The events in one read from the routing socket, as the daemon turns them. Route messages
 * are read through a RouteView (no Sockaddr objects, no metrics struct), and the ones that
 * cannot change the table (GET replies, MISS, failed requests, ARP/ND churn, the echoes of
 * our own writes, rtm_pid `ownPid`) are dropped from their header alone; interface and
 * address messages are decoded in full. A malformed message becomes a `malformed` event;
 * returns how many there were.
 */
export function notificationEvents(bytes: Uint8Array, ownPid: number, onEvent: (event: KernelEvent) => void): number {
  let malformed = 0;
  scan(bytes, VIEW, {
    route: (v) => {
      const change = TABLE_CHANGES.get(v.type);
      if (change === undefined || v.errno !== 0 || v.flags & CHURN || v.pid === ownPid) return;
      const route = toKernelRoute(v);
      if (route) onEvent({ kind: 'route', change, route, pid: v.pid });
    },
    other: (m) => {
      if (m.kind === 'interface') onEvent({ kind: 'link', index: m.index, up: (m.flags & IFF.IFF_UP.value) !== 0 });
      else if (m.kind === 'address') onEvent({ kind: 'address', change: m.type === RTM.RTM_NEWADDR.value ? 'added' : 'deleted', index: m.index, ...(m.address === null ? {} : { address: m.address }) });
    },
    malformed: (error) => {
      malformed++;
      onEvent({ kind: 'malformed', error: error.message });
    },
  });
  return malformed;
}

/** A route message in the shared model; null for a destination that is not an IP prefix. */
export function toKernelRoute(v: RouteView): KernelRoute | null {
  const family = v.dstFamily;
  if (family !== AF_INET && family !== AF_INET6) return null;
  const destination = v.destination;
  if (destination === null) return null;
  let gateway: Gateway | null = null;
  let gatewayScope = 0;
  switch (v.gatewayFamily) {
    case AF_LINK:
      gateway = { link: v.gatewayLinkIndex };
      break;
    case AF_INET:
      gateway = { address: v.gatewayInet };
      break;
    case AF_INET6: {
      // A link-local next hop keeps its zone: without it the route cannot be written back (§1.10).
      const { address, scope } = v.gatewayInet6();
      gateway = scope !== 0 ? { address, scope } : { address };
      gatewayScope = scope;
      break;
    }
  }
  const mtu = v.metric(RMX.mtu);
  return {
    family: family === AF_INET ? 'inet' : 'inet6',
    destination,
    gateway,
    index: v.index,
    scope: v.scope,
    table: null,
    metric: null,
    flags: namedRouteFlags(v.flags),
    mtu: mtu === 0 ? null : mtu,
    tagged: (v.flags & TUNROUTE_TAG_FLAG) !== 0,
    record: recordOf(v, gatewayScope),
  };
}

/** The kernel's record of a route, for an exact restore if it is ever moved. */
function recordOf(v: RouteView, gatewayScope: number): RouteRecord {
  const record: RouteRecord = {
    os: 'darwin',
    flags: v.flags,
    locks: v.metric(RMX.locks),
    inits: v.inits,
    // One literal (not built in a loop over METRIC_NAMES): a third of the notification path's time otherwise.
    metrics: v.settableMetrics(),
    gatewayScope,
  };
  if (v.gatewayFamily === AF_LINK) record.gatewayLinkType = v.gatewayLinkType;
  return record;
}
