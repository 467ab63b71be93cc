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

export class ByteReader {
  readonly bytes: Uint8Array;
  /** Offset of `bytes[0]` in the outermost buffer, so errors point at the right byte. */
  readonly base: number;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, base = 0) {
    this.bytes = bytes;
    this.base = base;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  private check(offset: number, size: number, what: string): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.bytes.length) {
      throw new DecodeError(this.base + Math.max(0, offset), `${what}: needs ${size} byte(s), ${Math.max(0, this.bytes.length - offset)} left`);
    }
  }

  u8(offset: number, what = 'u8'): number {
    this.check(offset, 1, what);
    return this.view.getUint8(offset);
  }
  u16(offset: number, what = 'u16'): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, HOST_LITTLE_ENDIAN);
  }
  u32(offset: number, what = 'u32'): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, HOST_LITTLE_ENDIAN);
  }
  i32(offset: number, what = 'i32'): number {
    this.check(offset, 4, what);
    return this.view.getInt32(offset, HOST_LITTLE_ENDIAN);
  }
  u64(offset: number, what = 'u64'): bigint {
    this.check(offset, 8, what);
    return this.view.getBigUint64(offset, HOST_LITTLE_ENDIAN);
  }
  /** A big-endian (network order) u16, for ports. */
  u16be(offset: number, what = 'u16be'): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, false);
  }
  /** A copy-free view of `size` bytes at `offset`. */
  slice(offset: number, size: number, what = 'bytes'): Uint8Array {
    this.check(offset, size, what);
    return this.bytes.subarray(offset, offset + size);
  }
  /** A reader over a sub-range, keeping absolute offsets in its errors. */
  sub(offset: number, size: number, what = 'bytes'): ByteReader {
    return new ByteReader(this.slice(offset, size, what), this.base + offset);
  }
}

/** A fixed-size little buffer builder: writes outside the buffer are programming errors. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(offset: number, value: number): this {
    this.view.setUint8(offset, value);
    return this;
  }
  u16(offset: number, value: number): this {
    this.view.setUint16(offset, value, HOST_LITTLE_ENDIAN);
    return this;
  }
  u32(offset: number, value: number): this {
    this.view.setUint32(offset, value >>> 0, HOST_LITTLE_ENDIAN);
    return this;
  }
  i32(offset: number, value: number): this {
    this.view.setInt32(offset, value, HOST_LITTLE_ENDIAN);
    return this;
  }
  u16be(offset: number, value: number): this {
    this.view.setUint16(offset, value, false);
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
