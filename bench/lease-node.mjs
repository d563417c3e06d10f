// A leader for bench/takeover.mjs, in a process of its own (to be SIGKILLed): keeps one account's lease with the
// default settings and says when it leads. argv: url schema account node
import { LEASE_DEFAULTS, LeaseKeeper } from '../dist/store/lease.js';
import { PgStore } from '../dist/store/pg.js';

const [url, schema, account, node] = process.argv.slice(2);
const store = await PgStore.open({ url, schema });
const keeper = new LeaseKeeper(store.leases(), { account, node, ...LEASE_DEFAULTS });
keeper.on('role', (role) => process.send?.({ role }));
await keeper.start();
