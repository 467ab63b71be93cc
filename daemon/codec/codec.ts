/**
 * @module codec/codec
 * What every platform codec offers the CLI printers and the backends: a buffer walker
 * that never throws, and the two printers (text like `route -n monitor` / `ip monitor`,
 * and one stable JSON object per message).
 */
import type { DecodeError } from '../errors.js';

export interface WalkResult<M> {
  /** Decoded messages with the byte offset each started at. */
  messages: Array<{ offset: number; message: M }>;
  /** One entry per malformed message; offsets are absolute in the walked buffer. */
  errors: DecodeError[];
  /** Messages of a type the codec does not know, skipped and counted. */
  unknown: number;
}

export interface MessageCodec<M> {
  readonly os: 'darwin' | 'linux';
  /** Walks back-to-back messages (a read, a dump, a batch). Never throws. */
  walk(bytes: Uint8Array): WalkResult<M>;
  /** One human-readable block per message, like `route -n monitor` or `ip monitor`. */
  toText(message: M): string;
  /** The stable JSON shape documented in the README. */
  toJson(message: M): Record<string, unknown>;
}
