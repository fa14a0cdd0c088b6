'use strict';
// What the JS benchmark programs measure and print: bench_util.h's twin
// (the same configuration argument and JSON lines).

const fs = require('node:fs');
const path = require('node:path');

// The repository's node_modules, whatever the working directory.
const EXP = require(path.join(__dirname, '..', '..', 'node_modules', 'exp-sdk'));

function cpuUs() {
  const c = process.cpuUsage();
  return { user: c.user, sys: c.system };
}

function statusKb(field) {
  const m = new RegExp(`^${field}\\s*(\\d+)`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

// heap: V8's heap in use plus memory held outside it (buffers); malloc is
// not known from JavaScript.
function memory() {
  const m = process.memoryUsage();
  return { rss_kb: statusKb('VmRSS:'), peak_rss_kb: statusKb('VmHWM:'), heap: m.heapUsed + m.external, malloc: -1 };
}

function print(o) {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

// A receiver's or client's progress through its phases, as bench_run.
class Run {
  constructor(config) {
    this.phases = config.phases || [];
    this.phase = 0;
    this.got = 0;
    this.stray = 0;
    this.checksum = 0;
    this.latency = [];
  }

  start() {
    this.mark = cpuUs();
  }

  // Counts an operation of phase p started at t (process.hrtime's ns);
  // true once the last phase ended.
  op(p, n, t) {
    const now = Number(process.hrtime.bigint());
    if (this.phase >= this.phases.length || p !== this.phase) {
      this.stray++;
      return false;
    }
    this.checksum += n;
    if (this.got === 0) this.first = now;
    this.last = now;
    this.latency.push((now - t) / 1e3);
    if (++this.got === this.phases[this.phase].count) this.end();
    return this.phase === this.phases.length;
  }

  // A broadcast's payload {p, n, t, ...}.
  got_(payload) {
    if (!payload || typeof payload.p !== 'number' || typeof payload.t !== 'number') {
      this.stray++;
      return false;
    }
    return this.op(payload.p, typeof payload.n === 'number' ? payload.n : 0, payload.t);
  }

  end() {
    const now = cpuUs();
    const n = this.phases[this.phase].count;
    const user = now.user - this.mark.user;
    const cpu = user + now.sys - this.mark.sys;
    const l = this.latency.sort((a, b) => a - b);
    const q = (x) => l[Math.max(0, Math.ceil(x * n) - 1)];
    print(Object.assign({
      phase: this.phase, received: n, per_op_us: cpu / n, per_op_user_us: user / n, allocs_per_op: -1,
      first_to_last_us: (this.last - this.first) / 1e3, p50_us: q(0.5), p99_us: q(0.99),
    }, memory()));
    this.phase++;
    this.got = 0;
    this.latency = [];
    this.mark = cpuUs();
  }
}

function ready(extra = {}) {
  const c = cpuUs();
  print(Object.assign({ ready: true, cpu_online_us: c.user + c.sys }, extra, memory()));
}

function done(run, failed) {
  print(Object.assign({ done: true, failed: failed ? 1 : 0, stray: run.stray, checksum: run.checksum }, memory()));
}

// Resolves once the SDK is online (the socket connected).
function online(exp, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not online in time')), timeoutMs);
    const l = exp.on('online', () => { clearTimeout(timer); l.cancel(); resolve(); });
  });
}

module.exports = { EXP, Run, ready, done, online };
