/**
 * @module service/stop-marker
 * A stop that launchd must not undo. Under launchd, `KeepAlive: {SuccessfulExit: false}`
 * restarts the daemon after any non-zero exit, and a stop whose cleanup could not finish
 * exits 1: launchd would restart the tunnel the user just stopped. So a daemon that
 * launchd runs (the plist sets TUNROUTE_LAUNCHD_LABEL) leaves a marker when a stop by
 * signal ends unclean; the run launchd starts next finds it, finishes the cleanup (the
 * sweep `tunroute restore` does), removes it and exits 0, which KeepAlive leaves alone.
 * The marker lives in the run folder, which the system empties at boot, so the next boot
 * starts the tunnel as usual; `launchctl kickstart` starts it again by hand.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeTrustedFile } from '../trust.js';

/** The environment variable the plist sets to the job's label. */
export const LAUNCHD_LABEL_ENV = 'TUNROUTE_LAUNCHD_LABEL';

export function stopMarkerPath(runDir: string, label: string): string {
  return join(runDir, `${label}.stopped`);
}

/** Never throws: it runs on the way out, and the exit status must still be reported. */
export function leaveStopMarker(runDir: string, label: string): void {
  try {
    writeTrustedFile(stopMarkerPath(runDir, label), `${process.pid}\n`, 0o600);
  } catch (e) {
    process.stderr.write(`tunroute run: cannot leave the unclean-stop marker (${e instanceof Error ? e.message : String(e)}); launchd may restart the tunnel\n`);
  }
}

/** True (and the marker removed) when the previous run of this job stopped unclean. */
export function takeStopMarker(runDir: string, label: string): boolean {
  const path = stopMarkerPath(runDir, label);
  if (!existsSync(path)) return false;
  rmSync(path, { force: true });
  return true;
}
