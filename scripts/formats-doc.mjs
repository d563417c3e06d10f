// The generated parts of docs/formats.md, from the code's own tables
// (run `npm run build` first). Used by scripts/gen-docs.mjs to write them and
// by test/unit/docs.test.ts to check that the page is current.
import { readdirSync, readFileSync } from 'node:fs';
import { BLOCK_PARAMS, COLUMNS, COMMAND_PARAMS, DYNAMIC_FIELDS, FINDING_CODES } from '../dist/formats/index.js';

const root = new URL('../', import.meta.url);
const esc = (s) => String(s).replace(/\|/g, '\\|');

function paramRows(list) {
  return list
    .map((p) => {
      const type = p.type === 'enum' ? `one of ${p.values.join(', ')}` : p.type === 'flag' ? '0 or 1' : p.type === 'date' ? 'YYYY-MM-DD HH:mm:ss' : p.type;
      const req = p.required === 'always' ? 'yes' : p.required === 'full' ? 'full shape' : p.required === 'favourite' ? 'favourite shape' : 'no';
      const where =
        p.scope === 'declaration' ? 'XML declaration' : p.scope === 'auth' ? '`<auth>`' : p.scope === 'block' ? '`<customizableMsg>`' : '`<command>`';
      return `| ${p.order} | \`${p.name}\`${p.repeatable ? ' (repeatable)' : ''} | ${esc(type)} | ${p.max ?? ''} | ${req} | ${where} | ${(p.errata ?? []).map((e) => `\`${e}\``).join(', ')} | ${p.guideLine} | ${esc(p.doc)} |`;
    })
    .join('\n');
}

export const sections = {
  params: () =>
    [
      '| # | name | type | max | required | XML | errata read | guide line | meaning |',
      '|---|---|---|---|---|---|---|---|---|',
      paramRows(COMMAND_PARAMS.filter((p) => p.order < 17)),
      paramRows(BLOCK_PARAMS),
      paramRows(COMMAND_PARAMS.filter((p) => p.order > 17)),
    ].join('\n'),
  columns: () =>
    [
      '| column | XML element | max | checked as | guide line | meaning |',
      '|---|---|---|---|---|---|',
      ...COLUMNS.map((c) => `| \`${c.name}\` | \`<${c.xml}>\` | ${c.max} | ${c.kind} | ${c.guideLine} | ${esc(c.doc)} |`),
    ].join('\n'),
  dynamic: () =>
    Object.entries(DYNAMIC_FIELDS)
      .map(([k, v]) => `- \`|${k}|\`: ${v.doc}${v.column ? ` (needs the ${v.column} column)` : ''}`)
      .join('\n'),
  codes: () =>
    [
      '| code | severity | meaning |',
      '|---|---|---|',
      ...Object.entries(FINDING_CODES).map(([k, v]) => `| \`${k}\` | ${k.startsWith('W_') ? 'warning' : 'error'} | ${esc(v)} |`),
    ].join('\n'),
  templates: () =>
    readdirSync(new URL('templates/', root))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => `#### \`templates/${f}\`\n\n\`\`\`yaml\n${readFileSync(new URL(`templates/${f}`, root), 'utf8').trimEnd()}\n\`\`\``)
      .join('\n\n'),
};

/** Replaces every `<!-- generated:NAME -->...<!-- /generated:NAME -->` block of `text`. */
export function generate(text) {
  return text.replace(/<!-- generated:(\w+) -->[\s\S]*?<!-- \/generated:\1 -->/g, (_m, name) => {
    if (!sections[name]) throw new Error(`no generated section '${name}'`);
    return `<!-- generated:${name} -->\n${sections[name]()}\n<!-- /generated:${name} -->`;
  });
}
