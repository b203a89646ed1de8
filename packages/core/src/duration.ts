import { TesseraError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `90s`, `10m`, `7d`, `250ms`, `1h30m` or a bare number of milliseconds into milliseconds.
 * Throws `invalid_config` naming `name` for anything else.
 */
export function parseDuration(value: string | number, name = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new TesseraError('invalid_config', `${name} must be a non-negative whole number of milliseconds, got ${value}`);
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) return parseDuration(Number(text), name);
  const part = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(text); match; match = part.exec(text)) {
    total += Number(match[1]) * UNITS[match[2]!]!;
    consumed = part.lastIndex;
  }
  if (text.length === 0 || consumed !== text.length || !Number.isSafeInteger(total)) {
    throw new TesseraError('invalid_config', `${name} must be a duration such as 90s, 10m or 7d, got ${JSON.stringify(value)}`);
  }
  return total;
}
