import { readFileSync } from 'node:fs';

/**
 * Summarises a `node --cpu-prof` profile: where the busy (non-idle) time went, by area (tokenwatch file, npm
 * package, node internals, GC) and by function, self and inclusive. Times are shares of the busy time.
 */

const IDLE = new Set(['(idle)', '(root)']);

/** 'tokenwatch dist/auth/verify.js', 'fastify', 'node:internal/http', '(garbage collector)', ... */
function areaOf({ functionName, url }) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1];
  const distMatch = /\/dist\/(.+)$/.exec(url);
  if (distMatch) return `tokenwatch ${distMatch[1]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url.replace(/^file:\/\//, '');
}

function functionKey({ functionName, url, lineNumber }) {
  const where = url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

export function summarizeProfile(path, top = 25) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, { ...node, self: 0 }]));
  profile.samples.forEach((id, index) => {
    nodes.get(id).self += profile.timeDeltas[index] ?? 0;
  });
  const parents = new Map();
  for (const node of nodes.values()) for (const child of node.children ?? []) parents.set(child, node.id);

  let busy = 0;
  const areas = new Map();
  const selfByFunction = new Map();
  const totalByFunction = new Map();
  const add = (map, key, value) => map.set(key, (map.get(key) ?? 0) + value);
  for (const node of nodes.values()) {
    if (node.self === 0 || IDLE.has(node.callFrame.functionName)) continue;
    busy += node.self;
    add(areas, areaOf(node.callFrame), node.self);
    add(selfByFunction, functionKey(node.callFrame), node.self);
    // Inclusive: charge every distinct function on the stack once, so recursion is not counted twice.
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parents.get(id)) {
      const frame = nodes.get(id).callFrame;
      if (IDLE.has(frame.functionName)) continue;
      const key = functionKey(frame);
      if (!seen.has(key)) add(totalByFunction, key, node.self);
      seen.add(key);
    }
  }
  const ranked = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, share: micros / busy }));
  return {
    busySeconds: busy / 1e6,
    profiledSeconds: (profile.endTime - profile.startTime) / 1e6,
    areas: ranked(areas),
    self: ranked(selfByFunction),
    inclusive: ranked(totalByFunction),
  };
}

export function renderProfile(summary) {
  const percent = (share) => `${(share * 100).toFixed(1).padStart(5)}%`;
  const list = (title, rows) => [title, ...rows.map((row) => `  ${percent(row.share)}  ${row.name}`)].join('\n');
  return [
    `busy ${summary.busySeconds.toFixed(1)} s of ${summary.profiledSeconds.toFixed(1)} s profiled; shares are of the busy time`,
    list('by area (self time)', summary.areas),
    list('by function, self time', summary.self),
    list('by function, inclusive time', summary.inclusive),
  ].join('\n\n');
}
