'use strict';
// Benchmarks, side by side in one run against one reference server: the C
// SDK (callback and queue listeners), a bare libuv + wslay + cJSON receiver,
// a bare libuv + llhttp REST client, curl and the official JS SDK.  What
// each client does on the wire is in README.md.
//
//   node test/bench/run.js [BUILD_DIR]      (or EXP_BUILD_DIR; meson sets it)
//
// A round has four parts, in an order that alternates between rounds:
//  - receivers together on one channel, through phases of broadcasts
//    (bench_util.h): warm-up, 65 B payloads, 4 KB payloads, a held phase
//    (queue listeners keep it queued: heap per queued broadcast), and a
//    burst sent while the receivers are stopped (SIGSTOP), drained after
//    SIGCONT: the drain ceiling;
//  - each receiver alone, started several times: start -> online, RSS and
//    heap online;
//  - the single-listener receivers together again: latency sender ->
//    listener at a fixed rate;
//  - the C SDK alone with many listeners on distinct channels: heap and RSS
//    per listener;
//  - the REST clients one after the other.
// Each figure is the median over rounds, each ratio the median of the
// rounds' ratios.  With valgrind installed, the C programs and curl then
// run under callgrind at two counts whose difference gives user-space
// instructions per operation, deterministic where CPU time is noisy.
//
// Environment:
//   EXP_BENCH_ROUNDS      rounds (3)
//   EXP_BENCH_BROADCASTS  65 B broadcasts measured (20000), after 1000
//   EXP_BENCH_BIG         4 KB broadcasts measured (5000)
//   EXP_BENCH_HELD        broadcasts held in the queue (1000)
//   EXP_BENCH_BURST       broadcasts of the drained burst (5000)
//   EXP_BENCH_RATE        latency phase rate, broadcasts/s (500)
//   EXP_BENCH_LATENCY     latency phase broadcasts (2500), after 250
//   EXP_BENCH_CALLS       REST calls measured (2000), after 200
//   EXP_BENCH_LISTENERS   extra listeners on distinct channels (100)
//   EXP_BENCH_SCALE       listeners of the dispatch-scaling receiver (10000)
//   EXP_BENCH_STARTS      starts of each receiver per round for the online
//                         figures (5)
//   EXP_BENCH_ONLY        keys to run, comma-separated (see CLIENTS)
//   EXP_BENCH_CALLGRIND   1 (default when valgrind is installed) or 0
//   EXP_BENCH_WRAP        a command put before the C programs, e.g.
//                         "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p"
//                         (figures then not comparable)
//   EXP_BENCH_OUT         the JSON file to write (default
//                         test/bench/results/latest.json; also writes the
//                         .md table and, with gnuplot, the .png chart next
//                         to it, and refreshes README.md's table)
//
// Fails when a program fails or a count is off; timing is never a failure.

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { startServer, loginUser, channelId, DEVICE } = require('../interop/helpers');
const { writeReport } = require('./report');

const ROOT = path.join(__dirname, '..', '..');
const BUILD = path.resolve(process.argv[2] || process.env.EXP_BUILD_DIR || path.join(ROOT, 'build'));
const BIN = path.join(BUILD, 'test', 'bench');
const ENV = process.env;
const num = (name, dflt) => Number(ENV[name] || dflt);
const ROUNDS = num('EXP_BENCH_ROUNDS', 3);
const N = {
  warm: 1000, small: num('EXP_BENCH_BROADCASTS', 20000), big: num('EXP_BENCH_BIG', 5000),
  held: num('EXP_BENCH_HELD', 1000), burst: num('EXP_BENCH_BURST', 5000),
  rate: num('EXP_BENCH_RATE', 500), latWarm: 250, latency: num('EXP_BENCH_LATENCY', 2500),
  restWarm: 200, calls: num('EXP_BENCH_CALLS', 2000),
  listeners: num('EXP_BENCH_LISTENERS', 100), scale: num('EXP_BENCH_SCALE', 10000),
  starts: num('EXP_BENCH_STARTS', 5),
};
const ONLY = ENV.EXP_BENCH_ONLY ? ENV.EXP_BENCH_ONLY.split(',') : null;
const CALLGRIND = ENV.EXP_BENCH_CALLGRIND !== undefined ? ENV.EXP_BENCH_CALLGRIND === '1'
  : spawnSync('valgrind', ['--version']).status === 0;
const WRAP = ENV.EXP_BENCH_WRAP ? ENV.EXP_BENCH_WRAP.split(' ').filter(Boolean) : [];
const OUT = path.resolve(ENV.EXP_BENCH_OUT || path.join(__dirname, 'results', 'latest.json'));
const EVENT = 'tick';
// Broadcasts in flight when sending as fast as the server takes them.
const CONCURRENCY = 8;
const PAYLOAD = { small: 65, big: 4096 };
const VERSION = (/^\s*version : '([^']+)'/m.exec(fs.readFileSync(path.join(ROOT, 'meson.build'), 'utf8')) || [])[1] || '0';

// Every client: kind receiver (together, alone), footprint, or rest.
const CLIENTS = [
  { key: 'bare', kind: 'receiver', label: 'bare loop (libuv+wslay+cJSON)', bin: 'bench_bare' },
  { key: 'c1', kind: 'receiver', label: 'C SDK, callback listener', bin: 'bench_receive', mode: 'callback' },
  { key: 'c1q', kind: 'receiver', label: 'C SDK, queue listener', bin: 'bench_receive', mode: 'queue' },
  { key: 'c100', kind: 'receiver', label: 'C SDK, 100 listeners on the channel', bin: 'bench_receive', mode: 'callback', extra: 99, together: true },
  { key: 'cScale', kind: 'receiver', label: `C SDK, ${N.scale} listeners on the channel`, bin: 'bench_receive', mode: 'callback', extra: N.scale - 1, together: true },
  { key: 'js1', kind: 'receiver', label: 'JS SDK, 1 listener', js: 'bench_receive_js.js' },
  { key: 'js100', kind: 'receiver', label: 'JS SDK, 100 listeners on the channel', js: 'bench_receive_js.js', extra: 99, together: true },
  { key: 'cListeners', kind: 'footprint', label: `C SDK, 1 + ${N.listeners} listeners on distinct channels`, bin: 'bench_receive', mode: 'callback' },
  { key: 'restWait', kind: 'rest', label: 'C SDK, exp_get_wait', bin: 'bench_rest', mode: 'wait' },
  { key: 'restAsync', kind: 'rest', label: 'C SDK, exp_get chain', bin: 'bench_rest', mode: 'async' },
  { key: 'restBare', kind: 'rest', label: 'bare libuv+llhttp+cJSON', bin: 'bench_rest_bare' },
  { key: 'curl', kind: 'rest', label: 'curl (Debian binary)', curl: true },
  { key: 'restJs', kind: 'rest', label: 'JS SDK, exp.get', js: 'bench_rest_js.js' },
].filter((x) => !ONLY || ONLY.includes(x.key));
const isC = (x) => Boolean(x.bin) || x.curl;

// Spawns a benchmark program; line() resolves with its next JSON line.
function program(cmd, label) {
  const started = process.hrtime.bigint();
  const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: proc.stdout }).on('line', (l) => {
    const item = { at: process.hrtime.bigint(), text: l };
    if (waiters.length) waiters.shift().resolve(item); else lines.push(item);
  });
  const exited = new Promise((resolve) => proc.once('close', (code, signal) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${label} exited (${code ?? signal}): ${stderr.trim()}`));
    resolve(code ?? signal);
  }));
  async function line(timeoutMs, what) {
    let item;
    if (lines.length) {
      item = lines.shift();
    } else {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${label} exited before its ${what}: ${stderr.trim()}`);
      item = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label}: no ${what} within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
        waiters.push({
          resolve: (l) => { clearTimeout(timer); resolve(l); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        });
      });
    }
    try {
      return Object.assign(JSON.parse(item.text), { _ms: Number(item.at - started) / 1e6 });
    } catch (e) {
      throw new Error(`${label}: not JSON: ${item.text}`);
    }
  }
  const signal = (s) => { if (proc.exitCode === null && proc.signalCode === null) proc.kill(s); };
  return { line, exited, signal, kill: () => signal('SIGKILL'), stderr: () => stderr };
}

// The device's own token, as the C SDK gets it (a JWT signed with the
// secret), for the clients that do not log in themselves.
async function deviceToken(origin) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ uuid: DEVICE.uuid, type: 'device', iat: now, exp: now + 3600 })}`;
  const jwt = `${head}.${crypto.createHmac('sha256', DEVICE.secret).update(head).digest('base64url')}`;
  const res = await fetch(`${origin}/api/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: jwt }),
  });
  if (res.status !== 200) throw new Error(`device login answered ${res.status}`);
  return (await res.json()).token;
}

// A payload of exactly `size` bytes of JSON: {p, n, t, pad}.
function payload(p, n, size) {
  const o = { p, n, t: Number(process.hrtime.bigint()), pad: '' };
  o.pad = 'x'.repeat(Math.max(0, size - JSON.stringify(o).length));
  return o;
}

// Posts count broadcasts of phase p on channel, CONCURRENCY at a time, or
// at `rate` per second when given; resolves with the broadcasts per second.
async function send(ctx, channel, p, count, size, rate) {
  const url = new URL('/api/networks/current/broadcasts?timeout=0', ctx.origin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (n) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ name: EVENT, channel: { name: channel }, payload: payload(p, n, size) });
    const req = http.request(url, {
      method: 'POST', agent,
      headers: { Authorization: `Bearer ${ctx.token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`broadcast answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  const start = process.hrtime.bigint();
  try {
    if (rate) {
      const posts = [];
      for (let n = 0; n < count; n++) {
        const due = start + BigInt(Math.round((n * 1e9) / rate));
        const wait = Number(due - process.hrtime.bigint()) / 1e6;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        posts.push(post(n));
      }
      await Promise.all(posts);
    } else {
      let next = 0;
      const worker = async () => { while (next < count) await post(next++); };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    }
  } finally {
    agent.destroy();
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

// The command of client x with its configuration.
function command(ctx, x, config, wrap) {
  const port = Number(new URL(ctx.origin).port);
  const common = { host: ctx.origin, uuid: DEVICE.uuid, secret: DEVICE.secret, event: EVENT, timeout_ms: 600000 };
  if (x.curl) {
    const calls = config.phases.reduce((a, p) => a + p.count, 0);
    const file = path.join(ctx.dir, `curl-${calls}.conf`);
    const u = `${ctx.origin}/api/devices/${DEVICE.uuid}`;
    fs.writeFileSync(file, `url = "${u}"\n`.repeat(calls));
    return [path.join(BIN, 'bench_child'), ...wrap, 'curl', '-s', '-f', '-K', file,
      '-H', `Authorization: Bearer ${ctx.deviceToken}`, '-H', 'Accept: application/json'];
  }
  let cfg;
  if (x.bin === 'bench_bare') {
    cfg = Object.assign({}, common, { port, token: ctx.token, channel_id: channelId('scala', config.channel, false, false) });
  } else if (x.bin === 'bench_rest_bare') {
    cfg = Object.assign({}, common, { port, token: ctx.deviceToken, path: `/api/devices/${DEVICE.uuid}`, user_agent: `exp-sdk-c/${VERSION}` });
  } else {
    cfg = Object.assign({}, common, { mode: x.mode, extra: x.extra || 0 });
  }
  Object.assign(cfg, config);
  const arg = JSON.stringify(cfg);
  return x.js ? [process.execPath, path.join(__dirname, x.js), arg] : [...wrap, path.join(BIN, x.bin), arg];
}

// Receivers together on one channel through the given phases; returns
// each one's lines: ready, phases (with "held" and drain figures), done.
async function together(ctx, xs, channel, phases, wrap) {
  const ps = xs.map((x) => program(command(ctx, x, { channel, phases: phases.map((p) => ({ count: p.count, hold: p.hold })) }, wrap(x)), x.label));
  const out = xs.map(() => ({ phases: [] }));
  try {
    const readies = await Promise.all(ps.map((p) => p.line(180000, 'ready line')));
    readies.forEach((r, i) => { out[i].ready = r; });
    for (const [i, ph] of phases.entries()) {
      if (ph.burst) ps.forEach((p) => p.signal('SIGSTOP'));
      const rate = await send(ctx, channel, i, ph.count, ph.size, ph.rate);
      if (ph.burst) {
        // Time for the server to write the burst into the stopped sockets.
        await new Promise((r) => setTimeout(r, 500));
        ps.forEach((p) => p.signal('SIGCONT'));
      }
      for (const [j, p] of ps.entries()) {
        let l = await p.line(600000, `phase ${i} line`);
        if (l.held !== undefined) {
          out[j].held = l;
          l = await p.line(600000, `phase ${i} line`);
        }
        if (l.phase !== i || l.received !== ph.count) throw new Error(`${xs[j].label}: unexpected ${JSON.stringify(l)}`);
        l.sent_per_s = rate;
        out[j].phases.push(l);
      }
    }
    for (const [j, p] of ps.entries()) {
      out[j].done = await p.line(120000, 'done line');
      const code = await p.exited;
      if (code !== 0 || out[j].done.stray !== 0 || out[j].done.failed) throw new Error(`${xs[j].label}: exit ${code}, ${JSON.stringify(out[j].done)}: ${p.stderr().trim()}`);
    }
    return out;
  } finally {
    ps.forEach((p) => { p.signal('SIGCONT'); p.kill(); });
  }
}

// The REST client x through its phases of calls.
async function restRun(ctx, x, phases, wrap) {
  const p = program(command(ctx, x, { phases: phases.map((count) => ({ count })) }, wrap), x.label);
  try {
    if (x.curl) {
      const r = await p.line(600000, 'result');
      if (r.exit !== 0) throw new Error(`curl exited ${r.exit}: ${p.stderr().trim()}`);
      return r;
    }
    const out = { ready: await p.line(60000, 'ready line'), phases: [] };
    for (let i = 0; i < phases.length; i++) out.phases.push(await p.line(600000, `phase ${i}`));
    out.done = await p.line(60000, 'done line');
    const code = await p.exited;
    if (code !== 0 || out.done.failed) throw new Error(`${x.label}: exit ${code}: ${p.stderr().trim()}`);
    return out;
  } finally {
    p.kill();
  }
}

const PHASES = () => [
  { name: 'warm', count: N.warm, size: PAYLOAD.small },
  { name: 'small', count: N.small, size: PAYLOAD.small },
  { name: 'big', count: N.big, size: PAYLOAD.big },
  { name: 'held', count: N.held, size: PAYLOAD.small, hold: true },
  { name: 'burst', count: N.burst, size: PAYLOAD.small, burst: true },
];

async function round(ctx, r) {
  const flip = (xs) => (r % 2 ? [...xs].reverse() : xs);
  const res = {};
  const put = (key, o) => { res[key] = Object.assign(res[key] || {}, o); };
  const receivers = flip(CLIENTS.filter((x) => x.kind === 'receiver'));
  const parts = [
    async () => {
      if (!receivers.length) return;
      const phases = PHASES();
      const outs = await together(ctx, receivers, `bench-${r}`, phases, () => WRAP);
      outs.forEach((o, i) => {
        const [, small, big, held, burst] = o.phases;
        const f = (l) => ({ per_op_us: l.per_op_us, per_op_user_us: l.per_op_user_us, allocs_per_op: l.allocs_per_op, sent_per_s: l.sent_per_s });
        put(receivers[i].key, {
          small: f(small), big: f(big),
          held: o.held ? { heap_per_queued: o.held.heap_per_queued, take_per_s: (N.held - 1) / (held.first_to_last_us / 1e6) } : undefined,
          drain_per_s: (N.burst - 1) / (burst.first_to_last_us / 1e6),
          peak_rss_kb: o.done.peak_rss_kb,
        });
      });
    },
    async () => {
      // Several starts each, alternating: which of libc's pages a start
      // finds mapped varies by tens of KB from one process to the next.
      const xs = CLIENTS.filter((c) => c.kind === 'receiver' && !c.together);
      const starts = {};
      for (let k = 0; k < N.starts; k++) {
        for (const x of k % 2 ? [...xs].reverse() : xs) {
          const p = program(command(ctx, x, { channel: `bench-${r}-${x.key}`, phases: [] }, WRAP), x.label);
          try {
            const ready = await p.line(60000, 'ready line');
            const done = await p.line(60000, 'done line');
            if (await p.exited !== 0 || done.stray) throw new Error(`${x.label}: ${JSON.stringify(done)}: ${p.stderr().trim()}`);
            (starts[x.key] = starts[x.key] || []).push({ ms: ready._ms, cpu_us: ready.cpu_online_us, rss_kb: ready.rss_kb, heap: ready.heap, malloc: ready.malloc });
          } finally {
            p.kill();
          }
        }
      }
      for (const x of xs) put(x.key, { online: medians(starts[x.key]) });
    },
    async () => {
      // Together, so that the server's and the sender's pauses, which make
      // the tail, fall on every receiver alike.
      const xs = flip(CLIENTS.filter((c) => c.kind === 'receiver' && !c.together));
      if (!xs.length) return;
      const phases = [{ count: N.latWarm, size: PAYLOAD.small, rate: N.rate }, { count: N.latency, size: PAYLOAD.small, rate: N.rate }];
      const outs = await together(ctx, xs, `bench-${r}-latency`, phases, () => WRAP);
      outs.forEach((o, i) => {
        const l = o.phases[1];
        put(xs[i].key, { latency: { p50_us: l.p50_us, p99_us: l.p99_us, sent_per_s: l.sent_per_s } });
      });
    },
    async () => {
      for (const x of CLIENTS.filter((c) => c.kind === 'footprint')) {
        const p = program(command(ctx, x, { channel: `bench-${r}-${x.key}`, channels: N.listeners, phases: [] }, WRAP), x.label);
        try {
          const ready = await p.line(120000, 'ready line');
          await p.line(60000, 'done line');
          put(x.key, { footprint: { heap_online: ready.heap_listening, heap_per_listener: ready.heap_per_listener, rss_per_listener_kb: ready.rss_per_listener_kb } });
        } finally {
          p.kill();
        }
      }
    },
    async () => {
      for (const x of flip(CLIENTS.filter((c) => c.kind === 'rest'))) {
        if (x.curl) {
          // Two runs whose difference leaves out start-up.
          const a = await restRun(ctx, x, [N.restWarm], []);
          const b = await restRun(ctx, x, [N.restWarm + N.calls], []);
          const cpu = (o) => o.user_us + o.sys_us;
          put(x.key, { rest: { per_op_us: (cpu(b) - cpu(a)) / N.calls, per_op_user_us: (b.user_us - a.user_us) / N.calls, peak_rss_kb: b.maxrss_kb } });
          continue;
        }
        const o = await restRun(ctx, x, [N.restWarm, N.calls], WRAP);
        const l = o.phases[1];
        put(x.key, { rest: { per_op_us: l.per_op_us, per_op_user_us: l.per_op_user_us, allocs_per_op: l.allocs_per_op, p50_us: l.p50_us, p99_us: l.p99_us, rss_kb: l.rss_kb, heap: l.heap } });
      }
    },
  ];
  for (const part of flip(parts)) await part();
  return res;
}

// Instructions per operation of the C programs and curl under callgrind:
// three runs, the second with more 65 B broadcasts (and REST calls), the
// third with 4 KB ones added; differences over the counts' differences.
async function instructions(ctx) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-bench-cg-'));
  const cg = (tag) => (x) => (isC(x) ? ['valgrind', '--tool=callgrind', `--callgrind-out-file=${path.join(dir, `${x.key}.${tag}`)}`] : []);
  const total = (key, tag) => Number(/^(?:summary|totals): (\d+)/m.exec(fs.readFileSync(path.join(dir, `${key}.${tag}`), 'utf8'))[1]);
  const rx = CLIENTS.filter((x) => x.kind === 'receiver' && isC(x));
  const rest = CLIENTS.filter((x) => x.kind === 'rest' && isC(x));
  const S = [1000, 3000];
  const B = 1000;
  const C = [200, 600];
  const out = {};
  try {
    const runs = [[S[0]], [S[1]], [S[0], B]];
    for (const [i, counts] of runs.entries()) {
      if (!rx.length) break;
      const phases = [{ count: 200, size: PAYLOAD.small }, { count: counts[0], size: PAYLOAD.small }];
      if (counts[1]) phases.push({ count: counts[1], size: PAYLOAD.big });
      await together(ctx, rx, `bench-cg-${i}`, phases, cg(i));
    }
    for (const x of rx) {
      out[x.key] = { small: (total(x.key, 1) - total(x.key, 0)) / (S[1] - S[0]), big: (total(x.key, 2) - total(x.key, 0)) / B };
    }
    for (const x of rest) {
      for (const [i, c] of C.entries()) await restRun(ctx, x, x.curl ? [50 + c] : [50, c], cg(`r${i}`)(x));
      out[x.key] = { rest: (total(x.key, 'r1') - total(x.key, 'r0')) / (C[1] - C[0]) };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// The median over rounds of every numeric leaf.
function medians(objs) {
  const first = objs.find((o) => o !== undefined);
  if (typeof first === 'number') return median(objs);
  if (first === null || typeof first !== 'object') return first;
  const out = {};
  for (const k of Object.keys(first)) out[k] = medians(objs.map((o) => (o ? o[k] : undefined)));
  return out;
}

const get = (o, p) => p.split('.').reduce((a, k) => (a == null ? undefined : a[k]), o);

// name: [numerator key, denominator key, field]; per-round medians.
const RATIOS = {
  'receive 65 B CPU, C callback / bare': ['c1', 'bare', 'small.per_op_us'],
  'receive 65 B CPU, C queue / bare': ['c1q', 'bare', 'small.per_op_us'],
  'receive 65 B CPU, JS / bare': ['js1', 'bare', 'small.per_op_us'],
  'receive 4 KB CPU, C callback / bare': ['c1', 'bare', 'big.per_op_us'],
  'receive 4 KB CPU, C queue / bare': ['c1q', 'bare', 'big.per_op_us'],
  'receive 4 KB CPU, JS / bare': ['js1', 'bare', 'big.per_op_us'],
  'dispatch CPU, C 100 / C 1 listener': ['c100', 'c1', 'small.per_op_us'],
  'dispatch CPU, C many / C 1 listener': ['cScale', 'c1', 'small.per_op_us'],
  'latency p99, C callback / bare': ['c1', 'bare', 'latency.p99_us'],
  'latency p99, C queue / bare': ['c1q', 'bare', 'latency.p99_us'],
  'latency p99, JS / bare': ['js1', 'bare', 'latency.p99_us'],
  'RSS online, C callback / bare': ['c1', 'bare', 'online.rss_kb'],
  'RSS online, C queue / bare': ['c1q', 'bare', 'online.rss_kb'],
  'RSS online, JS / bare': ['js1', 'bare', 'online.rss_kb'],
  'heap online, C callback / bare': ['c1', 'bare', 'online.heap'],
  'heap online, C queue / bare': ['c1q', 'bare', 'online.heap'],
  'start -> online, JS / C': ['js1', 'c1', 'online.cpu_us'],
  'REST CPU, C wait / bare': ['restWait', 'restBare', 'rest.per_op_us'],
  'REST CPU, C async / bare': ['restAsync', 'restBare', 'rest.per_op_us'],
  'REST CPU, curl / bare': ['curl', 'restBare', 'rest.per_op_us'],
  'REST CPU, JS / bare': ['restJs', 'restBare', 'rest.per_op_us'],
};
const IR_RATIOS = {
  'instructions 65 B, C callback / bare': ['c1', 'bare', 'small'],
  'instructions 65 B, C queue / bare': ['c1q', 'bare', 'small'],
  'instructions 4 KB, C callback / bare': ['c1', 'bare', 'big'],
  'instructions 4 KB, C queue / bare': ['c1q', 'bare', 'big'],
  'instructions, C 100 / C 1 listener': ['c100', 'c1', 'small'],
  'instructions, C many / C 1 listener': ['cScale', 'c1', 'small'],
  'REST instructions, C wait / bare': ['restWait', 'restBare', 'rest'],
  'REST instructions, C async / bare': ['restAsync', 'restBare', 'rest'],
  'REST instructions, curl / bare': ['curl', 'restBare', 'rest'],
};

function ratio(o, [a, b, f]) {
  const x = get(o[a], f);
  const y = get(o[b], f);
  return typeof x === 'number' && typeof y === 'number' && y > 0 ? x / y : undefined;
}

function commit() {
  const r = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'lib', 'include'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '') : 'unknown';
}

async function main() {
  const srv = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-bench-'));
  const guard = setTimeout(() => {
    console.error('benchmark run took too long');
    srv.proc.kill('SIGKILL');
    process.exit(1);
  }, 3 * 3600 * 1000);
  try {
    const ctx = { origin: srv.origin, dir, token: (await loginUser(srv.origin)).token, deviceToken: await deviceToken(srv.origin) };
    const load = os.loadavg();
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      rounds.push(await round(ctx, r));
      console.log(`round ${r + 1}/${ROUNDS} done`);
    }
    const ir = CALLGRIND ? await instructions(ctx) : null;
    const keys = CLIENTS.map((x) => x.key);
    const results = {};
    for (const x of CLIENTS) results[x.key] = Object.assign({ label: x.label }, medians(rounds.map((o) => o[x.key])), ir && ir[x.key] ? { instructions: ir[x.key] } : {});
    const ratios = {};
    for (const [name, spec] of Object.entries(RATIOS)) {
      const v = median(rounds.map((o) => ratio(o, spec)));
      if (v !== undefined) ratios[name] = v;
    }
    for (const [name, [a, b, f]] of Object.entries(IR_RATIOS)) {
      const v = ir ? ratio({ [a]: ir[a], [b]: ir[b] }, [a, b, f]) : undefined;
      if (v !== undefined) ratios[name] = v;
    }
    const json = {
      commit: commit(), date: new Date().toISOString(), host: { cpus: os.cpus().length, loadavg_at_start: load, loadavg_at_end: os.loadavg() },
      rounds: ROUNDS, counts: N, payload_bytes: PAYLOAD, keys, results, ratios, per_round: rounds,
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, `${JSON.stringify(json, null, 1)}\n`);
    console.log(writeReport(OUT, { readme: OUT === path.join(__dirname, 'results', 'latest.json') }));
    console.log(`BENCH_JSON ${JSON.stringify(json)}`);
  } finally {
    clearTimeout(guard);
    fs.rmSync(dir, { recursive: true, force: true });
    await srv.stop();
  }
}

main().catch((e) => { console.error(e.stack || String(e)); process.exitCode = 1; });
