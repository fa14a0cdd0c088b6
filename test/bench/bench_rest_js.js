'use strict';
// The official JS SDK's client-side cost per REST call, as bench_rest.c:
//   node bench_rest_js.js CONFIG_JSON
// Configuration: host, uuid, secret, phases.  Sequential exp.get calls.

const { EXP, Run, ready, done, online } = require('./bench_js_util');

async function main() {
  const config = JSON.parse(process.argv[2]);
  const run = new Run(config);
  const exp = EXP.start({ host: config.host, uuid: config.uuid, secret: config.secret });
  await online(exp, 10000);
  ready();
  run.start();
  for (let over = false; !over;) {
    const t = Number(process.hrtime.bigint());
    const doc = await exp.get(`/api/devices/${config.uuid}`);
    over = run.op(run.phase, typeof doc.index === 'number' ? 1 : 0, t);
  }
  EXP.stop();
  done(run, false);
}

main().catch((e) => { console.error(e); process.exit(1); });
