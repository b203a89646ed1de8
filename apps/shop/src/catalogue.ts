/** The demo catalogue: a few sets of tesserae (mosaic tiles). Prices in euro cents. */

export interface Product {
  id: string;
  name: string;
  description: string;
  price: number;
  /** The colours of its tiles, drawn by `MosaicArt`. */
  palette: readonly string[];
}

export const PRODUCTS: readonly Product[] = [
  { id: 'pompeii-red', name: 'Pompeii Red', description: '200 fired-clay tesserae in the reds of the Villa of the Mysteries.', price: 1800, palette: ['#9e2a1f', '#b5462f', '#c8664a', '#7d1f17', '#d98b6b'] },
  { id: 'ravenna-gold', name: 'Ravenna Gold', description: 'Gold-leaf smalti, hand cut, as in San Vitale. 100 pieces.', price: 4200, palette: ['#b8892b', '#d4a83a', '#e8c770', '#8f6a1f', '#f2dc9a'] },
  { id: 'byzantine-blue', name: 'Byzantine Blue', description: 'Deep glass tesserae from lapis to sky. 150 pieces.', price: 2600, palette: ['#1f3f6e', '#2d5d9a', '#4a7fbf', '#16304f', '#8fb3dc'] },
  { id: 'carrara-white', name: 'Carrara White', description: 'Split marble cubes, white to dove grey. 250 pieces.', price: 2200, palette: ['#f4f1ea', '#e4dfd3', '#d2ccbd', '#faf8f3', '#bdb6a6'] },
  { id: 'olive-grove', name: 'Olive Grove', description: 'Green stone and glass for leaves and borders. 180 pieces.', price: 1950, palette: ['#4f6b2a', '#6e8c3a', '#8fa85a', '#3a5020', '#b5c486'] },
  { id: 'starter-kit', name: 'Starter Kit', description: 'A mixed box of 300 tesserae, nippers and a board to begin.', price: 3500, palette: ['#b5462f', '#d4a83a', '#2d5d9a', '#e4dfd3', '#6e8c3a'] },
];

export function productById(id: string): Product | undefined {
  return PRODUCTS.find((product) => product.id === id);
}

const euros = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });

export function formatPrice(cents: number): string {
  return euros.format(cents / 100);
}
