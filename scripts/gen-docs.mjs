// Rewrites the generated sections of docs/formats.md, docs/operations.md and docs/library.md (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { generate as formats } from './formats-doc.mjs';
import { generate as operations } from './operations-doc.mjs';
import { generate as library } from './library-doc.mjs';

for (const [name, generate] of [
  ['formats.md', formats],
  ['operations.md', operations],
  ['library.md', library],
]) {
  const path = new URL(`../docs/${name}`, import.meta.url);
  writeFileSync(path, generate(readFileSync(path, 'utf8')));
  console.log(`docs/${name} updated`);
}
