/**
 * @module engine/boot-time
 * When this boot started, so the journal can tell its own entries from an earlier boot's.
 * A route journaled before a reboot names interface indexes and gateways of a machine that
 * no longer exists: the kernel renumbers interfaces at every boot, so restoring it would
 * put a route on whatever interface now has that index. Such entries are dropped instead.
 *
 * macOS: kern.boottime. Node's os.uptime() is libuv's uv_uptime, which on Darwin is
 * time(NULL) minus sysctl {CTL_KERN, KERN_BOOTTIME}.tv_sec, so now − uptime gives it back to
 * the second (no native code needed). Linux: `btime` in /proc/stat, the same quantity.
 *
 * Both move with the wall clock (a stepped clock moves the boot time with it), so two
 * readings count as the same boot within BOOT_TIME_TOLERANCE_S; an earlier boot is at least
 * a reboot's downtime plus that boot's uptime away.
 */
import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';

/** Seconds two readings of one boot's start may differ by (clock steps, rounding). */
export const BOOT_TIME_TOLERANCE_S = 120;

/** This boot's start, in seconds since the epoch. */
export function currentBootTime(): number {
  if (process.platform === 'linux') {
    try {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
      if (btime) return Number(btime[1]);
    } catch {
      // /proc not mounted: fall back to uptime, as on macOS.
    }
  }
  return Math.floor(Date.now() / 1000) - Math.round(uptime());
}

/** True when two boot times are readings of the same boot. */
export function sameBoot(a: number, b: number): boolean {
  return Math.abs(a - b) <= BOOT_TIME_TOLERANCE_S;
}
