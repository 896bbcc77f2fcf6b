/**
 * The house's directions, enforced in `npm test` (README, Layout). Data flows one way: request → extract → match
 * route → verify → decide → forward; observers hang off the ports the emitting code defines, and nothing reaches
 * back up. A folder listed under `from` may import only what its rule allows.
 */
const folder = (name) => `^src/${name}/`;

/**
 * Label vocabularies: fixed value sets owned by the module that emits them, imported by the metric catalogue and the
 * monitoring generators. Each is a leaf.
 */
const VOCABULARIES = [
  'auth/reasons\\.ts',
  'idp-events/error-codes\\.ts',
  'idp-events/grant-types\\.ts',
  'server/http/request-observer\\.ts',
  'detection/anomaly\\.ts',
];
const VOCABULARY = `^src/(${VOCABULARIES.join('|')})$`;

/** Each folder and the src/ folders it must never import. */
const forbidden = {
  // Leaves: everything may use them; they use nothing of ours but the error model (errors.ts names the auth failure
  // reasons).
  logging: ['.*'],
  platform: ['(?!errors\\.ts)'],
  'observability/catalog': [`(?!${VOCABULARIES.join('|')})`],
  config: ['(?!config/|errors\\.ts|auth/reasons\\.ts)'],
  // The validation path: below the servers, above nothing that observes it.
  policy: ['server/', 'observability/', 'detection/', 'alerting/', 'idp-events/', 'main/', 'cli/', 'dev/'],
  auth: ['policy/', 'server/', 'observability/', 'detection/', 'alerting/', 'idp-events/', 'main/', 'cli/', 'dev/'],
  server: ['observability/', 'detection/', 'alerting/', 'idp-events/', 'main/', 'cli/', 'dev/'],
  'idp-events': ['auth/', 'policy/', 'server/', 'detection/', 'alerting/', 'main/', 'cli/', 'dev/', 'observability/(?!catalog/)'],
  // Observers: they implement the ports of what they observe and never reach the wiring or each other's insides.
  observability: ['detection/(?!anomaly\\.ts$)', 'alerting/', 'main/', 'cli/', 'dev/'],
  detection: ['alerting/', 'observability/(?!catalog/)', 'main/', 'cli/', 'dev/'],
  alerting: ['auth/', 'policy/', 'server/', 'observability/(?!catalog/)', 'detection/', 'idp-events/', 'main/', 'cli/', 'dev/'],
  // inspect-token runs the real access decision, so the gate is the one part of the servers the commands use.
  cli: ['server/(?!gate/)', 'observability/', 'detection/', 'alerting/', 'main/', 'dev/'],
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle between modules means neither can be understood, tested or replaced alone.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(forbidden).map(([from, targets]) => ({
      name: `${from.replace('/', '-')}-direction`,
      severity: 'error',
      comment: `src/${from}/ may not import ${targets.join(', ')} (README, Layout).`,
      from: { path: folder(from) },
      to: { path: targets.map((target) => `^src/${target}`), pathNot: folder(from) },
    })),
    {
      name: 'main-is-the-top',
      severity: 'error',
      comment: 'src/main/ wires everything; only the dev stack, which runs a sidecar, may start one from outside it.',
      from: { path: '^src/', pathNot: '^src/(main|dev)/' },
      to: { path: '^src/main/' },
    },
    {
      name: 'vocabularies-are-leaves',
      severity: 'error',
      comment: 'The catalogue and the generators import these; they import nothing of ours.',
      from: { path: VOCABULARY },
      to: { path: '^src/' },
    },
    {
      name: 'monitoring-reads-the-catalogue-only',
      severity: 'error',
      comment: 'Rule and dashboard generators run at build time from the metric catalogue and the label vocabularies.',
      from: { path: '^monitoring/' },
      to: { path: '^src/', pathNot: [folder('observability/catalog'), VOCABULARY] },
    },
    {
      name: 'src-never-imports-tests-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'node-http-through-require',
      severity: 'error',
      comment: 'An ES module import of node:http loads Node.js\'s bundled undici (13 MB per pod): values come from src/platform/node-http.ts.',
      from: { path: '^src/', pathNot: '^src/platform/node-http\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?http$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'undici-in-the-proxy-only',
      severity: 'error',
      comment:
        'The undici package, and Node.js\'s own copy that it makes Node.js load, cost a pod about 9 MB resident: only the proxy\'s upstream pool pays for it (decision 17); other outbound HTTP goes through src/platform/http-exchange.ts.',
      from: { path: '^src/', pathNot: folder('server/proxy') },
      to: { path: '(^|/)node_modules/undici/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
