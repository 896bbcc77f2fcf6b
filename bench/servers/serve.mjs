/**
 * Serves a bench server's node:http `server` on a free loopback port until SIGTERM: prints `READY {"url"}` once it
 * listens (bench/lib/servers.mjs waits for it), and keeps keep-alive connections open as long as the load runs, so
 * a proxy's upstream pool is never cut mid-run.
 */
export function serveUntilStopped(server) {
  server.keepAliveTimeout = 0;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
