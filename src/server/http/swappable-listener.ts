import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import { createServer } from '../../platform/node-http.js';
import type { Duplex } from 'node:stream';
import { httpListener, type Listener } from './listener.js';

/** What a data-plane mode does with the listener's requests, built from one configuration. */
export interface DataPlaneHandlers {
  request(request: IncomingMessage, response: ServerResponse): void;
  /** The `upgrade` listener (WebSocket handshakes); absent where upgrades are not served. */
  upgrade?(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Takes no new long-lived work (WebSocket handshakes); what is open may run until its own bound. */
  drain?(): void;
  /** Resolves once every request these handlers took has finished, then releases what they hold (upstream pool). */
  close?(): Promise<void>;
}

export interface SwappableListener extends Listener {
  /**
   * Sends every request from now on to `next`, on the same socket and connections: nothing is closed or refused.
   * The previous handlers finish what they took, then close; the promise resolves when they have.
   */
  swap(next: DataPlaneHandlers): Promise<void>;
}

/**
 * One node:http listener for the process's life, whose handlers a configuration reload replaces. The listening
 * socket and kept-alive connections stay; a request is handled whole by the handlers current when it arrived.
 */
export function swappableListener(options: ServerOptions, initial: DataPlaneHandlers): SwappableListener {
  let current = initial;
  const retiring = new Set<Promise<void>>();
  const server = createServer(options, (request, response) => current.request(request, response));
  // The upgrade listener's presence is itself behaviour (without one Node refuses upgrades), so it follows the mode.
  if (initial.upgrade) server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => current.upgrade?.(request, socket, head));

  function retire(handlers: DataPlaneHandlers): Promise<void> {
    handlers.drain?.();
    const closed = (handlers.close?.() ?? Promise.resolve()).finally(() => retiring.delete(closed));
    retiring.add(closed);
    return closed;
  }

  const listener = httpListener(server, {
    beforeClose: () => current.drain?.(),
    afterClose: async () => {
      await Promise.all([current.close?.(), ...retiring]);
    },
  });
  return {
    ...listener,
    swap(next) {
      const previous = current;
      current = next;
      return retire(previous);
    },
  };
}
