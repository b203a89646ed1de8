import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of one Redis: `cut()` models a network partition between one application
 * node and Redis (every connection through it drops, new ones are refused) while Redis itself, and
 * every other node, carry on; `restore()` heals it.
 */
export class TcpProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
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
      for (const socket of [client, upstream]) {
        proxy.#sockets.add(socket);
        socket.once('close', () => proxy!.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
