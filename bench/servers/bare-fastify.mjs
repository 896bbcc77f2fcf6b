import Fastify from 'fastify';

/**
 * The baseline: fastify answering 200 with an empty body to every request, nothing else. What tokenwatch adds
 * on top of the framework is the difference between this and tokenwatch/forward-auth.
 */

const app = Fastify({ logger: false });
app.route({ method: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'], url: '*', handler: (_request, reply) => reply.code(200).send() });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${app.server.address().port}` })}\n`);

process.once('SIGTERM', async () => {
  await app.close();
  process.exit(0);
});
