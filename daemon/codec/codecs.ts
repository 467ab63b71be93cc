/**
 * @module codec/codecs
 * Picks the codec for a platform, for the CLI commands that print messages.
 */
import type { MessageCodec } from './codec.js';
import { darwinCodec } from './darwin/index.js';
import { linuxCodec } from './linux/index.js';
import { UsageError } from '../errors.js';

export type Os = 'darwin' | 'linux';

export function codecFor(os: Os): MessageCodec<unknown> {
  return (os === 'darwin' ? darwinCodec : linuxCodec) as MessageCodec<unknown>;
}

/** Parses an `--os` value; the default is the machine's own platform. */
export function osOption(value: string | undefined): Os {
  const os = value ?? process.platform;
  if (os === 'darwin' || os === 'linux') return os;
  throw new UsageError(`--os must be darwin or linux, not "${os}"`);
}
