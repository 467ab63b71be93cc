/**
 * @module commands/plan
 * `tunroute plan PROFILE`: prints what the profile would do on this machine (or on the
 * one the flags describe) without touching anything: the routes as a netstat-style
 * table, then the ordered actions and their undo; `--json` for the same as data,
 * `--emit hex` for the exact routing messages. Facts not given as flags are read from
 * the live system.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { isZonedIPv6, type Family } from '../model/route.js';
import { loadProfile } from '../profile/load.js';
import { formatProblem } from '../profile/problems.js';
import { parseAddress } from '../profile/prefix.js';
import type { Platform, Profile } from '../profile/profile.js';
import { emitMessages } from '../plan/emit.js';
import type { ExistingRoute, PhysicalDefault, PlanFacts } from '../plan/facts.js';
import { formatPlanText, planJson } from '../plan/format.js';
import { readLiveFacts } from './live-facts.js';
import { MAIN_TABLE, planRoutes } from '../plan/plan.js';
import { formatPeerFacts, needsPeers, peerFactsFromFlags, readPeerFactsOnce } from './peer-facts.js';
import { platformOption } from './check.js';

const HELP = `usage: tunroute plan PROFILE [--os darwin|linux] [--json | --emit hex]
         [--interface NAME --index N] [--address A ...]
         [--gateway GW --gateway-interface IF --gateway-index N [--gateway-metric M]]
         [--gateway6 GW6] [--endpoint A[:PORT] ...] [--allowed-ip PREFIX ...]

Prints the routes and actions PROFILE would produce, without changing anything.

  --os darwin|linux       plan for this platform (default: this machine's)
  --json                  the plan as JSON instead of a table
  --emit hex              the routing messages applying the plan would write, one per line
  --interface NAME        the tunnel interface (default: the profile's interface.name)
  --index N               the tunnel's interface index
  --address A             a tunnel address (repeatable; default: the profile's address)
  --gateway GW            the physical IPv4 default gateway
  --gateway-interface IF  the physical interface (en0, eth0)
  --gateway-index N       its interface index
  --gateway-metric M      Linux: the physical default's metric (default 0)
  --gateway6 GW6          the physical IPv6 default gateway, on the same interface
  --endpoint A[:PORT]     a peer's endpoint, for endpoints: auto (repeatable)
  --allowed-ip PREFIX     a peer's allowed IP, for routes: auto (repeatable)

Facts not given are read from the live system. With --gateway, the physical side is
taken to own the unscoped default route only. With endpoints: auto or routes: auto, the
peers are read from wireguard-go's UAPI socket unless --endpoint/--allowed-ip stand in
for it; endpoint host names are resolved.
`;

/** cli.ts turns parseArgs's errors into usage errors (exit 2). */
function parse(args: string[]) {
  return parseArgs({ args, allowPositionals: true, options: OPTIONS });
}

const OPTIONS = {
  os: { type: 'string' },
  json: { type: 'boolean', default: false },
  emit: { type: 'string' },
  interface: { type: 'string' },
  index: { type: 'string' },
  address: { type: 'string', multiple: true },
  gateway: { type: 'string' },
  'gateway-interface': { type: 'string' },
  'gateway-index': { type: 'string' },
  'gateway-metric': { type: 'string' },
  gateway6: { type: 'string' },
  endpoint: { type: 'string', multiple: true },
  'allowed-ip': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < min) throw new UsageError(`--${name} must be a whole number of at least ${min}, not "${text}"`);
  return Number(text);
}

function address(name: string, text: string, family?: Family): string {
  // A link-local gateway carries its zone (fe80::1%en0); the zone is the kernel's business.
  const parsed = parseAddress((text.split('/')[0] as string).split('%')[0] as string);
  if (parsed === null || (family !== undefined && parsed.family !== family)) {
    throw new UsageError(`--${name} must be an ${family === 'inet6' ? 'IPv6' : family === 'inet' ? 'IPv4' : 'IP'} address, not "${text}"`);
  }
  return text;
}

/** The facts the flags give, or null when the tunnel itself is not described. */
export function factsFromFlags(values: ReturnType<typeof parse>['values'], os: Platform, profile: Profile): PlanFacts | null {
  const name = values.interface ?? (profile.interface.kind === 'name' ? profile.interface.name : undefined);
  const index = integer('index', values.index, 1);
  if (name === undefined || index === undefined) return null;
  const physicalDefaults: PhysicalDefault[] = [];
  const existing: ExistingRoute[] = [];
  const gatewayInterface = values['gateway-interface'];
  const gatewayIndex = integer('gateway-index', values['gateway-index'], 1);
  const metric = integer('gateway-metric', values['gateway-metric'], 0) ?? null;
  const gateways: Array<[Family, string | undefined]> = [['inet', values.gateway], ['inet6', values.gateway6]];
  for (const [family, gateway] of gateways) {
    if (gateway === undefined) continue;
    if (gatewayInterface === undefined || gatewayIndex === undefined) throw new UsageError('--gateway needs --gateway-interface and --gateway-index');
    address(family === 'inet' ? 'gateway' : 'gateway6', gateway, family);
    // fe80::1%en0: the zone is --gateway-interface; the route carries it as the index (macOS).
    const bare = gateway.split('%')[0] as string;
    const zone = os === 'darwin' && isZonedIPv6(bare) ? { scope: gatewayIndex } : {};
    physicalDefaults.push({ family, gateway: bare, interface: gatewayInterface, index: gatewayIndex, metric });
    existing.push({
      family,
      destination: family === 'inet' ? '0.0.0.0/0' : '::/0',
      gateway: { address: bare, ...zone },
      interface: gatewayInterface,
      index: gatewayIndex,
      scope: null,
      table: os === 'linux' ? MAIN_TABLE : null,
      metric: os === 'linux' ? metric : null,
      flags: os === 'darwin' ? ['UP', 'GATEWAY', 'STATIC'] : [],
      mtu: null,
    });
  }
  const addresses = (values.address ?? []).map((a) => address('address', a));
  return { os, tunnel: { name, index, addresses }, physicalDefaults, existing };
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(args);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one PROFILE, got ${positionals.length}\n\n${HELP}`);
  if (values.emit !== undefined && values.emit !== 'hex') throw new UsageError(`--emit takes "hex", not "${values.emit}"`);
  if (values.emit !== undefined && values.json) throw new UsageError('--json and --emit exclude each other');
  const os = platformOption(values.os);
  const loaded = loadProfile(positionals[0] as string, { platform: os });
  if (loaded.problems) {
    process.stderr.write(loaded.problems.map((p) => `${formatProblem(p)}\n`).join(''));
    return 1;
  }
  const profile = loaded.profile;
  const kernelFacts = factsFromFlags(values, os, profile) ?? (await readLiveFacts(os, values.interface ?? (profile.interface.kind === 'name' ? profile.interface.name : null)));
  const peerFlags = values.endpoint !== undefined || values['allowed-ip'] !== undefined;
  const peers = peerFlags
    ? peerFactsFromFlags(profile, values.endpoint ?? [], values['allowed-ip'] ?? [])
    : needsPeers(profile)
      ? await readPeerFactsOnce(profile, os, kernelFacts.tunnel.name)
      : undefined;
  const facts = peers ? { ...kernelFacts, peers } : kernelFacts;
  const plan = planRoutes(profile, facts);
  if (values.emit === 'hex') {
    process.stdout.write(emitMessages(plan, os).map((m) => `${Buffer.from(m).toString('hex')}\n`).join(''));
  } else if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...planJson(plan), ...(peers ? { peers } : {}) }, null, 2)}\n`);
  } else {
    process.stdout.write((peers ? formatPeerFacts(peers) : '') + formatPlanText(plan));
  }
  return 0;
}
