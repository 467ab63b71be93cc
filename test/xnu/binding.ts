/**
 * @module test/xnu/binding
 * The native binding interface (native/index.ts NativeBinding) implemented in-process on
 * top of the XNU model, so the daemon's macOS backend runs against it unchanged.
 * Behaviour copied from the addon (native/src/route_socket.cc, platform_darwin.cc,
 * errno_error.cc): synchronous send that throws {errno, code, syscall: 'write'}, EBADF after
 * close, groups refused with EINVAL on 'socket', localPort 0, senderPort 0, callbacks never
 * run after close().
 *
 * With `configd` (the scenario's dynamic store) the binding also has `openDynamicStore`, a
 * session of that store opened with the binding's pid, so the daemon's configd code runs
 * against the model IPMonitor unchanged. `exit()` is the process dying (SIGKILL included): the
 * kernel closes its routing sockets and configd closes its store sessions, which removes
 * their session keys (configd-ipmonitor.md §5.2).
 */
import type {
  BatchListener, DynamicStoreOptions, DynamicStoreSession, NativeBinding, NativeRouteSocket, NativeRouteSocketConstructor, RouteSocketOptions,
} from '../../native/index.js';
import type { DynamicStore, StoreSession } from './dynamic-store.js';
import { loadNative } from '../../native/index.js';
import type { SystemError } from '../../daemon/errors.js';
import type { XnuKernel } from './kernel.js';
import { systemError, type XnuRouteSocket } from './socket.js';

export interface XnuBindingOptions {
  /** The daemon's pid as the kernel writes it into rtm_pid. */
  pid: number;
  /** False: sockets lack SS_PRIV, so everything but RTM_GET fails with EPERM. Default true. */
  root?: boolean;
  /** The scenario's configd: adds `openDynamicStore`. */
  configd?: DynamicStore;
}

export interface XnuBinding extends NativeBinding {
  platform: 'darwin';
  sysctlRouteDump(af: number, op: number, arg: number): Buffer;
  readonly kernel: XnuKernel;
  /** The model sockets behind every RouteSocket this binding opened (drop counters, buffer use). */
  sockets(): XnuRouteSocket[];
  /** The store sessions this binding opened. */
  storeSessions(): StoreSession[];
  /** The process dies: every socket and store session it had is closed by the system. */
  exit(): void;
}

export function createXnuBinding(kernel: XnuKernel, options: XnuBindingOptions): XnuBinding {
  const opened: XnuRouteSocket[] = [];
  const root = options.root ?? true;

  class RouteSocket implements NativeRouteSocket {
    private readonly socket: XnuRouteSocket;

    constructor(
      listener: ((bytes: Buffer, senderPort: number) => void) | BatchListener,
      onOverflow: () => void,
      onError: (error: SystemError) => void,
      socketOptions?: RouteSocketOptions,
    ) {
      if (typeof listener !== 'function' || typeof onOverflow !== 'function' || typeof onError !== 'function') {
        throw new TypeError('RouteSocket(onMessage, onOverflow, onError, options?) needs three functions');
      }
      // PF_ROUTE has no multicast groups (platform_darwin.cc OpenRouteSocket).
      if (socketOptions?.groups !== undefined && socketOptions.groups.length > 0) throw systemError('EINVAL', 'socket');
      // onOverflow and onError are accepted but never called: a macOS routing socket drops
      // silently (see socket.ts) and the model has no other asynchronous failure.
      // Batch mode (route_socket.cc, shared by both platforms): the model delivers each
      // message as a batch of one datagram, sender 0.
      const onMessage = socketOptions?.batch === true ? (bytes: Buffer) => (listener as BatchListener)(bytes, Uint32Array.of(bytes.length, 0)) : (listener as (bytes: Buffer, senderPort: number) => void);
      this.socket = kernel.openSocket({ pid: options.pid, root, onMessage });
      const size = socketOptions?.receiveBufferSize;
      if (size !== undefined && size > 0) {
        try {
          this.socket.setReceiveBufferSize(size);
        } catch (e) {
          this.socket.close();
          throw e;
        }
      }
      opened.push(this.socket);
    }

    send(bytes: Uint8Array): number {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('send(bytes) needs a Uint8Array');
      return this.socket.write(bytes);
    }
    close(): void {
      this.socket.close();
    }
    ref(): void {
      this.socket.ref();
    }
    unref(): void {
      this.socket.unref();
    }
    setReceiveBufferSize(bytes: number): void {
      if (typeof bytes !== 'number') throw new TypeError('setReceiveBufferSize(bytes) needs a number');
      this.socket.setReceiveBufferSize(bytes | 0);
    }
    getReceiveBufferSize(): number {
      return this.socket.getReceiveBufferSize();
    }
    localPort(): number {
      if (!this.socket.isOpen) throw systemError('EBADF', 'getsockname');
      return 0;
    }
    attachFilter(program: Uint8Array): void {
      if (!(program instanceof Uint8Array)) throw new TypeError('attachFilter(program) needs a Uint8Array');
      if (!this.socket.isOpen) throw systemError('EBADF', 'setsockopt');
      // route_socket.cc has no socket filters outside Linux.
      throw systemError('EOPNOTSUPP', 'setsockopt');
    }
  }

  const sessions: StoreSession[] = [];
  const openDynamicStore = (name: string, storeOptions: DynamicStoreOptions, onChange: (changedKeys: string[]) => void): DynamicStoreSession => {
    if (typeof name !== 'string' || typeof storeOptions !== 'object' || storeOptions === null || typeof onChange !== 'function') {
      throw new TypeError('openDynamicStore(name, {useSessionKeys}, onChange) needs a string, an object and a function');
    }
    const store = options.configd!;
    const session = store.openSession({ name, pid: options.pid, root, useSessionKeys: storeOptions.useSessionKeys === true, onChange });
    sessions.push(session);
    return session;
  };

  return {
    platform: 'darwin',
    ...(options.configd !== undefined ? { openDynamicStore } : {}),
    RouteSocket: RouteSocket as unknown as NativeRouteSocketConstructor,
    nameToIndex: (name: string) => kernel.nameToIndex(name),
    indexToName: (index: number) => kernel.indexToName(index),
    sysctlRouteDump: (af: number, op: number, arg: number) => kernel.sysctl([4, 17, 0, af, op, arg]),
    // Lock files are real files on the machine running the model: the host's flock(2) is the truth.
    flock: (fd: number, operation: number) => loadNative().flock(fd, operation),
    kernel,
    sockets: () => [...opened],
    storeSessions: () => [...sessions],
    exit: () => {
      for (const socket of opened) socket.close();
      for (const session of sessions) session.close();
    },
  };
}
