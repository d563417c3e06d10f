// Rewrites the generated sections of docs/formats.md and docs/operations.md (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { generate as formats } from './formats-doc.mjs';
import { generate as operations } from './operations-doc.mjs';

for (const [name, generate] of [
  ['formats.md', formats],
  ['operations.md', operations],
]) {
  const path = new URL(`../docs/${name}`, import.meta.url);
  writeFileSync(path, generate(readFileSync(path, 'utf8')));
  console.log(`docs/${name} updated`);
}
