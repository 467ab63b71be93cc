/**
 * @module test/xnu/testing
 * Small helpers for tests that drive the model as "another process": write a request and
 * catch the write's errno, read what a socket received, reach a given interface index.
 */
import { IFT, IFF } from './constants.js';
import type { XnuKernel } from './kernel.js';
import type { XnuRouteSocket } from './socket.js';
import { readRtHeader, type RtHeader } from './wire.js';

/** write(2) that returns the errno code instead of throwing ('' on success). */
export function tryWrite(socket: XnuRouteSocket, bytes: Uint8Array): string {
  try {
    socket.write(bytes);
    return '';
  } catch (e) {
    const err = e as { code?: string; syscall?: string };
    if (err.syscall !== 'write' && err.syscall !== 'send') throw e;
    return err.code ?? 'unknown';
  }
}

export interface Received {
  bytes: Buffer;
  type: number;
  /** The rt_msghdr view; meaningful only for rt_msghdr types (ADD … GET, GET2). */
  rt: RtHeader;
}

/** Takes everything queued on a manual (callback-less) socket. */
export function received(socket: XnuRouteSocket): Received[] {
  return socket.read().map((bytes) => ({
    bytes,
    type: bytes[3]!,
    rt: bytes.length >= 92 ? readRtHeader(bytes) : readRtHeader(Buffer.concat([bytes, Buffer.alloc(92 - bytes.length)])),
  }));
}

/** Creates and destroys placeholder interfaces so the next one created gets `index`. */
export function advanceIndexTo(kernel: XnuKernel, index: number): void {
  let n = 0;
  while (true) {
    const ifp = kernel.createInterface({ name: `placeholder${n++}`, type: IFT.OTHER, flags: IFF.POINTOPOINT, mtu: 1500 });
    kernel.destroyInterface(ifp.name);
    if (ifp.index >= index - 1) return;
  }
}
