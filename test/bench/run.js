'use strict';
// Benchmarks, side by side in one run against one reference server: the CPU
// a receiver spends per broadcast (the C SDK with 1 and with 100 listeners,
// a bare libuv + wslay + cJSON loop, the official JS SDK) and per REST call
// (the C SDK blocking and async, the JS SDK), and their resident sets.
//
//   node test/bench/run.js [BUILD_DIR]      (or EXP_BUILD_DIR; meson sets it)
//
// The receivers listen together on one channel and get the same broadcasts
// at the same moments; each measures its own CPU time (getrusage,
// process.cpuUsage) from its warm-up's end to its last broadcast.  The REST
// clients run one after the other.  Server and sender CPU is not counted.
//
// Environment:
//   EXP_BENCH_BROADCASTS  broadcasts measured (20000), after a warm-up of 10%
//   EXP_BENCH_CALLS       REST calls measured (2000), after 10%
//   EXP_BENCH_ROUNDS      rounds (1); with more, each figure is the median
//   EXP_BENCH_APART=1     each receiver alone on its own channel instead
//   EXP_BENCH_ONLY        keys to run, comma-separated (bare,c1,c100,js1,
//                         js100,restWait,restAsync,restJs)
//   EXP_BENCH_CALLGRIND   1 (the default when valgrind is installed) also
//                         counts the C programs' instructions per operation
//                         under callgrind, run at two counts so that
//                         start-up cancels out: user-space work only, but
//                         deterministic where CPU time is noisy (a VM
//                         without steal accounting charges preemption to
//                         whoever runs); 0 skips it (about 25 s)
//   EXP_BENCH_WRAP        a command put before the C programs, e.g.
//                         "perf record -g -o /tmp/p.data" (figures then
//                         not comparable)
//
// Prints a table, the ratios, and one line "BENCH_JSON {...}".  Fails when a
// program fails or a count is off; timing itself is never a failure.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { startServer, loginUser, channelId, DEVICE } = require('../interop/helpers');

const BUILD = process.argv[2] || process.env.EXP_BUILD_DIR || path.join(__dirname, '..', '..', 'build');
const BIN = path.join(path.resolve(BUILD), 'test', 'bench');
const ENV = process.env;
const ROUNDS = Number(ENV.EXP_BENCH_ROUNDS || 1);
const APART = ENV.EXP_BENCH_APART === '1';
const ONLY = ENV.EXP_BENCH_ONLY ? ENV.EXP_BENCH_ONLY.split(',') : null;
const CALLGRIND = ENV.EXP_BENCH_CALLGRIND !== undefined ? ENV.EXP_BENCH_CALLGRIND === '1'
  : spawnSync('valgrind', ['--version']).status === 0;
const WRAP = ENV.EXP_BENCH_WRAP ? ENV.EXP_BENCH_WRAP.split(' ').filter(Boolean) : [];
const EVENT = 'tick';
// Broadcasts in flight: enough to keep the server busy, few enough that it
// keeps up.
const CONCURRENCY = 8;

// Counts of one measurement; warm-up (connection set-up, JIT, allocator) is
// left out of the figures.
function counts(broadcasts, calls) {
  return {
    broadcasts,
    warmup: Math.max(1, Math.min(1000, Math.floor(broadcasts / 10))),
    calls,
    restWarmup: Math.max(1, Math.min(200, Math.floor(calls / 10))),
  };
}

// Spawns a benchmark program; `line()` resolves with its next stdout line.
function program(cmd, args) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const name = path.basename(args.find((a) => a.includes('bench_')) || cmd);
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: proc.stdout }).on('line', (l) => {
    if (waiters.length) waiters.shift().resolve(l); else lines.push(l);
  });
  const exited = new Promise((resolve) => proc.once('close', (code, signal) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal}): ${stderr.trim()}`));
    resolve(code ?? signal);
  }));
  function line(timeoutMs, what) {
    if (lines.length) return Promise.resolve(lines.shift());
    if (proc.exitCode !== null || proc.signalCode !== null) {
      return Promise.reject(new Error(`${name} exited before its ${what}: ${stderr.trim()}`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no ${what} within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
      waiters.push({
        resolve: (l) => { clearTimeout(timer); resolve(l); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
  }
  function kill() { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); }
  return { line, exited, kill, stderr: () => stderr };
}

// Posts count broadcasts of EVENT on channel, CONCURRENCY at a time over
// kept-alive connections; resolves with the broadcasts per second.  Stops
// early, rejecting, once failed() returns an error.
async function sendBroadcasts(origin, token, channel, count, failed) {
  const url = new URL('/api/networks/current/broadcasts?timeout=0', origin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (n) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ name: EVENT, channel: { name: channel }, payload: { n, kind: 'bench', value: 3.5, ok: true } });
    const req = http.request(url, {
      method: 'POST', agent,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`broadcast answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  const start = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const err = failed();
      if (err) throw err;
      await post(next++);
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    agent.destroy();
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

// Runs receivers on one channel: waits until each listens, sends warm-up +
// measured broadcasts, and reads each one's result.
async function receive(srv, token, n, specs, channel) {
  const total = n.warmup + n.broadcasts;
  const ps = specs.map((x) => program(x.cmd[0], [...x.cmd.slice(1), ...x.args(channel)]));
  try {
    await Promise.all(ps.map((p) => p.line(60000, 'ready line')));
    // A receiver exits with 0 only once it got everything.
    let failure = null;
    ps.forEach((p, i) => p.exited.then((code) => {
      if (code !== 0 && !failure) failure = new Error(`${specs[i].label} exited (${code}) while broadcasts were sent: ${p.stderr().trim()}`);
    }));
    const rate = await sendBroadcasts(srv.origin, token, channel, total, () => failure);
    const results = {};
    for (const [i, p] of ps.entries()) {
      // Each receiver stops at the last broadcast and then exits.
      const result = JSON.parse(await p.line(120000, 'result'));
      const code = await p.exited;
      if (code !== 0 || result.received !== total || result.stray !== 0) {
        throw new Error(`${specs[i].label}: received ${result.received}/${total}, stray ${result.stray}, exit ${code}: ${p.stderr().trim()}`);
      }
      results[specs[i].key] = Object.assign(result, { label: specs[i].label, rate });
    }
    return results;
  } finally {
    for (const p of ps) p.kill();
  }
}

async function rest(n, x) {
  const p = program(x.cmd[0], [...x.cmd.slice(1), ...x.args]);
  try {
    const result = JSON.parse(await p.line(300000, 'result'));
    const code = await p.exited;
    if (code !== 0 || result.received !== n.restWarmup + n.calls) {
      throw new Error(`${x.label}: ${result.received}/${n.restWarmup + n.calls} calls, exit ${code}: ${p.stderr().trim()}`);
    }
    return Object.assign(result, { label: x.label });
  } finally {
    p.kill();
  }
}

// What a round runs: receivers (args given the channel) and REST clients.
// wrap(key) is the command put before a C program.
function programs(srv, token, n, wrap) {
  const port = new URL(srv.origin).port;
  const total = String(n.warmup + n.broadcasts);
  const w = String(n.warmup);
  const c = (key, bin) => [...wrap(key), path.join(BIN, bin)];
  const js = (file) => [process.execPath, path.join(__dirname, file)];
  const recvArgs = (extra) => (ch) => [srv.origin, DEVICE.uuid, DEVICE.secret, ch, EVENT, w, total, String(extra), '300000'];
  const restArgs = [srv.origin, DEVICE.uuid, DEVICE.secret];
  const calls = [String(n.restWarmup), String(n.calls)];
  const only = (xs) => xs.filter((x) => !ONLY || ONLY.includes(x.key));
  return {
    receivers: only([
      { key: 'bare', label: 'bare loop', cmd: c('bare', 'bench_bare'), args: (ch) => [port, token, channelId('scala', ch, false, false), EVENT, w, total, '300000'] },
      { key: 'c1', label: 'C SDK, 1 listener', cmd: c('c1', 'bench_receive'), args: recvArgs(0) },
      { key: 'c100', label: 'C SDK, 100 listeners', cmd: c('c100', 'bench_receive'), args: recvArgs(99) },
      { key: 'js1', label: 'JS SDK, 1 listener', cmd: js('bench_receive_js.js'), args: recvArgs(0) },
      { key: 'js100', label: 'JS SDK, 100 listeners', cmd: js('bench_receive_js.js'), args: recvArgs(99) },
    ]),
    clients: only([
      { key: 'restWait', label: 'C SDK, exp_get_wait', cmd: c('restWait', 'bench_rest'), args: [...restArgs, 'wait', ...calls] },
      { key: 'restAsync', label: 'C SDK, exp_get chain', cmd: c('restAsync', 'bench_rest'), args: [...restArgs, 'async', ...calls] },
      { key: 'restJs', label: 'JS SDK, exp.get', cmd: js('bench_rest_js.js'), args: [...restArgs, ...calls] },
    ]),
  };
}

async function round(srv, token, n, tag, wrap = () => WRAP, keep = () => true) {
  const { receivers, clients } = programs(srv, token, n, wrap);
  const rs = receivers.filter((x) => keep(x.key));
  const results = {};
  if (APART) {
    for (const x of rs) Object.assign(results, await receive(srv, token, n, [x], `bench-${tag}-${x.key}`));
  } else if (rs.length) {
    Object.assign(results, await receive(srv, token, n, rs, `bench-${tag}`));
  }
  for (const x of clients.filter((c) => keep(c.key))) results[x.key] = await rest(n, x);
  return results;
}

// Instructions per operation of the C programs, from callgrind's totals at
// two counts.
async function instructions(srv, token) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-bench-'));
  const isC = (key) => !key.startsWith('js') && key !== 'restJs';
  const at = [counts(1000, 200), counts(3000, 600)];
  const totals = [];
  try {
    for (const [i, n] of at.entries()) {
      const wrap = (key) => ['valgrind', '--tool=callgrind', `--callgrind-out-file=${path.join(dir, `${key}.${i}`)}`];
      const done = await round(srv, token, n, `cg${i}`, wrap, isC);
      totals.push(Object.fromEntries(Object.keys(done).map((key) => {
        const m = /^(?:summary|totals): (\d+)/m.exec(fs.readFileSync(path.join(dir, `${key}.${i}`), 'utf8'));
        return [key, Number(m[1])];
      })));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const ops = (n, key) => (key.startsWith('rest') ? n.restWarmup + n.calls : n.warmup + n.broadcasts);
  return Object.fromEntries(Object.keys(totals[0]).map((key) => [key, (totals[1][key] - totals[0][key]) / (ops(at[1], key) - ops(at[0], key))]));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function report(n, rounds, ir) {
  const keys = Object.keys(rounds[0]);
  const agg = {};
  for (const k of keys) {
    const rs = rounds.map((x) => x[k]);
    const med = (f) => median(rs.map((x) => x[f]));
    agg[k] = {
      label: rs[0].label,
      per_op_us: med('per_op_us'),
      per_op_user_us: med('per_op_user_us'),
      rss_kb: med('rss_kb'),
      peak_rss_kb: med('peak_rss_kb'),
      measured: rs[0].measured,
      rate: rs[0].rate === undefined ? undefined : med('rate'),
      instructions: ir ? ir[k] : undefined,
    };
  }
  const mb = (kb) => (kb / 1024).toFixed(1);
  const head = ['', 'CPU µs/op', 'user µs/op', 'ops', 'RSS MB', 'peak RSS MB', 'sent/s'];
  if (ir) head.push('instr/op');
  const rows = [head];
  for (const k of keys) {
    const a = agg[k];
    const row = [a.label, a.per_op_us.toFixed(2), a.per_op_user_us.toFixed(2), String(a.measured),
      mb(a.rss_kb), mb(a.peak_rss_kb), a.rate ? a.rate.toFixed(0) : ''];
    if (ir) row.push(a.instructions ? a.instructions.toFixed(0) : '');
    rows.push(row);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(`\nper broadcast: ${n.broadcasts} after ${n.warmup} warm-up, receivers ${APART ? 'one at a time' : 'together'}; ` +
    `per REST call: ${n.calls} after ${n.restWarmup}; ${ROUNDS} round(s)${ROUNDS > 1 ? ', medians' : ''}; ` +
    'RSS when done, peak: VmHWM; user µs: tick-sampled, indicative only');
  console.log(fmt(rows[0]));
  for (const r of rows.slice(1)) console.log(fmt(r));

  const ratios = {};
  const ratio = (name, a, b, field = 'per_op_us') => {
    if (agg[a] && agg[b] && agg[a][field] && agg[b][field]) ratios[name] = agg[a][field] / agg[b][field];
  };
  ratio('C 1 listener / bare', 'c1', 'bare');
  ratio('C 100 listeners / bare', 'c100', 'bare');
  ratio('C 100 listeners / C 1 listener', 'c100', 'c1');
  ratio('C / JS, 1 listener', 'c1', 'js1');
  ratio('C / JS, 100 listeners', 'c100', 'js100');
  ratio('JS / bare', 'js1', 'bare');
  ratio('C peak RSS / bare peak RSS', 'c1', 'bare', 'peak_rss_kb');
  ratio('C peak RSS / JS peak RSS', 'c1', 'js1', 'peak_rss_kb');
  ratio('REST C wait / JS', 'restWait', 'restJs');
  ratio('REST C async / JS', 'restAsync', 'restJs');
  ratio('instr: C 1 listener / bare', 'c1', 'bare', 'instructions');
  ratio('instr: C 100 / C 1 listener', 'c100', 'c1', 'instructions');
  console.log('\nratios (CPU per op unless named)');
  for (const [k, v] of Object.entries(ratios)) console.log(`  ${k.padEnd(32)} ${v.toFixed(3)}`);
  const json = { broadcasts: n.broadcasts, warmup: n.warmup, calls: n.calls, rounds: ROUNDS, together: !APART, results: {}, ratios: {} };
  for (const k of keys) {
    json.results[k] = {
      per_op_us: +agg[k].per_op_us.toFixed(3),
      per_op_user_us: +agg[k].per_op_user_us.toFixed(3),
      rss_kb: agg[k].rss_kb,
      peak_rss_kb: agg[k].peak_rss_kb,
    };
    if (agg[k].instructions) json.results[k].instructions_per_op = Math.round(agg[k].instructions);
  }
  for (const [k, v] of Object.entries(ratios)) json.ratios[k] = +v.toFixed(4);
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
}

async function main() {
  const n = counts(Number(ENV.EXP_BENCH_BROADCASTS || 20000), Number(ENV.EXP_BENCH_CALLS || 2000));
  const srv = await startServer();
  // Bounds the whole run whatever hangs.
  const guard = setTimeout(() => {
    console.error('benchmark run took too long');
    srv.proc.kill('SIGKILL');
    process.exit(1);
  }, 900000);
  try {
    const { token } = await loginUser(srv.origin);
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      rounds.push(await round(srv, token, n, String(r)));
      console.log(`round ${r + 1}/${ROUNDS}: ${Object.entries(rounds[r]).map(([k, v]) => `${k} ${v.per_op_us.toFixed(1)}`).join(', ')} µs/op`);
    }
    report(n, rounds, CALLGRIND ? await instructions(srv, token) : null);
  } finally {
    clearTimeout(guard);
    await srv.stop();
  }
}

main().catch((e) => { console.error(e.stack || String(e)); process.exitCode = 1; });
