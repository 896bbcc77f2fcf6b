import { ConfigError, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ListenAddress } from '../config/types.js';
import { configProblemLines } from './config-problems.js';
import { MARKS, formatChecks, formatTable, plural } from './format.js';
import { checkIssuerLive, type IssuerLiveReport, type PublishedKey } from './live-check.js';

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 2;

/**
 * `tokenwatch check-config FILE [--live]`: every configuration problem with its key path, or a summary of what the
 * file configures; with --live, the pre-flight check of every issuer against its IdP. Returns the exit code.
 */
export async function runCheckConfig(file: string, options: { live: boolean }, out: NodeJS.WritableStream): Promise<number> {
  let config: Config;
  try {
    config = await loadConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    out.write(`${configProblemLines(error).join('\n')}\n`);
    return EXIT_PROBLEMS;
  }
  out.write(`${summaryLines(file, config).join('\n')}\n`);
  if (!options.live) return EXIT_OK;

  const reports = await Promise.all(config.issuers.map(checkIssuerLive));
  out.write(`${reports.flatMap(reportLines).join('\n')}\n`);
  const failed = reports.filter((report) => !report.ok);
  if (failed.length === 0) {
    out.write(`${MARKS.pass} live check passed for ${plural(reports.length, 'issuer')}\n`);
    return EXIT_OK;
  }
  for (const report of failed) {
    const names = report.checks.filter((check) => check.status === 'fail').map((check) => check.name);
    out.write(`${MARKS.fail} live check failed for ${report.issuer}: ${names.join(', ')}\n`);
  }
  return EXIT_PROBLEMS;
}

function summaryLines(file: string, config: Config): string[] {
  return [
    `${MARKS.pass} ${file}: configuration is valid`,
    ...formatTable([
      ['mode', config.mode],
      ['listeners', `data plane ${address(config.listen)}, admin ${address(config.admin)}`],
      ...config.issuers.map((issuer, index) => [
        index === 0 ? `issuers (${config.issuers.length})` : '',
        `${issuer.issuer}  audiences ${issuer.audiences.join(', ')}; algorithms ${issuer.algorithms.join(', ')}`,
      ]),
      ['routes', `${config.routes.length} (requests no route matches: ${config.defaultRoute})`],
    ]),
  ];
}

function address({ host, port }: ListenAddress): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function reportLines(report: IssuerLiveReport): string[] {
  const lines = ['', `issuer ${report.issuer}`, ...formatChecks(report.checks)];
  if (report.keys.length > 0) {
    lines.push('  published keys:');
    lines.push(...formatTable([['kid', 'kty', 'crv', 'alg', 'use', 'fits'], ...report.keys.map(keyRow)], '    '));
  }
  return lines;
}

function keyRow(key: PublishedKey): string[] {
  const cell = (value: string | undefined) => (value === undefined ? '-' : JSON.stringify(value).slice(1, -1));
  return [cell(key.kid), cell(key.kty), cell(key.crv), cell(key.alg), cell(key.use), key.algorithms.map(cell).join(',') || '-'];
}
