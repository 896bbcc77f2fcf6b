import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useStarted } from './lifecycle.js';

/**
 * A real NGINX (Debian's package) on loopback, run as a child process with a generated configuration in a temp
 * directory: pid file, logs and every temp path live there, so tests need no write access to /var or /run.
 */

export const NGINX_BINARY = '/usr/sbin/nginx';

const NOT_INSTALLED = 'nginx is not installed: apt-get install -y nginx (the .ci/run script installs it)';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const BIND_ATTEMPTS = 3;

export interface Nginx {
  /** e.g. http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  port: number;
  /** The prefix directory holding nginx.conf, logs and temp paths. */
  dir: string;
  /** The error log so far: what to print when a test fails for a reason NGINX knows. */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts NGINX with `httpConfig(listen)` as the body of its `http {}` block; `listen` is the `127.0.0.1:PORT` the
 * server block must listen on. Throws (never skips) when the binary is missing.
 */
export async function startNginx(httpConfig: (listen: string) => string): Promise<Nginx> {
  if (!existsSync(NGINX_BINARY)) throw new Error(NOT_INSTALLED);
  const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-nginx-'));
  try {
    // nginx cannot listen on port 0, so a port is picked by binding it first; another process may take it before
    // nginx binds, which is rare and answered by trying again with a new port.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await writeFile(join(dir, 'nginx.conf'), mainConfig(dir, httpConfig(`127.0.0.1:${port}`)));
      await writeFile(join(dir, 'error.log'), '');
      const child = spawn(NGINX_BINARY, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const listening = await waitForListener(port, () => child.exitCode !== null || child.signalCode !== null);
      if (listening) return running(child, exited, dir, port);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      const log = `${stderr}${await readErrorLog(dir)}` || `no listener on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`;
      if (attempt < BIND_ATTEMPTS && log.includes('Address already in use')) continue;
      throw new Error(`nginx did not start:\n${log}`);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** An NGINX for the tests of one file; the config function runs in beforeAll, after earlier-registered servers. */
export function useNginx(httpConfig: (listen: string) => string): () => Nginx {
  return useStarted(() => startNginx(httpConfig));
}

function mainConfig(dir: string, http: string): string {
  // Workers of a root master switch to `nobody`, which cannot enter the 0700 temp directory.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  return `${user}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events {
  worker_connections 256;
}
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http}
}
`;
}

function running(child: ChildProcess, exited: Promise<void>, dir: string, port: number): Nginx {
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    errorLog: () => readErrorLog(dir),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM is NGINX's fast shutdown: open keep-alive connections are not waited for.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True once the port accepts connections; false when `gaveUp` (the process exited) or the start timeout passed. */
async function waitForListener(port: number, gaveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !gaveUp()) {
    if (await accepts(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function readErrorLog(dir: string): Promise<string> {
  return readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
}
