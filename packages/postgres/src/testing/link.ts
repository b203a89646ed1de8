/**
 * A TCP link between a client and a PostgreSQL server that a test can break: `refuse` resets every
 * connection, present and future (a network cut, an unreachable host); `blackhole` accepts and then
 * says nothing (a silent network, where only timeouts help); `open` forwards.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type LinkMode = 'open' | 'refuse' | 'blackhole';

export class FaultyLink {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket | null]>();
  #mode: LinkMode = 'open';

  private constructor(targetPort: number) {
    this.#server = createServer((client) => {
      client.on('error', () => undefined);
      if (this.#mode === 'refuse') return void client.resetAndDestroy();
      if (this.#mode === 'blackhole') {
        const pair: [Socket, Socket | null] = [client, null];
        this.#pairs.add(pair);
        client.on('close', () => this.#pairs.delete(pair));
        return;
      }
      const upstream = connect(targetPort, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      const pair: [Socket, Socket | null] = [client, upstream];
      this.#pairs.add(pair);
      client.on('close', () => {
        upstream.destroy();
        this.#pairs.delete(pair);
      });
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async open(targetPort: number): Promise<FaultyLink & { port: number }> {
    const link = new FaultyLink(targetPort);
    await new Promise<void>((resolve) => link.#server.listen(0, '127.0.0.1', resolve));
    const address = link.#server.address();
    return Object.assign(link, { port: typeof address === 'object' && address ? address.port : 0 });
  }

  /** Sets the mode; `refuse` and `blackhole` also break the connections already made. */
  set mode(mode: LinkMode) {
    this.#mode = mode;
    if (mode === 'open') return;
    for (const [client, upstream] of this.#pairs) {
      if (mode === 'refuse') {
        client.resetAndDestroy();
        upstream?.destroy();
      } else {
        client.unpipe();
        upstream?.unpipe();
        upstream?.pause();
        client.pause();
      }
    }
  }

  get mode(): LinkMode {
    return this.#mode;
  }

  async close(): Promise<void> {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
