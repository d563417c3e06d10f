// Rewrites the generated sections of docs/formats.md (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { generate } from './formats-doc.mjs';

const path = new URL('../docs/formats.md', import.meta.url);
writeFileSync(path, generate(readFileSync(path, 'utf8')));
console.log('docs/formats.md updated');
