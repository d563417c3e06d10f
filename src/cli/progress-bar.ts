/** A byte progress bar on stderr for transfers of a few MB or more, on a terminal only. */
import { humanBytes } from './output.js';

const MIN_BYTES = 4 * 1024 * 1024;

export function byteProgress(): { update(name: string, sent: number, total: number): void; done(): void } {
  let shown = false;
  let lastDraw = 0;
  return {
    update(name, sent, total) {
      if (!process.stderr.isTTY || total < MIN_BYTES) return;
      const now = Date.now();
      if (now - lastDraw < 100 && sent < total) return;
      lastDraw = now;
      shown = true;
      const width = 30;
      const filled = Math.round((sent / total) * width);
      process.stderr.write(`\r${name} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${humanBytes(sent)} / ${humanBytes(total)}`);
    },
    done() {
      if (shown) {
        process.stderr.write('\r\x1b[K');
        shown = false;
      }
    },
  };
}
