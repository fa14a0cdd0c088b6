'use strict';
// Private Redis and PostgreSQL instances for the multi-node tests: each on a free loopback port,
// with its files in a temporary directory, stopped and removed by stop(). PostgreSQL refuses to
// run as root, so as root it runs as the `postgres` user (made by Debian's package) or `nobody`.

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

// Waits until fn() resolves truthy, or rejects after ms.
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { if (await fn()) return; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`${what} not ready after ${ms} ms${last ? `: ${last.message}` : ''}`);
    await sleep(50);
  }
}

// Spawns a daemon in the foreground; stop() ends it (SIGTERM, then SIGKILL) and waits.
function daemon(cmd, args, opts) {
  const proc = spawn(cmd, args, Object.assign({ stdio: ['ignore', 'pipe', 'pipe'] }, opts));
  let log = '';
  const keep = (d) => { log = (log + d).slice(-8000); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return {
    proc,
    log: () => log,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.kill(signal);
      await exited;
      clearTimeout(kill);
    },
  };
}

function which(name, dirs) {
  for (const d of dirs) {
    const f = path.join(d, name);
    if (fs.existsSync(f)) return f;
  }
  return null;
}

// Debian puts PostgreSQL's server programs in /usr/lib/postgresql/<major>/bin.
function postgresBin() {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) : [];
  const dirs = majors.map((v) => path.join(root, v, 'bin')).concat((process.env.PATH || '').split(':'));
  const initdb = which('initdb', dirs);
  const postgres = initdb && which('postgres', [path.dirname(initdb)]);
  return initdb && postgres ? { initdb, postgres } : null;
}

function redisBin() {
  return which('redis-server', ['/usr/bin', '/usr/local/bin'].concat((process.env.PATH || '').split(':')));
}

// Why the services cannot run here (a skip reason), or false.
function missing() {
  const m = [];
  if (!redisBin()) m.push('redis-server');
  if (!postgresBin()) m.push('postgresql (initdb, postgres)');
  return m.length ? `needs ${m.join(' and ')} (bash test/scripts/setup.sh installs them)` : false;
}

function unprivileged() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch (_) { /* no such user */ }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists');
}

async function startRedis(dir, port) {
  port = port || await freePort();
  const d = daemon(redisBin(), ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning']);
  await until(() => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.write('PING\r\n'); });
    s.once('data', (b) => { s.destroy(); resolve(b.toString().startsWith('+PONG')); });
    s.once('error', () => resolve(false));
  }), 10000, 'redis');
  return Object.assign(d, { url: `redis://127.0.0.1:${port}`, port });
}

async function startPostgres(dir) {
  const bin = postgresBin();
  const user = unprivileged();
  const data = path.join(dir, 'pg');
  fs.mkdirSync(data, { mode: 0o700 });
  const owner = user ? { uid: user.uid, gid: user.gid } : {};
  if (user) { fs.chownSync(dir, user.uid, user.gid); fs.chownSync(data, user.uid, user.gid); }
  execFileSync(bin.initdb, ['-D', data, '-U', 'exp', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    Object.assign({ stdio: ['ignore', 'pipe', 'pipe'], cwd: dir }, owner));
  const port = await freePort();
  const d = daemon(bin.postgres, ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=60'],
  Object.assign({ cwd: dir }, owner));
  const url = `postgres://exp@127.0.0.1:${port}/postgres`;
  const { Client } = require('pg');
  await until(async () => {
    if (!d.alive()) throw new Error(`postgres exited: ${d.log()}`);
    const c = new Client({ connectionString: url });
    c.on('error', () => {});
    try { await c.connect(); await c.query('SELECT 1'); return true; } finally { await c.end().catch(() => {}); }
  }, 20000, 'postgres');
  const stop = d.stop;
  // SIGINT is PostgreSQL's fast shutdown.
  return Object.assign(d, { url, stop: () => stop('SIGINT') });
}

// Starts Redis and PostgreSQL; stop() stops both and removes their files; restartRedis()
// starts Redis again on its port.
async function startServices() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-multinode-'));
  fs.chmodSync(dir, 0o755);
  const started = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    started.push(await startRedis(dir));
    started.push(await startPostgres(dir));
  } catch (e) {
    await stop();
    throw e;
  }
  // Redis again on its port, once a test has stopped it; the nodes reconnect to it.
  const restartRedis = async () => {
    const r = await startRedis(dir, started[0].port);
    started.push(r);
    return r;
  };
  return { redis: started[0], postgres: started[1], dir, stop, restartRedis };
}

module.exports = { startServices, missing, freePort, until, sleep };
