// What the packaging tests share: running programs, and the reference
// server through its command line (test/server/README.md).
'use strict';
const path = require('path');
const { spawn } = require('child_process');

// Resolves with stdout and stderr together, rejects on a nonzero exit.
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

// A fresh server on a free port: resolves with { origin, stop }.
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath,
      [path.join(__dirname, '..', 'server', 'main.js'), '--port', '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const stop = () => new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^listening (\S+)$/m.exec(out);
      if (m) resolve({ origin: m[1], stop });
    });
  });
}

module.exports = { run, startServer };
