// Builds samples/<name>.csv and samples/<name>.xml from samples/recipes.json
// with the project's own builder (run `npm run build` first). The outputs are
// committed; test/unit/samples.test.ts rebuilds them and compares bytes.
import { readFileSync } from 'node:fs';
import { buildTriggerFiles, parseCommandFile } from '../dist/formats/index.js';

const root = new URL('../', import.meta.url);
const recipes = JSON.parse(readFileSync(new URL('samples/recipes.json', root), 'utf8'));
let failed = 0;
for (const [name, r] of Object.entries(recipes)) {
  if (name.startsWith('$')) continue;
  const tpl = new URL(`templates/${r.template}`, root).pathname;
  const command = parseCommandFile(readFileSync(tpl, 'utf8'), tpl);
  for (const format of ['csv', 'xml']) {
    const out = new URL(`samples/${name}.${format}`, root).pathname;
    const res = await buildTriggerFiles(command, r.contacts ? new URL(`samples/${r.contacts}`, root).pathname : undefined, {
      out,
      format,
      export: { map: r.map ?? {} },
    });
    if (!res.ok) {
      failed++;
      console.error(name, format, res.findings);
    } else console.log(`wrote ${out}`);
  }
}
process.exitCode = failed ? 1 : 0;
