/**
 * The cart: a Pinia store whose lines are persisted through Tessera's encrypted storage (AES-GCM
 * under a non-extractable key in IndexedDB). It survives a reload and is destroyed with the session:
 * at logout or revocation, in every tab.
 */
import { defineStore } from 'pinia';
import { addToLines, cartTotals, pricedLines, setLineQuantity, type CartLine } from './cart-lines';

export const useCart = defineStore('cart', {
  state: () => ({ lines: [] as CartLine[] }),
  getters: {
    priced: (state) => pricedLines(state.lines),
    count: (state) => cartTotals(state.lines).count,
    total: (state) => cartTotals(state.lines).total,
  },
  actions: {
    add(id: string) {
      this.lines = addToLines(this.lines, id);
    },
    setQuantity(id: string, qty: number) {
      this.lines = setLineQuantity(this.lines, id, qty);
    },
    remove(id: string) {
      this.lines = setLineQuantity(this.lines, id, 0);
    },
    clear() {
      this.lines = [];
    },
  },
  persist: { pick: ['lines'] },
});
