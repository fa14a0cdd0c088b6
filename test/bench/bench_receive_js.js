'use strict';
// The official JS SDK as a receiver, as bench_receive.c (callback mode):
//   node bench_receive_js.js CONFIG_JSON
// Configuration: host, uuid, secret, channel, event, extra, phases,
// timeout_ms.

const { EXP, Run, ready, done, online } = require('./bench_js_util');

async function main() {
  const config = JSON.parse(process.argv[2]);
  const run = new Run(config);
  let finish;
  const over = new Promise((resolve) => { finish = resolve; });
  const timer = setTimeout(() => {
    console.error(`timed out in phase ${run.phase} after ${run.got} broadcasts`);
    finish(true);
  }, config.timeout_ms);

  const exp = EXP.start({ host: config.host, uuid: config.uuid, secret: config.secret });
  await online(exp, 10000);
  const ch = exp.getChannel(config.channel);
  const listeners = [];
  for (let i = 0; i < (config.extra || 0); i++) listeners.push(await ch.listen(`other-${i}`, () => { run.stray++; }));
  listeners.push(await ch.listen(config.event, (payload) => {
    if (run.got_(payload)) finish(false);
  }));
  ready();
  run.start();
  const failed = run.phases.length === 0 ? false : await over;
  clearTimeout(timer);
  for (const l of listeners) l.cancel();
  EXP.stop();
  done(run, failed);
  process.exitCode = failed || run.stray !== 0 ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(1); });
