// docs.js DOXYGEN DOXYFILE: builds the API reference from the public headers
// and fails when anything public is undocumented: Doxygen's warnings (every
// function, type, macro and struct), and, which Doxygen does not warn about,
// every enumerator (options, errors, events, kinds, levels) and struct member.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { run } = require('./util');

const [doxygen, doxyfile] = process.argv.slice(2);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'expsdk-docs-'));
  try {
    const warnings = path.join(dir, 'warnings.txt');
    await run(doxygen, [doxyfile], {
      env: { ...process.env, EXP_DOCS_OUTPUT: dir, EXP_DOCS_WARNINGS: warnings, EXP_DOCS_XML: 'YES' },
    });
    const problems = fs.readFileSync(warnings, 'utf8').split('\n').filter((l) => l.trim() !== '');

    const xml = path.join(dir, 'xml');
    const seen = new Set();
    for (const f of fs.readdirSync(xml).filter((n) => n.endsWith('.xml'))) {
      const text = fs.readFileSync(path.join(xml, f), 'utf8');
      const items = [...text.matchAll(/<enumvalue\b[\s\S]*?<\/enumvalue>/g)].map((m) => m[0])
        .concat([...text.matchAll(/<memberdef kind="variable"[\s\S]*?<\/memberdef>/g)].map((m) => m[0]));
      for (const item of items) {
        const name = /<name>([^<]*)<\/name>/.exec(item)[1];
        const described = /<(brief|detailed)description>\s*<para>/.test(item);
        if (!described && !seen.has(name)) problems.push(`${name} is not documented`);
        seen.add(name);
      }
    }
    const names = [...new Set(problems)];
    for (const p of names) console.log(p.replace(/^.*?include\//, 'include/'));
    console.log(`${names.length} problems; the reference: doxygen, or meson compile -C <build> docs`);
    return names.length === 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then((ok) => process.exit(ok ? 0 : 1), (e) => {
  console.error(e.message);
  process.exit(1);
});
