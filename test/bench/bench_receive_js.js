'use strict';
// The official JS SDK's cost per received broadcast, as bench_receive.c:
//   node bench_receive_js.js HOST UUID SECRET CHANNEL EVENT WARMUP TOTAL EXTRA TIMEOUT_MS

const { EXP, cpuUs, online, printResult } = require('./bench_js_util');

async function main() {
  const [host, uuid, secret, channel, event] = process.argv.slice(2, 7);
  const [warmup, total, extra, timeoutMs] = process.argv.slice(7, 11).map(Number);
  const r = { received: 0, stray: 0, checksum: 0, measured: total - warmup, start: cpuUs(), end: cpuUs() };
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const timer = setTimeout(() => {
    console.error(`timed out after ${r.received} broadcasts`);
    finish();
  }, timeoutMs);

  const exp = EXP.start({ host, uuid, secret });
  await online(exp, 10000);
  const ch = exp.getChannel(channel);
  const listeners = [];
  for (let i = 0; i < extra; i++) listeners.push(await ch.listen(`other-${i}`, () => { r.stray++; }));
  listeners.push(await ch.listen(event, (payload) => {
    // Reading the payload, as the C listener and the bare loop do.
    if (payload && typeof payload.n === 'number') r.checksum += payload.n;
    if (++r.received === warmup) r.start = cpuUs();
    if (r.received === total) {
      r.end = cpuUs();
      finish();
    }
  }));
  console.log(JSON.stringify({ ready: channel }));
  await done;
  clearTimeout(timer);
  printResult('js', r);
  for (const l of listeners) l.cancel();
  EXP.stop();
  process.exitCode = r.received === total && r.stray === 0 ? 0 : 1;
}

main().catch((e) => { console.error(e); process.exit(1); });
