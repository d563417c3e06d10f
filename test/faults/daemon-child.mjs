// A daemon in a child process for the kill-at-transition tests: it SIGKILLs
// itself right after the named journal transition has been committed for the
// nth time (argv: config, transition like "trigger:uploading->renaming" or "-", n).
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../dist/config/config.js';
import { Daemon } from '../../dist/daemon/daemon.js';
import { silentLogger } from '../../dist/transport/logger.js';

const [configPath, killAt, nth] = process.argv.slice(2);
const config = await parseConfig(readFileSync(configPath, 'utf8'), configPath);
let seen = 0;
const daemon = new Daemon(config, silentLogger, {
  journal: {
    onTransition: (t) => {
      if (`${t.what}:${t.from}->${t.to}` === killAt && ++seen === Number(nth)) process.kill(process.pid, 'SIGKILL');
    },
  },
});
await daemon.start();
process.stdout.write('started\n');
process.on('SIGTERM', () => {
  void daemon.stop().then(() => process.exit(0));
});
