'use strict';
// What the JS benchmark programs measure and print, in bench_util.h's form.

const fs = require('node:fs');
const path = require('node:path');

// The repository's node_modules, whatever the working directory.
const EXP = require(path.join(__dirname, '..', '..', 'node_modules', 'exp-sdk'));

// {user, system} in microseconds, as bench_cpu_now().
function cpuUs() {
  return process.cpuUsage();
}

// Resolves once the SDK is online (the socket connected).
function online(exp, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not online in time')), timeoutMs);
    const l = exp.on('online', () => { clearTimeout(timer); l.cancel(); resolve(); });
  });
}

// VmHWM is the peak of this process alone (resourceUsage().maxRSS is not).
function peakRssKb() {
  const m = /^VmHWM:\s*(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

// As bench_print_result(); start and end are cpuUs() values.
function printResult(who, { received, stray = 0, checksum, measured, start, end }) {
  const rssKb = Math.round(process.memoryUsage().rss / 1024);
  const user = end.user - start.user;
  const cpu = user + end.system - start.system;
  console.log(JSON.stringify({
    who, received, stray, checksum, measured, cpu_us: Math.round(cpu),
    per_op_us: measured > 0 ? cpu / measured : 0,
    per_op_user_us: measured > 0 ? user / measured : 0,
    rss_kb: rssKb, peak_rss_kb: peakRssKb(),
  }));
}

module.exports = { EXP, cpuUs, online, printResult };
