import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ListenAddress } from '../../config/types.js';

/** A listening node:http server: the admin listener, and the data plane's (forward-auth or proxy). */
export interface Listener {
  readonly httpServer: Server;
  /** Resolves with the base URL actually bound, e.g. http://127.0.0.1:8080. */
  listen(address: ListenAddress): Promise<string>;
  /** Stops accepting and resolves once every connection has ended. */
  close(): Promise<void>;
  /**
   * Closes every connection that has not sent a byte: nothing is under way on it. Node's closeIdleConnections leaves
   * these open (it counts a connection awaiting its first request as busy, for headersTimeout), so a client that
   * opened a connection ahead of need would hold a drain until shutdownTimeout.
   */
  closeUnusedConnections(): void;
}

/** The server's open connections, for closeUnusedConnections: one Set entry per connection, nothing per request. */
function trackConnections(server: Server): () => void {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return () => {
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
  };
}

/** Work done around a node:http server's close: before it stops accepting, and once its last connection has ended. */
export interface CloseHooks {
  beforeClose?(): void;
  afterClose?(): Promise<void>;
}

export function httpListener(server: Server, hooks: CloseHooks = {}): Listener {
  const closeUnusedConnections = trackConnections(server);
  return {
    httpServer: server,
    closeUnusedConnections,
    listen: (address) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.host, () => {
          server.off('error', reject);
          resolve(boundUrl(server));
        });
      }),
    async close() {
      hooks.beforeClose?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await hooks.afterClose?.();
    },
  };
}

function boundUrl(server: Server): string {
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('listener has no TCP address');
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `http://${host}:${bound.port}`;
}
