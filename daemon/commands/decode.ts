/**
 * @module commands/decode
 * `tunroute decode --os darwin|linux [--json] [HEX …]`: prints routing messages given as
 * hex (arguments, or standard input when there are none), back to back, with the same
 * printers as `monitor`. A malformed message prints one error line with its byte offset
 * and makes the exit status 1; the others still print.
 */
import { parseArgs } from 'node:util';
import { text } from 'node:stream/consumers';
import { parseHex } from '../codec/bytes.js';
import { codecFor, osOption } from '../codec/codecs.js';
import { DecodeError, UsageError } from '../errors.js';

const HELP = `usage: tunroute decode [--os darwin|linux] [--json] [HEX ...]

Decodes routing-socket messages written as hex. Whitespace, newlines, commas and 0x
prefixes are ignored, and several messages may follow each other. Without HEX
arguments the hex is read from standard input.

  --os darwin|linux  which kernel's format (default: this machine's)
  --json             one JSON object per line instead of route-monitor text
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { os: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const codec = codecFor(osOption(values.os));
  const input = positionals.length > 0 ? positionals.join(' ') : await text(process.stdin);
  let bytes: Uint8Array;
  try {
    bytes = parseHex(input);
  } catch (e) {
    if (e instanceof DecodeError) throw new UsageError(`not hex ${e.message}`);
    throw e;
  }
  if (bytes.length === 0) throw new UsageError('no bytes to decode');

  const result = codec.walk(bytes);
  // Messages and errors are printed in buffer order, so a reader sees where each one was.
  const lines = [
    ...result.messages.map(({ offset, message }) => ({
      offset,
      out: values.json ? JSON.stringify(codec.toJson(message)) : codec.toText(message),
    })),
    ...result.errors.map((e) => ({ offset: e.offset, err: `error ${e.message}` })),
  ].sort((a, b) => a.offset - b.offset);
  for (const line of lines) {
    if ('err' in line) process.stderr.write(`tunroute decode: ${line.err}\n`);
    else process.stdout.write(line.out + '\n');
  }
  if (result.unknown > 0) process.stderr.write(`tunroute decode: skipped ${result.unknown} message(s) of unknown type\n`);
  return result.errors.length > 0 ? 1 : 0;
}
