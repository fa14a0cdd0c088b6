'use strict';
// Shared helpers for the interop tests: start/stop a private reference server, small HTTP helpers.

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const SERVER = path.join(__dirname, '..', 'server', 'main.js');

const USER = { username: 'test@goexp.io', password: 'test-Password1', organization: 'scala' };
const DEVICE = { uuid: 'test-uuid', secret: 'test-secret' };
const CONSUMER = { uuid: 'test-uuid', apiKey: 'test-api-key' };

// Spawns `node test/server/main.js --port 0 ...` and resolves once it printed `listening <origin>`.
function startServer(extraArgs = [], { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SERVER, '--port', '0', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`server did not start in time: ${stderr}`)); }, timeoutMs);
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (\S+)$/.exec(line);
      if (!m) { proc.kill('SIGKILL'); reject(new Error(`unexpected first line: ${line}`)); return; }
      const origin = m[1];
      const stop = () => new Promise((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) { res(); return; }
        const kill = setTimeout(() => proc.kill('SIGKILL'), 3000);
        proc.once('exit', () => { clearTimeout(kill); res(); });
        proc.kill('SIGTERM');
      });
      resolve({ origin, proc, stop, stderr: () => stderr });
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${stderr}`)); });
  });
}

async function api(origin, method, path, { token, body, raw, headers } = {}) {
  const h = Object.assign({}, headers || {});
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) { payload = JSON.stringify(body); h['Content-Type'] = 'application/json'; }
  const res = await fetch(origin + path, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch (_) { json = undefined; }
  return { status: res.status, body: json, text, headers: res.headers };
}

async function loginUser(origin) {
  const r = await api(origin, 'POST', '/api/auth/login', { body: Object.assign({ type: 'user' }, USER) });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.body;
}

// Standard base64 of compact JSON [org, name, system, consumer].
function channelId(org, name, system, consumer) {
  return Buffer.from(JSON.stringify([org, name, system ? 1 : 0, consumer ? 1 : 0])).toString('base64');
}

// Rejects when `promise` takes longer than ms.
function within(promise, ms, what = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// Resolves with the first value the callback registration produces.
function deferred() {
  let resolve; let reject;
  const promise = new Promise((a, b) => { resolve = a; reject = b; });
  return { promise, resolve, reject };
}

// Runs the C peer program (test/interop/c_peer.c) at file with args; next() yields its JSON lines
// as they come, done() its exit status; env adds to the environment.
function cPeer(file, args, env) {
  const proc = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: Object.assign({}, process.env, env || {}) });
  const queue = [];
  const waiting = [];
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    let value;
    try { value = JSON.parse(line); } catch (_) { value = line; }
    if (waiting.length) waiting.shift().resolve(value); else queue.push(value);
  });
  const done = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  done.then(() => { while (waiting.length) waiting.shift().reject(new Error(`c_peer exited: ${stderr}`)); });
  return {
    next(what = 'c_peer line', ms = 10000) {
      if (queue.length) return Promise.resolve(queue.shift());
      const d = deferred();
      waiting.push(d);
      return within(d.promise, ms, what);
    },
    done: () => within(done, 25000, 'c_peer exit'),
    kill: () => proc.kill('SIGKILL'),
    stderr: () => stderr,
  };
}

module.exports = { startServer, api, loginUser, channelId, within, deferred, cPeer, USER, DEVICE, CONSUMER };
