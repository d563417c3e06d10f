// `npm run lint`: ESLint (type-aware promise rules) and Prettier's check, side by side (the two take about 35 s and
// 13 s one after the other on a 2-core machine; together, the longer of the two). Prettier keeps a cache of the files
// it found formatted (node_modules/.cache/prettier); ESLint keeps none: its type-aware rules read across files, and a
// cached result of an unchanged file could hide what a change elsewhere broke in it.
import { spawn } from 'node:child_process';

const run = (cmd, args) =>
  new Promise((resolve) => {
    const out = [];
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (c) => out.push(c));
    p.stderr.on('data', (c) => out.push(c));
    p.on('error', (e) => resolve({ code: 1, text: `${cmd}: ${e.message}\n` }));
    p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), text: Buffer.concat(out).toString() }));
  });

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const [eslint, prettier] = await Promise.all([
  run(bin('eslint'), ['.']),
  run(bin('prettier'), ['--check', '--cache', 'src', 'test', 'bench', 'scripts', 'examples', 'assets', 'eslint.config.js', 'vitest.config.ts']),
]);
process.stdout.write(`ESLint: ${eslint.code === 0 ? 'no problem' : 'problems found'}\n${eslint.text}`);
process.stdout.write(`Prettier: ${prettier.text}`);
if (prettier.code !== 0) process.stdout.write('npm run format fixes the formatting\n');
process.exit(eslint.code !== 0 || prettier.code !== 0 ? 1 : 0);
