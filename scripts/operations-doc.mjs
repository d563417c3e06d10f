// The generated sections of docs/operations.md: the daemon's state diagram and restart table, from src/store/states.ts.
import { RESTART, stateDiagram } from '../dist/store/states.js';

const sections = {
  states: () => `\`\`\`mermaid\n${stateDiagram()}\n\`\`\``,
  restart: () => ['| state | on restart |', '|---|---|', ...Object.entries(RESTART).map(([k, v]) => `| ${k} | ${v} |`)].join('\n'),
};

/** Replaces every `<!-- generated:NAME -->...<!-- /generated:NAME -->` block of `text` that this file knows. */
export function generate(text) {
  return text.replace(/<!-- generated:(\w+) -->[\s\S]*?<!-- \/generated:\1 -->/g, (m, name) =>
    sections[name] ? `<!-- generated:${name} -->\n${sections[name]()}\n<!-- /generated:${name} -->` : m,
  );
}
