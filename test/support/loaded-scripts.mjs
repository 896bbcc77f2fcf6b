// Preloaded with `node --import` into a process under test: when the process exits, writes the URL of every script
// V8 compiled in it (its own modules, node_modules and Node.js's internal ones, `node:internal/...`) as a JSON array
// to the file named by TOKENWATCH_LOADED_SCRIPTS. The inspector reports every script already parsed as soon as the
// debugger is enabled, so nothing runs in the process before its exit.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const output = process.env.TOKENWATCH_LOADED_SCRIPTS;
if (!output) throw new Error('TOKENWATCH_LOADED_SCRIPTS must name the file the loaded scripts are written to');

process.on('exit', () => {
  const session = new Session();
  const urls = [];
  session.connect();
  // An in-process session dispatches synchronously: every scriptParsed arrives before post returns.
  session.on('Debugger.scriptParsed', ({ params }) => urls.push(params.url));
  session.post('Debugger.enable');
  session.disconnect();
  writeFileSync(output, JSON.stringify(urls));
});
