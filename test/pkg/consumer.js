// consumer.js SOURCE_ROOT MESON NINJA: builds test/pkg/consumer in a
// temporary directory with the SDK as a subproject (a wrap naming a git clone
// of SOURCE_ROOT: what is committed there, as a user's wrap would see it), and
// runs it against the reference server.  Also checks that the subproject
// brings only the library: no tests, samples, benchmarks or node.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { run, startServer } = require('./util');

const [source, meson, ninja] = process.argv.slice(2);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'expsdk-consumer-'));
  let server;
  try {
    for (const f of ['meson.build', 'consumer.c'])
      fs.copyFileSync(path.join(__dirname, 'consumer', f), path.join(dir, f));
    fs.mkdirSync(path.join(dir, 'subprojects'));
    fs.writeFileSync(path.join(dir, 'subprojects', 'expsdk.wrap'),
      `[wrap-git]\nurl = ${source}\nrevision = HEAD\ndepth = 1\n`);

    const setup = await run(meson, ['setup', 'build'], { cwd: dir });
    await run(ninja, ['-C', 'build'], { cwd: dir });
    // node is for the SDK's own tests; a project using it need not have it.
    if (/Program node\b/.test(setup)) throw new Error('the subproject looked for node');

    const intro = JSON.parse(await run(meson, ['introspect', '--tests', 'build'], { cwd: dir }));
    const targets = JSON.parse(await run(meson, ['introspect', '--targets', 'build'], { cwd: dir }));
    const names = targets.map((t) => t.name).sort();
    console.log(`subproject build: ${names.join(' ')}; ${intro.length} tests`);
    if (intro.length !== 0) throw new Error('the subproject added tests to the parent');
    if (!names.includes('consumer') || !names.includes('expsdk') || names.length > 5)
      throw new Error('the subproject built more than the library');

    server = await startServer();
    const origin = server.origin;
    const out = await run(path.join(dir, 'build', 'consumer'), [],
      { env: { ...process.env, EXP_HOST: origin } });
    process.stdout.write(out);
    if (!/^consumer logged in as test@goexp\.io$/m.test(out))
      throw new Error('the consumer did not say it logged in');
  } finally {
    if (server) await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e.message);
  process.exit(1);
});
