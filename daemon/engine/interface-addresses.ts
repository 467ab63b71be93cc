/**
 * @module engine/interface-addresses
 * The interfaces' addresses as far as the engine knows them: the last run's snapshot, kept
 * current by the address events read since. An address event that only repeats an address
 * already known cannot change the facts (they read addresses, not their flags or lifetimes)
 * or the table (adding an address removes no route, and each route it adds comes with its
 * own message), so it starts no reconcile. Such repeats are common: IPv6 duplicate address
 * detection completing a second after a link comes up, a router advertisement refreshing a
 * lifetime, `ip addr change`. At 10,000 routes each full run they started cost 50–120 ms of
 * snapshot and pass, and the repairs that landed in it waited on them (the repair p99).
 * A new address, or any deletion (the kernel flushes routes that used a deleted address
 * without a message each), still starts one. Knowing relies on seeing every deletion: after
 * lost or unreadable messages nothing is known until a run has read the table again.
 */
import type { KernelEvent, KernelInterface } from '../backends/backend.js';

type AddressEvent = Extract<KernelEvent, { kind: 'address' }>;

export class InterfaceAddresses {
  private known = new Map<number, Set<string>>();
  /** Address events read since the snapshot being read was asked for. */
  private readDuring = 0;

  /** A run asks for a snapshot: an event read from now until it arrives may be older or newer than it. */
  snapshotAsked(): void {
    this.readDuring = 0;
  }

  /**
   * The run's snapshot arrived. When address events were read meanwhile it may predate them
   * (it must not bring back an address a deletion read meanwhile removed): then nothing is
   * known until the next snapshot, and every address event starts a run.
   */
  snapshotRead(interfaces: readonly KernelInterface[]): void {
    this.known = new Map();
    if (this.readDuring > 0) return;
    for (const i of interfaces) this.known.set(i.index, new Set(i.addresses));
  }

  /**
   * Messages were lost (an overflow) or skipped (malformed): a deletion among them would leave
   * an address known that is gone, so nothing is known until the next run's snapshot.
   */
  forget(): void {
    this.known = new Map();
    this.readDuring++;
  }

  /** Notes an address event; false when it repeats an address known on its interface (nothing can have changed). */
  changes(event: AddressEvent): boolean {
    this.readDuring++;
    const known = this.known.get(event.index);
    if (event.address === undefined) {
      this.known.delete(event.index);
      return true;
    }
    if (event.change === 'deleted') {
      known?.delete(event.address);
      return true;
    }
    if (known?.has(event.address)) return false;
    // Known from now on: a second repeat of it is a repeat.
    if (known) known.add(event.address);
    return true;
  }
}
