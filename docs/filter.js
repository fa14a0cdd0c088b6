// filter.js FILE: Doxygen's INPUT_FILTER for the public headers.  The
// headers are written to be read top to bottom, in plain comments; this
// prints them with the same text as Doxygen documentation, by the rules the
// headers follow:
// - the first comment of the file describes the file;
// - a section banner, /* ---- name */ or /* ==== name */, starts a group of
//   that name (/* ==== end name */ ends it), and a comment standing alone
//   right after the banner describes the group;
// - a comment followed, without a blank line, by declarations documents
//   them all (a function and its _wait twin, a family of calls);
// - a comment after a member, an enumerator or an X-macro entry documents it;
// - an enum whose members come from an X-macro list (EXP_ERRNO_MAP,
//   EXP_OPTION_MAP) gets them spelled out, each with its entry's comment
//   (for the error list, its message); names ending in _ are internal.
// A declaration none of these reach stays undocumented, and Doxygen warns.
'use strict';
const fs = require('fs');

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n');
const out = [];
const maps = {};
let group = null;

const isBanner = (l) => /^\/\* [-=]{4,} (.*?) \*\/$/.exec(l);
const startsComment = (l) => /^\s*\/\*/.test(l);
const blank = (l) => l.trim() === '';

// The code of each line, comments removed (they may span lines).
function strip(text) {
  let inComment = false;
  return text.map((l) => {
    let res = '';
    for (let k = 0; k < l.length; k++) {
      if (inComment) {
        if (l.startsWith('*/', k)) { inComment = false; k++; }
      } else if (l.startsWith('/*', k)) {
        inComment = true;
        k++;
      } else {
        res += l[k];
      }
    }
    return res;
  });
}

// Brace depth before each line (preprocessor lines and the braces of
// extern "C" left out).
const depth = [];
{
  let d = 0;
  strip(lines).forEach((c, k) => {
    depth[k] = d;
    if (/^\s*#|^\s*extern "C"/.test(c) || (c.trim() === '}' && /^#ifdef __cplusplus/.test(lines[k - 1])))
      return;
    for (const ch of c) d += ch === '{' ? 1 : ch === '}' ? -1 : 0;
  });
}

// Lines i.. of a comment: [text lines without the markers, next index].
function comment(i) {
  const text = [];
  for (;;) {
    const l = lines[i++];
    const end = l.indexOf('*/');
    text.push((end >= 0 ? l.slice(0, end) : l).replace(/^\s*\/?\*+ ?/, ''));
    if (end >= 0) return [text.join('\n').trim(), i];
  }
}

// The X-macro lists: entries XX(a, b, ...) with their trailing comment.
for (let i = 0; i < lines.length; i++) {
  const m = /^#define (EXP_\w+_MAP)\(XX\)/.exec(lines[i]);
  if (!m) continue;
  const entries = [];
  for (let j = i + 1; j < lines.length; j++) {
    const e = /^\s*XX\(([^)]*)\)\s*(?:\/\*(.*?)\*\/)?/.exec(lines[j]);
    if (e) entries.push({ args: e[1].split(',').map((a) => a.trim()), doc: (e[2] || '').trim() });
    if (!/\\$/.test(lines[j])) break;
  }
  maps[m[1]] = entries;
}

// EXP_XX_'s definition applied to each entry of the list it expands.
function expand(params, body, map) {
  return maps[map].map((e) => {
    let s = body;
    params.forEach((p, k) => { s = s.replace(new RegExp(`\\b${p}\\b`, 'g'), e.args[k]); });
    s = s.replace(/\s*##\s*/g, '');
    // The entry's other arguments (an option's key and type) lead its text.
    const msg = params.indexOf('msg');
    const rest = e.args.filter((a, k) => k !== msg && params[k] !== 'name' &&
      !new RegExp(`\\b${params[k]}\\b`).test(body));
    const text = e.doc || (msg >= 0 ? JSON.parse(e.args[msg]) : '');
    const doc = text && (rest.length ? `${rest.join(' ')}: ${text}` : text);
    const name = /^\s*(\w+)/.exec(s)[1];
    return name.endsWith('_') ? null : `  ${s}${doc ? ` /**< ${doc} */` : ''}`;
  }).filter((s) => s !== null);
}

// Code lines: trailing comments document what they follow; X-macro
// expansions in enums are spelled out.
let xx = null;
let inMacro = false;
function code(from, to) {
  const res = [];
  for (let i = from; i < to; i++) {
    const l = lines[i];
    const macroLine = inMacro || /^\s*#/.test(l);
    inMacro = macroLine && /\\$/.test(l);
    const def = /^#define EXP_XX_\(([^)]*)\) (.*)$/.exec(l);
    if (def) { xx = { params: def[1].split(',').map((p) => p.trim()), body: def[2] }; continue; }
    if (/^#undef EXP_XX_/.test(l)) continue;
    const use = /^\s*(EXP_\w+_MAP)\(EXP_XX_\)\s*$/.exec(l);
    if (use && xx) { res.push(...expand(xx.params, xx.body, use[1])); continue; }
    if (/^\s*EXP_\w+_,?\s*$/.test(l)) continue;
    if (macroLine && !/^\s*#\s*define\s+\w+\s.*\/\*.*\*\/\s*$/.test(l)) res.push(l);
    else if (depth[i] > 0 && startsComment(l)) res.push(l.replace(/\/\* /, '/** '));
    else res.push(l.replace(/(\S\s*)\/\* /, '$1/**< '));
  }
  return res;
}

// Code lines cut after each declaration: a statement ending at depth 0,
// or a #define; the lines after the last one stay together, declaring
// nothing.
function declarations(text) {
  const res = [];
  let cur = [];
  let level = 0;
  let inDefine = false;
  const codeOf = strip(text);
  text.forEach((l, k) => {
    cur.push(l);
    const continued = /\\$/.test(l);
    if (inDefine || /^\s*#/.test(l)) {
      inDefine = (inDefine || /^\s*#\s*define\b/.test(l)) && continued;
      if (!inDefine && cur.some((c) => /^\s*#\s*define\b/.test(c))) {
        res.push({ decl: true, lines: cur });
        cur = [];
      }
      return;
    }
    let ended = false;
    for (const c of codeOf[k]) {
      if (c === '{') level++;
      else if (c === '}') level--;
      else if (c === ';' && level === 0) ended = true;
    }
    if (ended) {
      res.push({ decl: true, lines: cur });
      cur = [];
    }
  });
  if (cur.length) res.push({ decl: false, lines: cur });
  return res;
}

let i = 0;
let first = true;
while (i < lines.length) {
  const l = lines[i];
  const banner = isBanner(l);
  if (banner) {
    if (group) out.push('/** @} */');
    group = null;
    i++;
    if (/^end\b/.test(banner[1])) continue;
    group = banner[1].replace(/\W+/g, '_');
    let doc = '';
    let j = i;
    while (j < lines.length && blank(lines[j])) j++;
    if (j < lines.length && startsComment(lines[j])) {
      const [text, next] = comment(j);
      if (next >= lines.length || blank(lines[next])) { doc = text; i = next; }
    }
    out.push(`/** @defgroup ${group} ${banner[1]}`, doc, '@{ */');
    continue;
  }
  if (startsComment(l)) {
    const [text, next] = comment(i);
    let end = next;
    while (end < lines.length && (depth[end] > 0 || (!blank(lines[end]) &&
           !startsComment(lines[end]) && !isBanner(lines[end])))) end++;
    const body = code(next, end);
    if (first) {
      out.push(`/** @file\n${text}\n*/`, ...body);
    } else if (body.length === 0 || body.every((b) => /^\s*#\s*include\b/.test(b))) {
      out.push(`/* ${text} */`, ...body);
    } else {
      // Doxygen does not share a member group's text inside a group:
      // each declaration gets its own copy.
      // An #else branch shares the text given before its #if.
      for (const d of declarations(body)) {
        const doc = d.decl && !/^\s*#\s*el/.test(d.lines[0]);
        out.push(...(doc ? [`/** ${text} */`] : []), ...d.lines);
      }
    }
    first = false;
    i = end;
    continue;
  }
  out.push(...code(i, i + 1));
  i++;
}
if (group) out.push('/** @} */');
process.stdout.write(out.join('\n'));
