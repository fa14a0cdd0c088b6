// consumer.js SOURCE_ROOT MESON NINJA: builds test/pkg/consumer in a
// temporary directory with the SDK as a subproject (a wrap naming a git clone
// of SOURCE_ROOT: what is committed there, as a user's wrap would see it), and
// runs it against the reference server.  Also checks that the subproject
// brings only the library: no tests, samples, benchmarks or node.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { createExpServer } = require('../server/server');

const [source, meson, ninja] = process.argv.slice(2);

// Asynchronous, so the in-process server keeps answering meanwhile.
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${out}`));
    });
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'expsdk-consumer-'));
  const exp = createExpServer({ port: 0, host: '127.0.0.1' });
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

    const origin = await exp.listen();
    const out = await run(path.join(dir, 'build', 'consumer'), [],
      { env: { ...process.env, EXP_HOST: origin } });
    process.stdout.write(out);
    if (!/^consumer logged in as test@goexp\.io$/m.test(out))
      throw new Error('the consumer did not say it logged in');
  } finally {
    await exp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e.message);
  process.exit(1);
});
