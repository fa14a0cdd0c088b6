'use strict';
// Turns a run.js JSON file into its Markdown tables (FILE.md), a chart
// (FILE.png, with gnuplot: Debian's gnuplot-nox) and, for results/latest,
// the table in README.md between its bench markers.
//
//   node test/bench/report.js test/bench/results/latest.json [--readme]
// (--readme: put this file's table and chart in README.md; run.js does it
// for results/latest.json)

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const README = path.join(__dirname, 'README.md');
const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';
// The project's README shows the goals' table and the chart, with the run
// before issue 14's changes beside them.
const TOP_README = path.join(__dirname, '..', '..', 'README.md');
const TOP_BEGIN = '<!-- bench:summary:begin -->';
const TOP_END = '<!-- bench:summary:end -->';
const BEFORE = path.join(__dirname, 'results', 'before-6916f9a.json');

const get = (o, p) => p.split('.').reduce((a, k) => (a == null ? undefined : a[k]), o);
const fmt = (v, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');
const k = (v) => fmt(v / 1000, 1);

function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

// A ratio by name: the per-round median run.js computed, else the ratio
// of the medians.
function ratioOf(j, name, a, b, f) {
  if (j.ratios[name] !== undefined) return j.ratios[name];
  const x = get(j.results[a], f);
  const y = get(j.results[b], f);
  return typeof x === 'number' && typeof y === 'number' && y ? x / y : undefined;
}

// The issue's table: figure, C SDK (two variants), bare, ratio, goal; with
// before, a run to show the C SDK's figures of first.
function goals(j, before) {
  const r = j.results;
  const yes = (x) => (x === undefined ? '–' : (x ? 'yes' : 'no'));
  const spec = [
    // figure, field, [key, ratio name] x2, bare key, show, goal text, test(value, ratio)
    ['REST GET instructions per call (exp_get_wait / exp_get chain)', 'instructions.rest', [['restWait', 'REST instructions, C wait / bare'], ['restAsync', 'REST instructions, C async / bare']], 'restBare', (v) => `${k(v)}k`, '<= 1.1x bare', (v, q) => q <= 1.1],
    ['REST CPU µs per call (exp_get_wait / exp_get chain)', 'rest.per_op_us', [['restWait', 'REST CPU, C wait / bare'], ['restAsync', 'REST CPU, C async / bare']], 'restBare', (v) => fmt(v, 1), '<= 1.1x bare', (v, q) => q <= 1.1],
    ['RSS online, one listener, MiB (callback / queue)', 'online.rss_kb', [['c1', 'RSS online, C callback / bare'], ['c1q', 'RSS online, C queue / bare']], 'bare', (v) => fmt(v / 1024, 2), '<= 2.25 MiB', (v) => v <= 2.25 * 1024],
    ['heap in use online, KB (callback / queue)', 'online.heap', [['c1', 'heap online, C callback / bare'], ['c1q', 'heap online, C queue / bare']], 'bare', (v) => fmt(v / 1024, 1), '<= 48 KB', (v) => v <= 48 * 1024],
    ['heap per extra listener (distinct channels), B', 'footprint.heap_per_listener', [['cListeners', '']], null, (v) => fmt(v), '<= 256 B', (v) => v <= 256],
    ['p99 latency sender -> listener, ms (callback / queue)', 'latency.p99_us', [['c1', 'latency p99, C callback / bare'], ['c1q', 'latency p99, C queue / bare']], 'bare', (v) => fmt(v / 1000, 2), '<= 1.2x bare', (v, q) => q <= 1.2],
  ];
  const rows = spec.map(([name, f, cs, b, show, goal, ok]) => {
    const of = (run) => cs.filter(([key]) => run.results[key]).map(([key, rn]) => {
      const v = get(run.results[key], f);
      const q = b ? ratioOf(run, rn, key, b, f) : undefined;
      return { v, q, ok: typeof v === 'number' ? ok(v, q) : undefined };
    });
    const vals = of(j);
    const was = before ? [of(before).map((x) => `${show(x.v)}${b ? ` (${fmt(x.q, 2)}x)` : ''}`).join(' / ')] : [];
    return [name, ...was, vals.map((x) => show(x.v)).join(' / '), b ? show(get(r[b], f)) : '–',
      vals.map((x) => fmt(x.q, 2)).join(' / '), goal, vals.map((x) => yes(x.ok)).join(' / ')];
  });
  return table(['figure', ...(before ? [`before (${before.commit})`] : []), 'C SDK', 'bare', 'ratio', 'goal', 'met'], rows);
}

function markdown(j) {
  const r = j.results;
  const recv = j.keys.filter((x) => r[x] && (r[x].small || r[x].latency));
  const rest = j.keys.filter((x) => r[x] && r[x].rest);
  const out = [];
  out.push(`Commit ${j.commit}, ${j.date.slice(0, 10)}; ${j.rounds} round(s), medians; ${j.host.cpus} CPUs, load average ${j.host.loadavg_at_start.map((x) => x.toFixed(1)).join(' ')} at start.`);
  out.push('', goals(j), '');
  out.push(table(['receiver', 'instr / 65 B', 'CPU µs / 65 B', 'instr / 4 KB', 'CPU µs / 4 KB', 'allocs / bc', 'p50 ms', 'p99 ms', 'drain / s', 'online ms', 'CPU to online ms', 'RSS online MiB', 'heap online KB', 'malloc online KB', 'heap / queued B'],
    recv.map((x) => {
      const v = r[x];
      return [v.label, v.instructions ? `${k(v.instructions.small)}k` : '–', fmt(get(v, 'small.per_op_us'), 2),
        v.instructions ? `${k(v.instructions.big)}k` : '–', fmt(get(v, 'big.per_op_us'), 2),
        get(v, 'small.allocs_per_op') >= 0 ? fmt(get(v, 'small.allocs_per_op'), 1) : '–',
        fmt(get(v, 'latency.p50_us') / 1000, 2), fmt(get(v, 'latency.p99_us') / 1000, 2),
        fmt(v.drain_per_s), fmt(get(v, 'online.ms')), fmt(get(v, 'online.cpu_us') / 1000, 1),
        fmt(get(v, 'online.rss_kb') / 1024, 2), fmt(get(v, 'online.heap') / 1024, 1),
        get(v, 'online.malloc') >= 0 ? fmt(get(v, 'online.malloc') / 1024, 1) : '–', fmt(get(v, 'held.heap_per_queued'))];
    })));
  out.push('');
  out.push(table(['REST client', 'instr / call', 'CPU µs / call', 'allocs / call', 'p50 µs', 'p99 µs', 'heap KB'],
    rest.map((x) => {
      const v = r[x];
      return [v.label, v.instructions ? `${k(v.instructions.rest)}k` : '–', fmt(get(v, 'rest.per_op_us'), 1),
        get(v, 'rest.allocs_per_op') >= 0 ? fmt(get(v, 'rest.allocs_per_op'), 1) : '–',
        fmt(get(v, 'rest.p50_us')), fmt(get(v, 'rest.p99_us')), fmt(get(v, 'rest.heap') / 1024, 1)];
    })));
  if (r.cListeners && r.cListeners.footprint) {
    const f = r.cListeners.footprint;
    out.push('', `Per extra listener on a distinct channel (${j.counts.listeners} of them): ${fmt(f.heap_per_listener)} B of heap, ${fmt(f.rss_per_listener_kb * 1024)} B of RSS.`);
  }
  out.push('', table(['ratio (per-round medians; instructions: one callgrind run)', 'value'],
    Object.entries(j.ratios).map(([n, v]) => [n, v.toFixed(2)])));
  return out.join('\n');
}

// The chart: C SDK / bare for the issue's figures, log scale, 1 = bare.
function chart(j, png) {
  const rows = [
    ['"receive 65 B\\ninstructions"', ratioOf(j, 'instructions 65 B, C callback / bare', 'c1', 'bare', 'instructions.small'), ratioOf(j, 'instructions 65 B, C queue / bare', 'c1q', 'bare', 'instructions.small')],
    ['"receive 4 KB\\ninstructions"', ratioOf(j, 'instructions 4 KB, C callback / bare', 'c1', 'bare', 'instructions.big'), ratioOf(j, 'instructions 4 KB, C queue / bare', 'c1q', 'bare', 'instructions.big')],
    ['"REST\\ninstructions"', ratioOf(j, 'REST instructions, C wait / bare', 'restWait', 'restBare', 'instructions.rest'), ratioOf(j, 'REST instructions, C async / bare', 'restAsync', 'restBare', 'instructions.rest')],
    ['"REST\\nCPU"', ratioOf(j, 'REST CPU, C wait / bare', 'restWait', 'restBare', 'rest.per_op_us'), ratioOf(j, 'REST CPU, C async / bare', 'restAsync', 'restBare', 'rest.per_op_us')],
    ['"p99\\nlatency"', ratioOf(j, 'latency p99, C callback / bare', 'c1', 'bare', 'latency.p99_us'), ratioOf(j, 'latency p99, C queue / bare', 'c1q', 'bare', 'latency.p99_us')],
    ['"RSS\\nonline"', ratioOf(j, 'RSS online, C callback / bare', 'c1', 'bare', 'online.rss_kb'), ratioOf(j, 'RSS online, C queue / bare', 'c1q', 'bare', 'online.rss_kb')],
    ['"heap\\nonline"', ratioOf(j, 'heap online, C callback / bare', 'c1', 'bare', 'online.heap'), ratioOf(j, 'heap online, C queue / bare', 'c1q', 'bare', 'online.heap')],
  ];
  const data = rows.map((x) => x.map((v) => (typeof v === 'number' ? (Number.isFinite(v) ? v.toFixed(4) : 'NaN') : (v === undefined ? 'NaN' : v))).join(' ')).join('\n');
  const script = [
    `set terminal pngcairo size 900,460 font "sans,10" noenhanced`, 'set bmargin 4', `set output "${png}"`,
    `set title "C SDK / bare client (commit ${j.commit}; 1 = bare; REST: wait / async)"`,
    'set style data histograms', 'set style histogram clustered gap 1', 'set style fill solid 0.8 border -1',
    'set logscale y 2', 'set yrange [0.5:*]', 'set grid ytics', 'set key top left', 'set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2',
    `plot "-" using 2:xtic(1) title "callback listener / exp_get_wait", "" using 3 title "queue listener / exp_get chain"`,
    data, 'e', data, 'e',
  ].join('\n');
  let r2 = spawnSync('gnuplot', [], { input: script, encoding: 'utf8' });
  if (r2.status !== 0 && /pngcairo/.test(r2.stderr || '')) {
    r2 = spawnSync('gnuplot', [], { input: script.replace('pngcairo', 'png'), encoding: 'utf8' });
  }
  return r2.status === 0;
}

function writeReport(file, { readme = false } = {}) {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const md = markdown(j);
  const base = file.replace(/\.json$/, '');
  fs.writeFileSync(`${base}.md`, `${md}\n`);
  const png = `${base}.png`;
  const drawn = chart(j, png);
  if (readme) {
    const text = fs.readFileSync(README, 'utf8');
    const a = text.indexOf(BEGIN);
    const b = text.indexOf(END);
    if (a >= 0 && b > a) {
      const img = drawn || fs.existsSync(png) ? `\n\n![C SDK / bare](results/${path.basename(png)})` : '';
      fs.writeFileSync(README, `${text.slice(0, a + BEGIN.length)}\n${md}${img}\n${text.slice(b)}`);
    }
    const top = fs.readFileSync(TOP_README, 'utf8');
    const c = top.indexOf(TOP_BEGIN);
    const d = top.indexOf(TOP_END);
    if (c >= 0 && d > c) {
      const before = fs.existsSync(BEFORE) && path.resolve(BEFORE) !== path.resolve(file) ? JSON.parse(fs.readFileSync(BEFORE, 'utf8')) : null;
      const img = drawn || fs.existsSync(png) ? `\n\n![C SDK / bare](${path.relative(path.dirname(TOP_README), png)})` : '';
      const head = `Commit ${j.commit}, ${j.date.slice(0, 10)}; ${j.rounds} round(s), medians; ${j.host.cpus} CPUs, load average ${j.host.loadavg_at_start.map((x) => x.toFixed(1)).join(' ')} at start, ${j.host.loadavg_at_end.map((x) => x.toFixed(1)).join(' ')} at the end.`;
      fs.writeFileSync(TOP_README, `${top.slice(0, c + TOP_BEGIN.length)}\n${head}\n\n${goals(j, before)}${img}\n${top.slice(d)}`);
    }
  }
  return `${md}\n${drawn ? `chart: ${png}` : 'no chart: gnuplot is not installed (apt-get install gnuplot-nox)'}`;
}

module.exports = { writeReport };

if (require.main === module) console.log(writeReport(path.resolve(process.argv[2]), { readme: process.argv.includes('--readme') }));
