import type { ConfigError } from '../config/load.js';
import { MARKS, plural } from './format.js';

/**
 * A configuration's problems as every command prints them (`run`, `check-config`, `inspect-token`): one line per
 * problem, `  <key path>: <reason>`, in the order found, then one summary line. A reason that quotes the file (a
 * YAML syntax error shows the line and a caret) continues on lines indented under it.
 */
export function configProblemLines(error: ConfigError): string[] {
  return [
    ...error.problems.flatMap((problem) => {
      const [first = '', ...rest] = problem.message.trimEnd().split('\n');
      return [`  ${problem.path}: ${first}`, ...rest.map((line) => (line === '' ? '' : `    ${line}`))];
    }),
    `${MARKS.fail} ${error.source}: ${plural(error.problems.length, 'configuration problem')}`,
  ];
}
