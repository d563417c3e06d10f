// docs/library.md: each `<!-- example: name -->` block shows examples/library/<name> as it is.
import { readFileSync } from 'node:fs';

export function generate(doc) {
  return doc.replace(/<!-- example: ([\w.-]+) -->\n```js\n[\s\S]*?\n```\n<!-- \/example -->/g, (_, name) => {
    const code = readFileSync(new URL(`../examples/library/${name}`, import.meta.url), 'utf8').trimEnd();
    return `<!-- example: ${name} -->\n\`\`\`js\n${code}\n\`\`\`\n<!-- /example -->`;
  });
}
