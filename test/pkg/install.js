// install.js BUILD_ROOT MESON CC: installs the build into a temporary
// DESTDIR and checks what a user gets: one stem (libexpsdk, expsdk.pc,
// include/expsdk/), the shared and the static library, and a program built
// with pkg-config's flags alone, linked either way, and by CMake through
// the README's pkg_check_modules lines, that runs against the reference
// server.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { run, startServer } = require('./util');

const [build, meson, cc] = process.argv.slice(2);

function files(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, base) : [path.relative(base, p)];
  });
}

async function main() {
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'expsdk-install-'));
  let server;
  try {
    await run(meson, ['install', '-C', build, '--no-rebuild', '--quiet', '--destdir', dest]);
    const installed = files(dest).sort();
    console.log(`installed:\n  ${installed.join('\n  ')}`);

    // Everything of the library's lives under the one stem.
    const lib = installed.filter((f) => /\/(include|lib)\//.test(f));
    const strays = lib.filter((f) => !/\/include\/expsdk\/[^/]+\.h$/.test(f) &&
      !/\/libexpsdk\.(a|so(\.\d+)*)$/.test(f) && !/\/pkgconfig\/expsdk\.pc$/.test(f));
    if (strays.length) throw new Error(`installed outside the stem: ${strays.join(' ')}`);
    const pc = installed.find((f) => f.endsWith('/pkgconfig/expsdk.pc'));
    const shared = installed.find((f) => f.endsWith('/libexpsdk.so'));
    const archive = installed.find((f) => f.endsWith('/libexpsdk.a'));
    if (!pc || !shared || !archive || !installed.some((f) => f.endsWith('/include/expsdk/exp.h')))
      throw new Error('expsdk.pc, libexpsdk.so, libexpsdk.a or include/expsdk/exp.h missing');

    // While 0.x the soname carries the minor version.
    const [major, minor] = JSON.parse(await run(meson, ['introspect', '--projectinfo', build]))
      .version.split('.');
    const soname = `libexpsdk.so.${major === '0' ? `0.${minor}` : major}`;
    const dynamic = await run('objdump', ['-p', path.join(dest, shared)]);
    if (!new RegExp(`SONAME\\s+${soname.replace(/\./g, '\\.')}\n`).test(dynamic))
      throw new Error(`soname is not ${soname}`);
    console.log(`soname ${soname}`);

    // The prefix moved under DESTDIR (libuv's and cJSON's, redefined too,
    // are in the compiler's default paths anyway).
    const prefix = path.join(dest, JSON.parse(
      await run(meson, ['introspect', '--buildoptions', build])).find((o) => o.name === 'prefix').value);
    const pkgEnv = { ...process.env, PKG_CONFIG_PATH: path.dirname(path.join(dest, pc)) };
    const flags = async (...what) => (await run('pkg-config',
      [`--define-variable=prefix=${prefix}`, ...what, 'expsdk'], { env: pkgEnv }))
      .trim().split(/\s+/).filter(Boolean);
    const src = path.join(__dirname, 'consumer', 'consumer.c');
    const cflags = await flags('--cflags');
    await run(cc, [src, '-o', path.join(dest, 'shared'), ...cflags, ...(await flags('--libs'))]);
    // Static: the archive itself, then what pkg-config --static adds.
    const libs = (await flags('--static', '--libs')).filter((f) => f !== '-lexpsdk');
    await run(cc, [src, '-o', path.join(dest, 'static'), ...cflags,
      path.join(dest, archive), ...libs]);

    // CMake: the consumer's CMakeLists.txt holds the README's lines.  CMake
    // cannot pass --define-variable, so it reads a copy of expsdk.pc whose
    // prefix is the one under DESTDIR, as an install into that prefix has.
    const cmakeBuild = path.join(dest, 'cmake-build');
    const cmakePc = path.join(dest, 'cmake-pc');
    fs.mkdirSync(cmakePc);
    fs.writeFileSync(path.join(cmakePc, 'expsdk.pc'),
      fs.readFileSync(path.join(dest, pc), 'utf8').replace(/^prefix=.*$/m, `prefix=${prefix}`));
    const cmakeEnv = { ...process.env, PKG_CONFIG_PATH: cmakePc, CC: cc };
    await run('cmake', ['-S', path.dirname(src), '-B', cmakeBuild], { env: cmakeEnv });
    await run('cmake', ['--build', cmakeBuild], { env: cmakeEnv });
    fs.copyFileSync(path.join(cmakeBuild, 'app'), path.join(dest, 'cmake'));
    fs.chmodSync(path.join(dest, 'cmake'), 0o755);

    server = await startServer();
    const origin = server.origin;
    const libdir = { LD_LIBRARY_PATH: path.dirname(path.join(dest, shared)) };
    for (const [prog, extra] of [['shared', libdir], ['static', {}], ['cmake', libdir]]) {
      const ldd = await run('ldd', [path.join(dest, prog)]);
      if (/libexpsdk/.test(ldd) !== (prog !== 'static'))
        throw new Error(`${prog} program: libexpsdk.so ${prog !== 'static' ? 'not ' : ''}linked`);
      const out = await run(path.join(dest, prog), [],
        { env: { ...process.env, EXP_HOST: origin, ...extra } });
      process.stdout.write(`${prog}: ${out}`);
      if (!/^consumer logged in as test@goexp\.io$/m.test(out))
        throw new Error(`the ${prog} program did not say it logged in`);
    }
  } finally {
    if (server) await server.stop();
    fs.rmSync(dest, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e.message);
  process.exit(1);
});
