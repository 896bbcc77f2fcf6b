import { readFileSync } from 'node:fs';

/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  readonly stages: readonly Stage[];
  /** What the image runs: the last stage. */
  readonly runtime: Stage;
}

export function readDockerfile(path: URL): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

/** The instructions of a Dockerfile by stage (comments and blank lines dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Dockerfile {
  const stages: Array<{ image: string; name: string | undefined; instructions: Instruction[] }> = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    const [keyword = '', ...rest] = whole.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: startLine };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = rest.filter((word) => !word.startsWith('--platform'));
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    }
    stages.at(-1)?.instructions.push(instruction);
  });
  if (stages.length === 0) throw new Error('no FROM in Dockerfile');
  return { stages, runtime: stages.at(-1)! };
}

/** A COPY's flags, sources and destination. */
export function copyParts(instruction: Instruction): { from: string | undefined; sources: string[]; destination: string } {
  const words = instruction.args.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
}

/**
 * hadolint's rules that apply to this Dockerfile, ported: no Debian or npm package provides hadolint here. Each
 * finding is `CODE line: message`. The apt/pip/yarn rules have nothing to check (no RUN installs OS packages).
 */
export function lint(dockerfile: Dockerfile): string[] {
  const findings: string[] = [];
  const report = (code: string, instruction: Instruction, message: string) => findings.push(`${code} ${instruction.line}: ${message}`);
  const stageNames = new Set<string>();
  for (const stage of dockerfile.stages) {
    const [from, ...rest] = stage.instructions;
    const isStageRef = stageNames.has(stage.image);
    if (!isStageRef && !/[:@]/.test(stage.image.replace(/^[^/]+:\d+\//, ''))) report('DL3006', from!, `always tag the version of an image explicitly (${stage.image})`);
    if (/:latest(?:@|$)/.test(stage.image)) report('DL3007', from!, 'using latest is prone to errors; pin a version');
    let workdir = false;
    let previous: Instruction | undefined;
    const counts: Record<string, number> = {};
    for (const instruction of rest) {
      counts[instruction.keyword] = (counts[instruction.keyword] ?? 0) + 1;
      switch (instruction.keyword) {
        case 'WORKDIR':
          workdir = true;
          if (!instruction.args.startsWith('/') && !instruction.args.startsWith('$')) report('DL3000', instruction, 'use absolute WORKDIR');
          break;
        case 'ADD':
          if (!/^(?:--\S+\s+)*(?:https?:\/\/|\S+\.(?:tar|tgz|tar\.\w+))/.test(instruction.args)) report('DL3020', instruction, 'use COPY instead of ADD for files and folders');
          break;
        case 'COPY': {
          const { from: source, destination } = copyParts(instruction);
          if (source !== undefined && !/^\d+$/.test(source) && !stageNames.has(source) && !source.includes('/')) report('DL3022', instruction, `COPY --from=${source} names no previous stage`);
          if (source !== undefined && source === stage.name) report('DL3023', instruction, 'COPY --from cannot reference its own FROM alias');
          if (!workdir && !destination.startsWith('/') && !destination.startsWith('$')) report('DL3045', instruction, 'COPY to a relative destination without WORKDIR set');
          break;
        }
        case 'RUN':
          if (/(^|[\s;&|])sudo\s/.test(instruction.args)) report('DL3004', instruction, 'do not use sudo');
          if (/(^|[\s;&])cd\s/.test(instruction.args)) report('DL3003', instruction, 'use WORKDIR to switch to a directory');
          if (/[^|]\|[^|]/.test(instruction.args) && !shellHasPipefail(stage, instruction)) report('DL4006', instruction, 'set the SHELL option -o pipefail before RUN with a pipe in it');
          if (previous?.keyword === 'RUN') report('DL3059', instruction, 'multiple consecutive RUN instructions; consolidate them');
          break;
        case 'CMD':
        case 'ENTRYPOINT':
          if (!isJsonArray(instruction.args)) report('DL3025', instruction, `use arguments JSON notation for ${instruction.keyword}`);
          break;
        case 'MAINTAINER':
          report('DL4000', instruction, 'MAINTAINER is deprecated');
          break;
        case 'EXPOSE':
          for (const port of instruction.args.split(/\s+/)) {
            const number = Number(port.split('/')[0]);
            if (!Number.isInteger(number) || number < 0 || number > 65_535) report('DL3011', instruction, `valid UNIX ports range from 0 to 65535 (${port})`);
          }
          break;
        default:
      }
      previous = instruction;
    }
    if ((counts.CMD ?? 0) > 1) report('DL4003', from!, 'multiple CMD instructions found');
    if ((counts.ENTRYPOINT ?? 0) > 1) report('DL4004', from!, 'multiple ENTRYPOINT instructions found');
    if (stage.name) stageNames.add(stage.name);
  }
  const users = dockerfile.runtime.instructions.filter((instruction) => instruction.keyword === 'USER');
  const lastUser = users.at(-1);
  if (!lastUser) report('DL3002', dockerfile.runtime.instructions[0]!, 'the runtime stage sets no USER: it would run as root');
  else if (/^(root|0)(:|$)/.test(lastUser.args)) report('DL3002', lastUser, 'last USER should not be root');
  else if (!/^\d+(:\d+)?$/.test(lastUser.args)) report('TW0001', lastUser, 'USER must be a numeric UID (and GID), so runAsNonRoot can verify it');
  return findings;
}

function shellHasPipefail(stage: Stage, run: Instruction): boolean {
  return stage.instructions.some((instruction) => instruction.keyword === 'SHELL' && instruction.line < run.line && instruction.args.includes('pipefail'));
}

function isJsonArray(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string');
  } catch {
    return false;
  }
}
