/**
 * @module native
 * The only file that touches the compiled addon: it loads it and gives its surface types.
 * Everything else receives a `NativeBinding` (or a RouteSocket constructor) by injection,
 * so unit tests can pass a fake and never load the addon.
 */
import { createRequire } from 'node:module';
import type { SystemError } from '../daemon/errors.js';

export interface RouteSocketOptions {
  /** Linux: the RTNLGRP_* multicast groups to join. macOS has none and must name none. */
  groups?: number[];
  /** SO_RCVBUF in bytes (Linux as root: SO_RCVBUFFORCE, not capped by rmem_max). */
  receiveBufferSize?: number;
  /** Deliver the datagrams of one wake-up in one call (see BatchListener). */
  batch?: boolean;
}

/**
 * Batch mode: the datagrams read in one readable wake-up reach JS in one call, back to back
 * in `bytes`; `datagrams` holds [end offset, sender port] for each, in the order read.
 * One callback per wake-up rather than per datagram (a pipelined batch's acks are one
 * datagram each). An overflow is reported after the datagrams read before it.
 */
export type BatchListener = (bytes: Buffer, datagrams: Uint32Array) => void;

/** The OS routing socket (PF_ROUTE on macOS, NETLINK_ROUTE on Linux), shaped like dgram.Socket. */
export interface NativeRouteSocket {
  /**
   * Writes one datagram. Synchronous and non-blocking; throws a SystemError (on macOS the
   * kernel's verdict, e.g. EEXIST). macOS: one message per write. Linux: the datagram may
   * hold several netlink messages back to back; the kernel runs and answers each.
   */
  send(bytes: Uint8Array): number;
  /** Idempotent. No callback runs after it returns. */
  close(): void;
  ref(): void;
  unref(): void;
  setReceiveBufferSize(bytes: number): void;
  getReceiveBufferSize(): number;
  /** Linux: this socket's netlink port id, which replies to our requests are addressed to. macOS: 0. */
  localPort(): number;
  /**
   * Reads and drops every message queued now (none reaches onMessage); returns how many.
   * For after an overflow, when the queue is older than the loss and a resync follows.
   * Optional: the XNU model's socket (test/xnu) has no use for it, macOS never reports one.
   */
  discardQueued?(): number;
  /**
   * Linux: SO_ATTACH_FILTER with a classic BPF program (struct sock_filter entries, 8 bytes
   * each): the kernel drops what it rejects before it is queued. macOS: EOPNOTSUPP.
   */
  attachFilter(program: Uint8Array): void;
}

export interface NativeRouteSocketConstructor {
  new (onMessages: BatchListener, onOverflow: () => void, onError: (error: SystemError) => void, options: RouteSocketOptions & { batch: true }): NativeRouteSocket;
  new (
    onMessage: (bytes: Buffer, senderPort: number) => void,
    onOverflow: () => void,
    onError: (error: SystemError) => void,
    options?: RouteSocketOptions,
  ): NativeRouteSocket;
}

/**
 * A CFPropertyList as JavaScript: CFString ↔ string, CFNumber ↔ number, CFBoolean ↔
 * boolean, CFArray ↔ array, CFDictionary ↔ object with string keys. Nothing else crosses.
 */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/**
 * macOS only: one SCDynamicStore session (configd's key-value store). Every method is one
 * SystemConfiguration call; failures throw Error{errno: SCError(), code: the kSCStatus
 * name, syscall: the function name}. Deciding what to write lives in TypeScript.
 */
export interface DynamicStoreSession {
  /** SCDynamicStoreSetMultiple(keysToSet, keysToRemove, keysToNotify): one atomic write. */
  setMultiple(set: Record<string, PlistValue>, remove: string[], notify: string[]): void;
  /** SCDynamicStoreCopyValue; null when the key is absent. */
  copyValue(key: string): PlistValue | null;
  /** SCDynamicStoreCopyKeyList with a regular-expression pattern. */
  copyKeyList(pattern: string): string[];
  /** SCDynamicStoreNotifyValue: watchers of `key` are told it changed (IPMonitor re-applies). */
  notifyValue(key: string): void;
  /** SCDynamicStoreSetNotificationKeys: which keys and patterns reach `onChange`. */
  setNotificationKeys(keys: string[], patterns: string[]): void;
  /** Idempotent. Session keys vanish with the session (and with the process, SIGKILL included). */
  close(): void;
}

export interface DynamicStoreOptions {
  /** kSCDynamicStoreUseSessionKeys: every key this session sets is removed when it closes. */
  useSessionKeys: boolean;
}

export interface NativeBinding {
  platform: 'darwin' | 'linux';
  RouteSocket: NativeRouteSocketConstructor;
  /** The interface's index, or 0 when no interface has that name. */
  nameToIndex(name: string): number;
  /** The interface's name, or undefined when no interface has that index. */
  indexToName(index: number): string | undefined;
  /**
   * flock(2) on an open descriptor: `operation` is LOCK_SH (1), LOCK_EX (2) or LOCK_UN (8),
   * optionally | LOCK_NB (4) (the same values on Linux and macOS). Throws a SystemError
   * (EWOULDBLOCK/EAGAIN when another process holds it and LOCK_NB was given).
   */
  flock(fd: number, operation: number): void;
  /** macOS only: sysctl {CTL_NET, PF_ROUTE, 0, af, op, arg} as raw back-to-back messages. */
  sysctlRouteDump?(af: number, op: number, arg: number): Buffer;
  /**
   * macOS only: SCDynamicStoreCreateWithOptions(name), its changes delivered on the event
   * loop. `onChange` receives the changed keys; an empty list means configd restarted and
   * everything this session published is gone (republish).
   */
  openDynamicStore?(name: string, options: DynamicStoreOptions, onChange: (changedKeys: string[]) => void): DynamicStoreSession;
}

let loaded: NativeBinding | undefined;

/** Loads the addon built by `npm ci` (node-gyp, into native/build). */
export function loadNative(): NativeBinding {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    // This file runs from dist/native/, the addon sits in native/build/.
    const candidates = ['../../native/build/Release/tunroute_native.node', '../../native/build/Debug/tunroute_native.node'];
    let lastError: unknown;
    for (const path of candidates) {
      try {
        loaded = require(path) as NativeBinding;
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (loaded === undefined) {
      throw new Error(`the native addon is not built (run \`npm ci\`): ${lastError instanceof Error ? lastError.message : String(lastError)}`);
    }
  }
  return loaded;
}
