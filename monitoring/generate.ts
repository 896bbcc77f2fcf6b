import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dashboardFiles } from './dashboards/files.js';
import { ruleFiles } from './rules/files.js';

/** Every generated file, by path relative to the repository root. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, content] of ruleFiles()) files.set(join('alerts', name), content);
  for (const [name, content] of dashboardFiles()) files.set(join('dashboards', name), content);
  return files;
}

/** Writes the generated files under `root`. */
export function writeGenerated(root: string): string[] {
  const written: string[] = [];
  for (const [path, content] of generatedFiles()) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    written.push(path);
  }
  return written;
}
