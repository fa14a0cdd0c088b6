// run.js BIN_DIR NAME: runs sample NAME (built in BIN_DIR) against a fresh
// reference server, as samples/README.md describes it, and checks that it
// exits 0 having printed what it promises.  Samples that wait for someone
// (a listener, a responder, a device waiting to be paired) get that someone:
// another sample, or the same one in its other role.
// run.js BIN_DIR --all SAMPLES_SOURCE_DIR: every samples/*.c is built and
// has an entry here.
//
// Only the samples' command lines and output are known here, never their
// source: a sample rewritten to say the same in other words needs its
// patterns below adjusted, nothing else.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { startServer } = require('../pkg/util');

// Each entry: the processes of one run, in order.  A process with `ready`
// is started and waited for until its output matches, then the next one
// starts (its `args` may be made from that match); every process must end
// by itself, exit 0 and print each of `expect`.
const SAMPLES = {
  showcase: [{ expect: [/^1\. Logged in/m, /^2\. REST call/m, /heard "hello"/, /collected 1 response/, /Stopped the SDK/] }],
  start_user: [{ expect: [/^logged in as test@goexp\.io in organization scala$/m] }],
  start_device: [{ expect: [/^logged in as device test-uuid in organization scala$/m] }],
  start_consumer: [{ expect: [/^logged in as consumer app test-uuid in organization scala$/m] }],
  rest: [{ expect: [/"uuid":\s*"test-uuid"/, /^after delete: not found/m] }],
  devices: [{ expect: [/^created [0-9a-f-]{36}$/m, /^saved: /m, /^deleted: get says EXP_ENOTFOUND$/m] }],
  data: [{ expect: [/^set samples\/greeting = /m, /^saved samples\/greeting = .*"count":2/m, /^deleted$/m] }],
  content: [{ expect: [/^scala \(scala:content:folder\)$/m, /\/api\/delivery\/scala\/folder\/file%20name\.png\?/, /variant 320\.png: http/] }],
  feeds: [{ expect: [/^Static Feed \(static\):$/m, /"title":\s*"First item"/, /^Dynamic Feed \(dynamic\):$/m] }],
  events: [{ args: ['2'], expect: [/^online$/m] }],
  loop_app: [{ expect: [/^tick 1$/m, /^started$/m, /^device test-uuid is called "Test Device"$/m] }],
  listen_loop: [{ expect: [/^listener: heard tick 5$/m, /the tick got 1 answer/] }],
  pairing: [
    { ready: /^pairing code: (\S+)$/m, expect: [/^paired: uuid [0-9a-f-]{36}, secret [0-9a-f]{32}$/m] },
    { args: (m) => [m[1]], expect: [/^paired \S+ as device [0-9a-f-]{36}$/m] },
  ],
  listen: [
    { args: ['samples', 'hello', '1'], ready: /^listening for "hello"/m, expect: [/^hello: \{"text":"hi"\}$/m] },
    { sample: 'broadcast', args: ['samples', 'hello'], expect: [/^"hello" on channel "samples": 0 response/m] },
  ],
  respond: [
    { args: ['samples', '1'], ready: /^answering "hello"/m, expect: [/^answered broadcast /m] },
    { sample: 'broadcast', args: ['samples', 'hello'], expect: [/: 1 response\(s\)/, /"text":"hello back"/] },
  ],
  broadcast: [
    { sample: 'respond', args: ['samples', '1'], ready: /^answering "hello"/m, expect: [] },
    { args: ['samples', 'hello', '{"n":1}'], expect: [/^"hello" on channel "samples": 1 response\(s\)$/m] },
  ],
};

// A sample running: resolves `done` with its exit and output; `ready`
// resolves with the match once its output has matched re.
function start(bin, args, env, re) {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { out: '', err: '', child };
  let onReady;
  p.ready = new Promise((resolve) => { onReady = resolve; });
  child.stdout.on('data', (d) => {
    p.out += d;
    const m = re && re.exec(p.out);
    if (m) onReady(m);
  });
  child.stderr.on('data', (d) => { p.err += d; });
  p.done = new Promise((resolve) => {
    child.on('error', (e) => resolve({ code: -1, signal: null, error: e }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return p;
}

async function runSample(dir, name) {
  const server = await startServer();
  const env = { ...process.env, EXP_HOST: server.origin };
  const procs = [];
  // Bounds a run that hangs (the guide: never assert timing, but end).
  const guard = setTimeout(() => {
    console.log('a sample did not finish within 120 s');
    for (const p of procs) p.child.kill('SIGKILL');
  }, 120000);
  let ok = true;
  try {
    let match = null;
    for (const step of SAMPLES[name]) {
      const args = typeof step.args === 'function' ? step.args(match) : step.args || [];
      const p = start(path.join(dir, step.sample || name), args, env, step.ready);
      p.step = step;
      p.args = args;
      procs.push(p);
      if (step.ready) {
        match = await Promise.race([p.ready, p.done.then(() => null)]);
        if (!match) {
          console.log(`${step.sample || name} ended before printing ${step.ready}`);
          ok = false;
          break;
        }
      }
    }
    for (const p of procs) {
      const r = await p.done;
      const label = `${p.step.sample || name} ${p.args.join(' ')}`.trim();
      console.log(`$ ${label}\n${p.out}${p.err ? `[stderr]\n${p.err}` : ''}[exit ${r.code}${r.signal ? `, ${r.signal}` : ''}]`);
      if (r.code !== 0) ok = false;
      for (const re of p.step.expect) {
        if (!re.test(p.out)) {
          console.log(`${label}: no output matching ${re}`);
          ok = false;
        }
      }
    }
  } finally {
    clearTimeout(guard);
    for (const p of procs) p.child.kill('SIGKILL');
    await server.stop();
  }
  return ok;
}

function checkAll(dir, sourceDir) {
  let ok = true;
  for (const f of fs.readdirSync(sourceDir).filter((n) => n.endsWith('.c')).sort()) {
    const name = f.slice(0, -2);
    if (!SAMPLES[name]) { console.log(`samples/${f} has no entry in test/samples/run.js`); ok = false; }
    if (!fs.existsSync(path.join(dir, name))) { console.log(`samples/${f} is not built (samples/meson.build)`); ok = false; }
  }
  console.log(`${Object.keys(SAMPLES).length} samples known`);
  return ok;
}

const [dir, name, sourceDir] = process.argv.slice(2);
(name === '--all' ? Promise.resolve(checkAll(dir, sourceDir)) : runSample(dir, name))
  .then((ok) => process.exit(ok ? 0 : 1), (e) => {
    console.error(e.stack || e.message);
    process.exit(1);
  });
