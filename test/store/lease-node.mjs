// A node for the lease tests, as a process of its own (so that it can be SIGSTOPped): it keeps the lease of one
// account and, while it may act, makes a fenced change every 20 ms. Before each change it tells the parent over IPC
// (`act`, with its epoch and the wall-clock time), as the daemon checks mayAct() before each remote operation.
// argv: url schema account node ttlMs marginMs
import { LeaseKeeper } from '../../dist/store/lease.js';
import { PgStore, fenced } from '../../dist/store/pg.js';

const [url, schema, account, node, ttl, margin] = process.argv.slice(2);
const store = await PgStore.open({ url, schema, timeoutMs: Number(ttl) / 4 });
const keeper = new LeaseKeeper(store.leases(), { account, node, ttlMs: Number(ttl), marginMs: Number(margin) });
keeper.on('role', (role, lease) => process.send?.({ type: 'role', role, epoch: lease?.epoch ?? null, at: Date.now() }));
await keeper.start();
const work = setInterval(async () => {
  if (!keeper.mayAct()) return;
  const lease = keeper.held;
  process.send?.({ type: 'act', epoch: lease.epoch, at: Date.now() });
  try {
    const n = await fenced(store.pool, lease, 'INSERT INTO work (node, epoch) SELECT $1, $2 WHERE {fence}', [node, lease.epoch]);
    process.send?.({ type: 'committed', epoch: lease.epoch, rows: n, at: Date.now() });
  } catch (e) {
    process.send?.({ type: 'error', message: e.message });
  }
}, 20);
process.on('SIGTERM', async () => {
  clearInterval(work);
  await keeper.stop(false);
  await store.close();
  process.exit(0);
});
process.send?.({ type: 'ready' });
