import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';

/**
 * node:http, loaded with `require`. An ES module `import` of node:http builds its namespace from every export, and so
 * runs the lazy getters of `WebSocket`, `CloseEvent` and `MessageEvent`, which load Node.js's bundled undici: about
 * 13 MB resident in every pod for classes tokenwatch never uses (nodejs/node#59686; decision 17). Types may still be
 * imported from node:http: a type import is erased. .dependency-cruiser.cjs keeps value imports here.
 * node:https has no such getters: an ES import of it loads nothing more.
 */
const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;

export const { Agent, createServer, request, STATUS_CODES } = http;
