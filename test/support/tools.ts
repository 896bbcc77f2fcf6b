import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * The path of a real tool the tests drive, or an error saying what to install. Tests never skip when a tool is
 * missing: they fail with this message (CI installs every tool in .ci/run).
 */
export function requireTool(command: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) {
    throw new Error(`${command} is not installed: apt-get install -y ${debianPackage} (the .ci/run script installs it)`);
  }
  return path;
}

/** Runs `promtool check metrics` on an exposition; resolves with its findings (empty when clean). */
export async function promtoolCheckMetrics(exposition: string): Promise<{ code: number; output: string }> {
  const promtool = requireTool('promtool', 'prometheus');
  return new Promise((resolve) => {
    const child = execFile(promtool, ['check', 'metrics'], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin!.end(exposition);
  });
}

export { execFileAsync };
