/**
 * The cart's pure arithmetic: lines are `{id, qty}` (what is persisted), joined with the catalogue
 * to show and total them. A line whose product left the catalogue is ignored, not shown as 0.
 */
import { productById, type Product } from './catalogue';

export interface CartLine {
  id: string;
  qty: number;
}

export const MAX_QUANTITY = 99;

export function addToLines(lines: readonly CartLine[], id: string, qty = 1): CartLine[] {
  const existing = lines.find((line) => line.id === id);
  if (!existing) return [...lines, { id, qty: clampQuantity(qty) }];
  return lines.map((line) => (line.id === id ? { id, qty: clampQuantity(line.qty + qty) } : line));
}

/** Sets a quantity; 0 (or less) removes the line. */
export function setLineQuantity(lines: readonly CartLine[], id: string, qty: number): CartLine[] {
  if (!Number.isFinite(qty) || qty <= 0) return lines.filter((line) => line.id !== id);
  return lines.map((line) => (line.id === id ? { id, qty: clampQuantity(qty) } : line));
}

export function clampQuantity(qty: number): number {
  return Math.min(MAX_QUANTITY, Math.max(1, Math.floor(qty)));
}

export interface PricedLine extends CartLine {
  product: Product;
  subtotal: number;
}

export function pricedLines(lines: readonly CartLine[]): PricedLine[] {
  return lines.flatMap((line) => {
    const product = productById(line.id);
    return product ? [{ ...line, product, subtotal: product.price * line.qty }] : [];
  });
}

export function cartTotals(lines: readonly CartLine[]): { count: number; total: number } {
  return pricedLines(lines).reduce((sum, line) => ({ count: sum.count + line.qty, total: sum.total + line.subtotal }), { count: 0, total: 0 });
}
