// The baseline of "whole process build" (issue #11): the least a correct converter does,
// run as its own process like `dmc-trigger build`: read a ;-separated UTF-8 export, split
// the lines, drop the BOM and the header, join them under a trigger head, encode to
// ISO-8859-15 with iconv-lite, write a temporary file, rename it. No validation, no mapping.
// Usage: node bench/minimal-converter.mjs <export.csv> <out.csv>
import { createReadStream, createWriteStream, renameSync } from 'node:fs';
import { once } from 'node:events';
import iconv from 'iconv-lite';

const [src, out] = process.argv.slice(2);
const temp = `${out}.tmp`;
const ws = createWriteStream(temp);
const write = async (s) => {
  if (!ws.write(iconv.encode(s, 'iso-8859-15'))) await once(ws, 'drain');
};
await write('#COMMAND\nserviceId:12345678\n#CONTACTS\n');
let rest = '';
let header = true;
for await (const chunk of createReadStream(src, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
  const lines = (rest + chunk).split('\n');
  rest = lines.pop();
  if (header) {
    lines.shift();
    header = false;
  }
  await write(lines.join('\n') + '\n');
}
await write((rest ? rest + '\n' : '') + '#END\n');
ws.end();
await once(ws, 'finish');
renameSync(temp, out);
