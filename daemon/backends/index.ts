/**
 * @module backends
 * Picks the backend for the platform the native binding runs on.
 */
import type { NativeBinding } from '../../native/index.js';
import type { Backend } from './backend.js';
import { DarwinBackend } from './darwin.js';
import { LinuxBackend } from './linux.js';

export function createBackend(native: NativeBinding, options: { pid?: number } = {}): Backend {
  return native.platform === 'darwin' ? new DarwinBackend({ native, ...options }) : new LinuxBackend({ native });
}
