// exports.js HEADER NM LIBRARY: the shared library's dynamic symbols are
// exactly the functions the public header declares, both ways.  The header's
// list is read from the header itself, so a function added there is checked
// without editing this test.
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');

const [header, nm, library] = process.argv.slice(2);

// Declarations at file scope: comments and preprocessor lines (with their
// continuations) removed, then split at ; { and }, keeping only the pieces
// outside braces (struct members and enum lists are not declarations).
// extern "C" { is dropped with its brace; its closing brace only ever
// brings the depth back to 0.
function declaredFunctions(text) {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*/gm, ' ')
    .replace(/extern\s+"C"\s*\{/g, ' ');
  const names = new Set();
  let depth = 0;
  for (const m of code.matchAll(/([^;{}]*)([;{}]?)/g)) {
    const piece = m[1].replace(/\s+/g, ' ').trim();
    if (depth === 0 && piece !== '' && !/^typedef\b/.test(piece)) {
      // The name is the identifier before the first parenthesis.
      const f = /^([^()]*?)\b([A-Za-z_]\w*)\s*\(/.exec(piece);
      if (f) names.add(f[2]);
      else if (/^EXP_EXTERN\b/.test(piece)) names.add(piece.split(/[\s*]+/).pop());
    }
    if (m[2] === '{') depth++;
    else if (m[2] === '}') depth = Math.max(0, depth - 1);
    if (m[0] === '') break;
  }
  return names;
}

const declared = declaredFunctions(fs.readFileSync(header, 'utf8'));
const exported = new Set(
  execFileSync(nm, ['-D', '--defined-only', library], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length === 3)
    .map((f) => f[2].replace(/@.*/, '')));

const notExported = [...declared].filter((n) => !exported.has(n)).sort();
const notDeclared = [...exported].filter((n) => !declared.has(n)).sort();
console.log(`${header}: ${declared.size} functions; ${library}: ${exported.size} exported symbols`);
for (const n of notExported)
  console.log(`declared in the header but not exported (EXP_EXTERN missing, or not defined): ${n}`);
for (const n of notDeclared)
  console.log(`exported but not declared in the header (internal: static, or hidden): ${n}`);
// A header read as empty would pass both ways: a parse gone wrong must fail.
if (declared.size < 50) console.log('too few declarations found: the header parse is broken');
process.exit(notExported.length || notDeclared.length || declared.size < 50 ? 1 : 0);
