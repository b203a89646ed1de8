/**
 * A TCP proxy in front of a service, to model the network between a remote verifier and it:
 * `stallStreams()` keeps the connections that carry an event stream up but stops carrying their bytes
 * (a middlebox that silently dropped a long-lived stream), while every other connection works;
 * `cut()` drops every connection and refuses new ones (a partition); `restore()` heals it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  /** Connections whose responses include an event stream. */
  readonly #streams = new WeakSet<Socket>();
  readonly #stalled = new Set<[Socket, Socket]>();
  #cut = false;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(targetPort: number, host = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.#cut) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host, port: targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      proxy.#pairs.add(pair);
      for (const socket of pair) socket.on('error', () => undefined);
      client.pipe(upstream);
      upstream.pipe(client);
      upstream.on('data', (chunk: Buffer) => {
        if (chunk.includes('text/event-stream')) proxy!.#streams.add(upstream);
      });
      client.once('close', () => {
        upstream.destroy();
        proxy!.#pairs.delete(pair);
      });
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections carrying an event stream stop carrying bytes (both ways); all others carry on. */
  stallStreams(): void {
    for (const pair of this.#pairs) {
      const [client, upstream] = pair;
      if (!this.#streams.has(upstream)) continue;
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      this.#stalled.add(pair);
      this.#pairs.delete(pair);
    }
  }

  cut(): void {
    this.#cut = true;
    for (const pair of this.#pairs) for (const socket of pair) socket.destroy();
    this.#pairs.clear();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    for (const pair of this.#stalled) for (const socket of pair) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
