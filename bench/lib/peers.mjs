import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_CORE, spawnPinned, stopChild } from './children.mjs';

/**
 * The proxies tokenwatch is compared with, as Debian packages them: NGINX (no auth) and Apache with
 * mod_auth_openidc (resource-server mode), each run as root from a generated configuration in its own temporary
 * directory (pid file, logs, runtime files), on the server core with every process it forks, and stopped as a
 * process group. Each resolves like servers.mjs: `{ name, pid, url, stop }` once its port accepts connections.
 */

export const NGINX_BINARY = '/usr/sbin/nginx';
export const APACHE_BINARY = '/usr/sbin/apache2';
const APACHE_MODULES = '/usr/lib/apache2/modules';
const START_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 3;

export function missingPeers() {
  const missing = [];
  if (!existsSync(NGINX_BINARY)) missing.push('nginx');
  if (!existsSync(APACHE_BINARY)) missing.push('apache2');
  if (!existsSync(join(APACHE_MODULES, 'mod_auth_openidc.so'))) missing.push('libapache2-mod-auth-openidc');
  return missing;
}

/**
 * NGINX as a plain reverse proxy to `upstreamUrl`: one worker, a keep-alive upstream pool of 64 connections, no
 * access log. Keep-alive requests are unbounded on both sides, so neither the load generator's connections nor the
 * pool are closed every 1,000 requests (NGINX's default) in the middle of a run.
 */
export function startNginx(name, upstreamUrl) {
  const upstream = new URL(upstreamUrl).host;
  return startPeer(name, 'tokenwatch-bench-nginx-', (dir, listen) => ({
    files: { 'nginx.conf': `${process.getuid?.() === 0 ? 'user root root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events {
  worker_connections 1024;
}
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream app {
    server ${upstream};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen ${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
` },
    command: [NGINX_BINARY, '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
  }));
}

/**
 * Apache httpd (mpm_event, one child process of 64 threads: enough for every connection of the load) with
 * mod_auth_openidc validating `Authorization: Bearer` JWTs against `jwksUri` (`AuthType oauth20`,
 * `Require valid-user`) and mod_proxy_http forwarding to `upstreamUrl`. mod_auth_openidc 2.4 accepts only an https
 * JWKS URL, so `caCertificate` (PEM) is the certificate it is told to trust. No access log (mod_log_config not loaded).
 */
export function startApache(name, { upstreamUrl, jwksUri, caCertificate }) {
  const upstream = new URL(upstreamUrl).origin;
  const load = (module, file) => `LoadModule ${module}_module ${APACHE_MODULES}/${file}`;
  return startPeer(name, 'tokenwatch-bench-apache-', (dir, listen) => ({
    files: {
      // In the directory the workers (www-data) can read: libcurl reads the bundle when it fetches the JWKS.
      'ca.pem': caCertificate,
      'httpd.conf': `ServerRoot ${dir}
ServerName 127.0.0.1
PidFile ${dir}/httpd.pid
DefaultRuntimeDir ${dir}
ErrorLog ${dir}/error.log
LogLevel warn
Listen ${listen}
${load('mpm_event', 'mod_mpm_event.so')}
${load('authn_core', 'mod_authn_core.so')}
${load('authz_core', 'mod_authz_core.so')}
${load('authz_user', 'mod_authz_user.so')}
${load('auth_openidc', 'mod_auth_openidc.so')}
${load('proxy', 'mod_proxy.so')}
${load('proxy_http', 'mod_proxy_http.so')}
User www-data
Group www-data
ServerLimit 1
StartServers 1
ThreadLimit 64
ThreadsPerChild 64
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
OIDCCryptoPassphrase tokenwatch-bench-only
OIDCCacheType shm
OIDCCABundlePath ${dir}/ca.pem
OIDCOAuthVerifyJwksUri ${jwksUri}
ProxyPass / ${upstream}/
<Location />
  AuthType oauth20
  Require valid-user
</Location>
`,
    },
    command: [APACHE_BINARY, '-f', join(dir, 'httpd.conf'), '-DFOREGROUND'],
  }));
}

/**
 * Writes the configuration files that `configure(dir, listen)` returns and starts its command on the server core as a
 * process group; retries with a new port when another process took the chosen one first.
 */
async function startPeer(name, prefix, configure) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // Apache's workers drop to www-data: they must be able to enter the directory of the runtime files.
  await chmod(dir, 0o755);
  try {
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const { files, command } = configure(dir, `127.0.0.1:${port}`);
      for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
      const child = spawnPinned(SERVER_CORE, command[0], command.slice(1), { detached: true });
      const exited = () => child.exitCode !== null || child.signalCode !== null;
      if (await waitForListener(port, exited)) {
        return {
          name,
          pid: child.pid,
          url: `http://127.0.0.1:${port}`,
          errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
          stop: async () => {
            await stopChild(child);
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await stopChild(child, 1000);
      const log = `${child.stderrText}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`;
      if (attempt < BIND_ATTEMPTS && /Address already in use/.test(log)) continue;
      throw new Error(`${name} did not start:\n${log || `no listener on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`}`);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** NGINX and Apache cannot listen on port 0: a port is picked by binding it first. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForListener(port, gaveUp) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !gaveUp()) {
    if (await accepts(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
