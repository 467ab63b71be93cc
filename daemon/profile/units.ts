/**
 * @module profile/units
 * Human units in profiles: durations (`30s`, `500ms`, `2m`, `1m30s`) and sizes (`1420`,
 * `1.5KiB`). A duration always carries a unit, because a bare `30` could mean seconds or
 * milliseconds and guessing wrong changes a timer by a factor of a thousand.
 */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;

/** Milliseconds, or null when the text is not a duration. Fractions of a millisecond are refused. */
export function parseDuration(text: string): number | null {
  if (text.length === 0) return null;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    if (match === null) return null;
    total += Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
  }
  const rounded = Math.round(total);
  return Math.abs(rounded - total) < 1e-9 ? rounded : null;
}

/** The shortest exact spelling, for summaries: 30000 → "30s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, kB: 1000, KB: 1000, KiB: 1024, MB: 1_000_000, MiB: 1_048_576 };
const SIZE = /^([0-9]+(?:\.[0-9]+)?)\s*(B|kB|KB|KiB|MB|MiB)?$/;

/** Bytes, or null when the value is not a size or not a whole number of bytes. */
export function parseSize(value: number | string): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  const match = SIZE.exec(value.trim());
  if (match === null) return null;
  const bytes = Number(match[1]) * (SIZE_UNITS[match[2] ?? ''] as number);
  return Number.isInteger(bytes) ? bytes : null;
}
