// A daemon in a child process for the kill-at-transition tests: it SIGKILLs
// itself right after the named journal transition has been committed for the
// nth time (argv: config, transition like "trigger:uploading->renaming" or "-", n).
//
// With DMC_KILL_PLAN (the pair's kill test), the transition is read from that
// JSON file at each commit instead: `{ id, transition, nth }` (or `{}`, disarmed);
// the nth commit of it by this process since the plan was armed writes
// `<plan>.killed-<id>` (the node's name in it) and SIGKILLs the process.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseConfig } from '../../dist/config/config.js';
import { Daemon } from '../../dist/daemon/daemon.js';
import { cliLogger, silentLogger } from '../../dist/transport/logger.js';

const [configPath, killAt, nth] = process.argv.slice(2);
const planFile = process.env.DMC_KILL_PLAN;
const config = await parseConfig(readFileSync(configPath, 'utf8'), configPath);
let seen = 0;
const counted = new Map();
const fromPlan = (name) => {
  let plan;
  try {
    plan = JSON.parse(readFileSync(planFile, 'utf8'));
  } catch {
    return;
  }
  if (plan.id === undefined || name !== plan.transition) return;
  const n = (counted.get(plan.id) ?? 0) + 1;
  counted.set(plan.id, n);
  if (n !== plan.nth) return;
  writeFileSync(`${planFile}.killed-${plan.id}`, `${process.env.DMC_NODE ?? ''}\n`);
  process.kill(process.pid, 'SIGKILL');
};
// The pair's nodes log their warnings (the test shows them when it fails); the single host's stay silent.
const daemon = new Daemon(config, planFile ? cliLogger('warn') : silentLogger, {
  journal: {
    onTransition: (t) => {
      const name = `${t.what}:${t.from}->${t.to}`;
      if (planFile) return fromPlan(name);
      if (name === killAt && ++seen === Number(nth)) process.kill(process.pid, 'SIGKILL');
    },
  },
});
await daemon.start();
process.stdout.write('started\n');
process.on('SIGTERM', () => {
  void daemon.stop().then(() => process.exit(0));
});
