/**
 * Runs inside a test namespace: for every route of the table whose destination is one of
 * the arguments, takes the kernel's record of it (as the Linux backend keeps it for a moved
 * route), deletes the route, and writes it back from the record. Prints one JSON line per
 * route; the test compares `ip -d route show table all` before and after.
 *
 *   node route-record.js DEST…
 */
import { loadNative } from '../../../native/index.js';
import { LinuxBackend } from '../../../daemon/backends/linux.js';

const destinations = new Set(process.argv.slice(2));
const backend = new LinuxBackend({ native: loadNative() });
await backend.open(() => {});
try {
  const snap = await backend.snapshot();
  for (const route of snap.routes.filter((r) => destinations.has(r.destination))) {
    const { tagged: _t, record, gateway, ...rest } = route;
    try {
      await backend.deleteRoute(route);
    } catch (e) {
      process.stdout.write(JSON.stringify({ destination: route.destination, table: route.table, recorded: record !== undefined, result: `delete ${(e as { code?: string }).code ?? String(e)}` }) + '\n');
      continue;
    }
    const model = { ...rest, gateway: gateway ?? { link: route.index }, interface: '', origin: 'demoted' as const };
    let result = 'ok';
    try {
      await backend.restoreRoute(model, { record: record ?? null });
    } catch (e) {
      result = (e as { code?: string }).code ?? String(e);
    }
    process.stdout.write(JSON.stringify({ destination: route.destination, table: route.table, recorded: record !== undefined, result }) + '\n');
  }
} finally {
  backend.close();
}
