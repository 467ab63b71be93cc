/**
 * @module profile/problems
 * A profile problem and where it is: FILE:LINE:COL plus the key path a person would type
 * (`routes[2]`, `daemon.flap.window`). Positions come from the YAML node the path leads
 * to, so a problem found on the parsed value still points at the text that caused it.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** One step of a key path: a mapping key or a list index. */
export type PathSegment = string | number;

export interface Problem {
  file: string;
  /** 1-based; 1:1 for problems with the file as a whole. */
  line: number;
  col: number;
  /** `routes[2]`, `daemon.flap`; `(profile)` for the document, `(file)` and `(yaml)` for what comes before it. */
  path: string;
  message: string;
}

export function formatPath(segments: readonly PathSegment[]): string {
  if (segments.length === 0) return '(profile)';
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col} ${p.path}: ${p.message}`;
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path) || a.message.localeCompare(b.message));
}

/**
 * Finds the text position of a key path. `at: 'key'` points at the mapping key itself
 * (an unknown key); otherwise at the value, or at the key when the value is empty. A
 * path that leads nowhere (a missing key) stops at the deepest node that exists.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PathSegment[], at: 'value' | 'key' = 'value'): { line: number; col: number } {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (pair === undefined) break;
      const keyStart = rangeStart(pair.key);
      const valueStart = rangeStart(pair.value);
      if (last && at === 'key' && keyStart !== null) {
        offset = keyStart;
        break;
      }
      offset = valueStart ?? keyStart ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lines.linePos(offset);
  return { line, col };
}

function rangeStart(node: unknown): number | null {
  if (node === null || typeof node !== 'object' || !('range' in node)) return null;
  const range = (node as Node).range;
  return range ? range[0] : null;
}
