/** Small statistics and formatting shared by every benchmark. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0–100) of `xs`, nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** An integer with thousands separators: `12,345`. */
export const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');

/** A ratio as `1.23×`. */
export const ratio = (x: number, digits = 2): string => (Number.isFinite(x) ? `${x.toFixed(digits)}×` : '—');

/** `a / b` as `1.23×`. */
export const times = (a: number, b: number, digits = 2): string => ratio(a / b, digits);

/** Milliseconds with a precision that suits their size. */
export const ms = (n: number): string => (!Number.isFinite(n) ? '—' : n >= 100 ? fmt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
