/**
 * @module codec/bytes
 * Bounds-checked access to message bytes. Header fields of both routing protocols are
 * in host byte order (little-endian on every platform tunroute supports); addresses and
 * ports inside sockaddrs are in network order and are read as raw bytes.
 *
 * Every read outside the view throws DecodeError with the absolute offset, so a
 * decoder built on these helpers can never read past its buffer.
 */
import { DecodeError } from '../errors.js';

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A host-order u16 at `at`, unchecked: for callers that checked the bounds (the hot paths that read a message in place). */
export function u16At(b: Uint8Array, at: number): number {
  return HOST_LITTLE_ENDIAN ? (b[at] as number) | ((b[at + 1] as number) << 8) : ((b[at] as number) << 8) | (b[at + 1] as number);
}

/** A host-order u32 at `at`, unchecked (see u16At). */
export function u32At(b: Uint8Array, at: number): number {
  return HOST_LITTLE_ENDIAN
    ? ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0
    : (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0;
}

export class ByteReader {
  /** The whole buffer this reader is a window of; the window is [start, start + length). */
  readonly buffer: Uint8Array;
  readonly start: number;
  readonly length: number;
  /** Offset of the window's first byte in the outermost buffer, so errors point at the right byte. */
  readonly base: number;
  private window: Uint8Array | null;

  // A reader is a window (buffer, start, length) over bytes it never copies: a sub-reader per
  // attribute or sockaddr costs one small object, with no DataView or subarray behind it.
  constructor(bytes: Uint8Array, base = 0, start = 0, length = bytes.length - start) {
    this.buffer = bytes;
    this.start = start;
    this.length = length;
    this.base = base;
    this.window = start === 0 && length === bytes.length ? bytes : null;
  }

  /** The window's bytes (a view, not a copy). */
  get bytes(): Uint8Array {
    this.window ??= this.buffer.subarray(this.start, this.start + this.length);
    return this.window;
  }

  private check(offset: number, size: number, what: string): void {
    // `offset >>> 0 === offset`: a whole number in range, without a Math call on the hot path.
    if (!(offset >>> 0 === offset && offset + size <= this.length)) {
      throw new DecodeError(this.base + Math.max(0, offset), `${what}: needs ${size} byte(s), ${Math.max(0, this.length - offset)} left`);
    }
  }

  u8(offset: number, what = 'u8'): number {
    this.check(offset, 1, what);
    return this.buffer[this.start + offset] as number;
  }
  u16(offset: number, what = 'u16'): number {
    this.check(offset, 2, what);
    return u16At(this.buffer, this.start + offset);
  }
  u32(offset: number, what = 'u32'): number {
    this.check(offset, 4, what);
    return u32At(this.buffer, this.start + offset);
  }
  i32(offset: number, what = 'i32'): number {
    return this.u32(offset, what) | 0;
  }
  u64(offset: number, what = 'u64'): bigint {
    this.check(offset, 8, what);
    const lo = BigInt(this.u32(offset + (HOST_LITTLE_ENDIAN ? 0 : 4)));
    const hi = BigInt(this.u32(offset + (HOST_LITTLE_ENDIAN ? 4 : 0)));
    return (hi << 32n) | lo;
  }
  /** A big-endian (network order) u16, for ports. */
  u16be(offset: number, what = 'u16be'): number {
    this.check(offset, 2, what);
    return ((this.buffer[this.start + offset] as number) << 8) | (this.buffer[this.start + offset + 1] as number);
  }
  /** A copy-free view of `size` bytes at `offset`. */
  slice(offset: number, size: number, what = 'bytes'): Uint8Array {
    this.check(offset, size, what);
    return this.buffer.subarray(this.start + offset, this.start + offset + size);
  }
  /** A reader over a sub-range, keeping absolute offsets in its errors. */
  sub(offset: number, size: number, what = 'bytes'): ByteReader {
    this.check(offset, size, what);
    return new ByteReader(this.buffer, this.base + offset, this.start + offset, size);
  }
}

/**
 * A fixed-size little buffer builder: writes outside the buffer are programming errors.
 * Integers are stored byte by byte in host order, without a DataView per buffer (requests
 * are built by the thousand when a large profile is installed).
 */
export class ByteWriter {
  readonly bytes: Uint8Array;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }
  private room(offset: number, size: number): void {
    if (!(offset >= 0 && offset + size <= this.bytes.length)) throw new RangeError(`write of ${size} byte(s) at ${offset} is outside ${this.bytes.length}`);
  }
  u8(offset: number, value: number): this {
    this.room(offset, 1);
    this.bytes[offset] = value;
    return this;
  }
  u16(offset: number, value: number): this {
    this.room(offset, 2);
    const b = this.bytes;
    if (HOST_LITTLE_ENDIAN) {
      b[offset] = value;
      b[offset + 1] = value >>> 8;
    } else {
      b[offset] = value >>> 8;
      b[offset + 1] = value;
    }
    return this;
  }
  u32(offset: number, value: number): this {
    this.room(offset, 4);
    const b = this.bytes;
    const v = value >>> 0;
    if (HOST_LITTLE_ENDIAN) {
      b[offset] = v;
      b[offset + 1] = v >>> 8;
      b[offset + 2] = v >>> 16;
      b[offset + 3] = v >>> 24;
    } else {
      b[offset] = v >>> 24;
      b[offset + 1] = v >>> 16;
      b[offset + 2] = v >>> 8;
      b[offset + 3] = v;
    }
    return this;
  }
  i32(offset: number, value: number): this {
    return this.u32(offset, value | 0);
  }
  u16be(offset: number, value: number): this {
    this.room(offset, 2);
    this.bytes[offset] = value >>> 8;
    this.bytes[offset + 1] = value;
    return this;
  }
  set(offset: number, data: Uint8Array): this {
    this.bytes.set(data, offset);
    return this;
  }
}

/** Rounds up to a multiple of `align` (a power of two). */
export function align(n: number, to: number): number {
  return (n + to - 1) & ~(to - 1);
}

/** Parses hex text: whitespace, newlines, commas and `0x` prefixes are ignored. */
export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s,]+/g, '');
  if (clean.length % 2 !== 0) throw new DecodeError(clean.length >> 1, 'odd number of hex digits');
  const bad = /[^0-9a-f]/i.exec(clean);
  if (bad) throw new DecodeError(bad.index >> 1, `"${bad[0]}" is not a hex digit`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
