/** The SDK as the test pages load it: `window.Tessera`. */
import * as Tessera from '../index.js';

(globalThis as unknown as { Tessera: typeof Tessera }).Tessera = Tessera;
