'use strict';
// The official JS SDK's client-side cost per REST call, as bench_rest.c:
//   node bench_rest_js.js HOST UUID SECRET WARMUP COUNT

const { EXP, cpuUs, online, printResult } = require('./bench_js_util');

async function main() {
  const [host, uuid, secret] = process.argv.slice(2, 5);
  const [warmup, count] = process.argv.slice(5, 7).map(Number);
  const r = { received: 0, checksum: 0, measured: count, start: cpuUs(), end: cpuUs() };
  const exp = EXP.start({ host, uuid, secret });
  await online(exp, 10000);
  for (let i = 0; i < warmup + count; i++) {
    const doc = await exp.get(`/api/devices/${uuid}`);
    if (typeof doc.index === 'number') r.checksum += doc.index;
    if (++r.received === warmup) r.start = cpuUs();
  }
  r.end = cpuUs();
  printResult('js', r);
  EXP.stop();
}

main().catch((e) => { console.error(e); process.exit(1); });
