import { describe, expect, it } from 'vitest';
import { addToLines, cartTotals, MAX_QUANTITY, pricedLines, setLineQuantity } from './cart-lines';

describe('cart lines', () => {
  it('adds a product once and then counts it up, capped', () => {
    let lines = addToLines([], 'pompeii-red');
    lines = addToLines(lines, 'pompeii-red');
    lines = addToLines(lines, 'ravenna-gold');
    expect(lines).toEqual([
      { id: 'pompeii-red', qty: 2 },
      { id: 'ravenna-gold', qty: 1 },
    ]);
    expect(addToLines(lines, 'pompeii-red', 500)[0]!.qty).toBe(MAX_QUANTITY);
  });

  it('sets quantities; zero, negative or not a number removes the line', () => {
    const lines = [{ id: 'pompeii-red', qty: 2 }];
    expect(setLineQuantity(lines, 'pompeii-red', 5)).toEqual([{ id: 'pompeii-red', qty: 5 }]);
    expect(setLineQuantity(lines, 'pompeii-red', 2.7)).toEqual([{ id: 'pompeii-red', qty: 2 }]);
    expect(setLineQuantity(lines, 'pompeii-red', 0)).toEqual([]);
    expect(setLineQuantity(lines, 'pompeii-red', -1)).toEqual([]);
    expect(setLineQuantity(lines, 'pompeii-red', Number.NaN)).toEqual([]);
  });

  it('prices and totals the lines, ignoring products that left the catalogue', () => {
    const lines = [
      { id: 'pompeii-red', qty: 2 },
      { id: 'gone', qty: 3 },
      { id: 'ravenna-gold', qty: 1 },
    ];
    expect(pricedLines(lines).map((line) => line.subtotal)).toEqual([3600, 4200]);
    expect(cartTotals(lines)).toEqual({ count: 3, total: 7800 });
  });
});
