/**
 * The CRA push receiver (guide §2.9): an HTTP(S) endpoint the platform
 * POSTs `<status_report>` XML to. What the guide leaves open is decided
 * here and written in docs/formats.md ("CRA push"):
 *
 * - Body: the XML raw (`text/xml`, `application/xml`) or in a form field
 *   (`application/x-www-form-urlencoded`, field `formField`, default `xml`);
 *   any other content type is 400.
 * - Answer: `200 OK` once every status of the POST is durably in the
 *   journal (committed with synchronous=FULL: fsynced). Concurrent posts
 *   share one commit (group commit): never answered before it.
 * - Access: a secret in the path (404 otherwise), HTTP Basic (401), an
 *   address allow-list (403), TLS or plain HTTP behind a proxy (forwarded
 *   headers trusted only with `trustProxy`).
 * - Bounds: body size (413), elements per report, header and request
 *   time, statuses waiting for a commit (503 with Retry-After).
 * Every refusal is one line of text; no input can crash the receiver.
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import iconv from 'iconv-lite';
import type { PushConfig } from '../config/config.js';
import type { Hooks } from '../daemon/hooks.js';
import { JournalError, type Journal } from '../store/journal.js';
import { normalizeEncodingName } from '../formats/encoding.js';
import { latestOf, parsePushReport, PushFormatError, type PushReport } from '../formats/push.js';
import type { Logger } from '../transport/logger.js';
import { StatusStore, type RecordedPush } from '../store/statuses.js';
import { sameSecret } from './same-secret.js';

const KEEP_ALIVE_MS = 5000;

/** Where one account's statuses go. */
export interface PushTarget {
  readonly journal: Journal;
  /** Where `status` hook events go (one per commit). */
  readonly hooks?: Hooks;
  /** After each commit (the daemon wakes its results step). */
  readonly onCommit?: (r: RecordedPush) => void;
}

export interface PushReceiverOptions extends Partial<PushTarget> {
  readonly config: PushConfig;
  readonly logger: Logger;
  /** The configured service id: a report whose `username` names another is refused (403). */
  readonly serviceId?: string;
  /**
   * Several accounts (issue #21): each report goes to the account its
   * `username` names (the service id, guide line 6750); one for a service
   * not listed is refused (403) and counted. `journal`, `hooks`, `onCommit`
   * and `serviceId` above are then not used.
   */
  readonly accounts?: ReadonlyMap<string, PushTarget>;
  /**
   * With `accounts`: services configured but not served by this process (a
   * section that cannot start, a node pinned to other accounts): their
   * reports get 503 with Retry-After, to be posted again (here once the
   * account runs, or to another node), never refused for good.
   */
  readonly unavailable?: ReadonlySet<string>;
}

/** Counters since start (the metrics read them). */
export interface PushCounters {
  posts: number;
  statuses: number;
  duplicates: number;
  refused: Record<string, number>;
  /** Reports refused because they name a service this receiver does not take (also counted in refused['403']). */
  otherService: number;
  commits: number;
}

export interface PushReceiver {
  /** `http(s)://host:port` (the path is a secret: not in it). */
  readonly origin: string;
  readonly port: number;
  readonly counters: PushCounters;
  /** Each account's counters (with several accounts): its posts, statuses, duplicates and commits. */
  readonly accountCounters: ReadonlyMap<string, PushCounters>;
  close(): Promise<void>;
}

interface Waiting {
  readonly report: PushReport;
  readonly done: (e?: Error) => void;
}

/**
 * Commits waiting reports together: all posts that arrived while the last
 * commit ran go in the next one. A commit is one SQLite transaction with
 * synchronous=FULL, so each answer follows an fsync of its status.
 */
class GroupCommit {
  private queue: Waiting[] = [];
  private scheduled = false;
  pendingStatuses = 0;

  constructor(
    private readonly journal: Journal,
    private readonly store: StatusStore,
    /** The receiver's counters and the account's own. */
    private readonly counters: readonly PushCounters[],
    private readonly hooks: Hooks | undefined,
    private readonly onCommit: ((r: RecordedPush) => void) | undefined,
    private readonly logger: Logger,
  ) {}

  submit(report: PushReport): Promise<void> {
    const n = report.elements.reduce((s, e) => s + e.history.length, 0);
    this.pendingStatuses += n;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ report, done: (e) => (e ? reject(e) : resolve()) });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** One commit at a time: what arrives meanwhile waits for the next. */
  private flushing = false;

  private flush(): void {
    if (this.flushing) return;
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.flushing = true;
    void this.commit(batch).finally(() => {
      this.flushing = false;
      if (this.queue.length > 0) this.flush();
    });
  }

  private async commit(batch: Waiting[]): Promise<void> {
    const reports = batch.map((w) => w.report);
    const size = reports.reduce((s, r) => s + r.elements.reduce((t, e) => t + e.history.length, 0), 0);
    let recorded: RecordedPush;
    try {
      recorded = await this.journal.tx(async () => {
        const r = await this.store.recordPush(reports);
        if (this.hooks?.wants('status') && r.recorded > 0) await this.hooks.enqueue(await statusEvent(reports, r, this.store));
        return r;
      });
    } catch (e) {
      this.pendingStatuses -= size;
      this.logger.error({ err: (e as Error).message, posts: batch.length }, 'push statuses could not be committed to the journal: answered 503');
      for (const w of batch) w.done(e as Error);
      return;
    }
    this.pendingStatuses -= size;
    for (const c of this.counters) {
      c.commits++;
      c.statuses += recorded.recorded;
      c.duplicates += recorded.duplicates;
    }
    for (const w of batch) w.done();
    this.onCommit?.(recorded);
  }
}

async function statusEvent(reports: readonly PushReport[], r: RecordedPush, store: StatusStore): Promise<Parameters<Hooks['enqueue']>[0]> {
  const statuses = reports.flatMap((rep) =>
    rep.elements.map((e) => {
      const last = latestOf(e.history);
      return {
        medium: e.medium,
        to: e.to,
        status: last.type,
        date: last.date,
        broadcastId: e.broadcastId,
        contactId: e.contactId,
        refExterne: e.refExterne,
        ...(last.code !== undefined ? { code: last.code } : {}),
        ...(last.info !== undefined ? { info: last.info } : {}),
      };
    }),
  );
  return {
    event: 'status',
    statuses: statuses.slice(0, 1000),
    count: statuses.length,
    links: await store.linksOf(r.broadcasts),
    detail: `${r.recorded} status(es) recorded, ${r.duplicates} already known`,
  };
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const XML_TYPES = ['text/xml', 'application/xml'];
const FORM_TYPE = 'application/x-www-form-urlencoded';
const DECLARED = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as text: UTF-8 unless the XML declaration names another encoding
 * this tool knows. Bytes that are not UTF-8 (invalid, overlong forms,
 * surrogates) are refused, never read as U+FFFD: the guide declares UTF-8
 * (line 6803), XML 1.0 makes an encoding error fatal, and `ref_externe` is
 * the key that joins a status to its row.
 */
function decodeXml(body: Buffer): string {
  let bytes = body;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const m = DECLARED.exec(bytes.subarray(0, 200).toString('latin1'));
  const enc = m?.[1] ? normalizeEncodingName(m[1]) : 'utf8';
  if (!enc) throw new Refusal(400, `the XML declaration names encoding '${m![1]!.slice(0, 30)}', which this receiver does not read: send UTF-8`);
  if (enc !== 'utf8') return iconv.decode(bytes, enc);
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new Refusal(400, `the body is not valid UTF-8 (at byte ${firstBadUtf8(bytes)}): the XML declares UTF-8 (guide line 6803); nothing was recorded`);
  }
}

/** The offset of the first byte that is not UTF-8 (invalid, overlong, surrogate, truncated), for the refusal's reason. */
function firstBadUtf8(b: Buffer): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    if (n === 0) {
      i++;
      continue;
    }
    const c1 = b[i + 1] ?? 0;
    // Overlong three- and four-byte forms, UTF-16 surrogates, past U+10FFFF.
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return b.length;
}

/** A form value's bytes, percent-decoded without any decoding of the bytes themselves (decodeXml checks them). */
function formValue(body: Buffer, field: string): Buffer | null {
  const raw = body.toString('latin1');
  const pairs = raw.split('&').map((p) => {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    const bytes = (x: string): Buffer =>
      Buffer.from(
        x.replace(/\+/g, ' ').replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      );
    return { k: bytes(k).toString('utf8'), v: bytes(v) };
  });
  const named = pairs.find((p) => p.k === field);
  if (named) return named.v;
  // A form with one field holding XML is read too (a client that names it otherwise).
  const only = pairs.length === 1 ? pairs[0]!.v : undefined;
  return only && only.toString('latin1').trimStart().startsWith('<') ? only : null;
}

function allowList(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const e of entries) {
    const [addr = '', bits] = e.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(addr)) throw new Error(`push.allowFrom: '${e}' is not an address or a CIDR range`);
    if (bits !== undefined) list.addSubnet(addr, Number(bits), family);
    else list.addAddress(addr, family);
  }
  return list;
}

function allowed(list: BlockList, ip: string): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip)?.[1];
  if (v4) return list.check(v4, 'ipv4') || list.check(ip, 'ipv6');
  return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Starts the receiver. Fastify loads here, so commands that never receive
 * do not pay for it.
 */
export async function startPushReceiver(opts: PushReceiverOptions): Promise<PushReceiver> {
  const { config: c, logger } = opts;
  // Each account's own commits; undefined key: the one journal of a receiver that takes any service.
  if (!opts.accounts && !opts.journal) throw new Error('startPushReceiver: a journal, or accounts');
  const targets: ReadonlyMap<string | undefined, PushTarget> =
    opts.accounts ??
    new Map([
      [opts.serviceId, { journal: opts.journal!, ...(opts.hooks ? { hooks: opts.hooks } : {}), ...(opts.onCommit ? { onCommit: opts.onCommit } : {}) }],
    ]);
  // A 200 says the status is committed: on PostgreSQL only when the commit waits for the disk.
  for (const { journal } of new Set(targets.values())) {
    const synchronous = await journal.synchronousCommit();
    if (synchronous !== 'off') continue;
    const what = `PostgreSQL at ${journal.path} commits with synchronous_commit = off: a status answered 200 could be lost if its server crashes`;
    if (!c.allowAsyncCommit)
      throw new JournalError(
        `${what}. Set synchronous_commit = on for the role or database (ALTER ROLE <user> SET synchronous_commit = on), or push.allowAsyncCommit: true to accept that`,
      );
    logger.warn({ journal: journal.path }, `${what} (push.allowAsyncCommit)`);
  }
  const { default: Fastify } = await import('fastify');
  const counters: PushCounters = { posts: 0, statuses: 0, duplicates: 0, refused: {}, otherService: 0, commits: 0 };
  // Each account's own: what its posts recorded (refusals are the receiver's: a refused post is no account's).
  const byAccount = new Map<string, PushCounters>();
  const commits = new Map(
    [...targets].map(([id, t]) => {
      const own: PushCounters = { posts: 0, statuses: 0, duplicates: 0, refused: {}, otherService: 0, commits: 0 };
      if (id !== undefined) byAccount.set(id, own);
      return [id, new GroupCommit(t.journal, new StatusStore(t.journal), [counters, own], t.hooks, t.onCommit, logger)] as const;
    }),
  );
  const pending = (): number => {
    let n = 0;
    for (const g of commits.values()) n += g.pendingStatuses;
    return n;
  };
  const taken = [...commits.keys()].filter((k): k is string => k !== undefined);
  const list = allowList(c.allowFrom);
  const serverOptions = {
    headersTimeout: c.headersTimeout * 1000,
    requestTimeout: c.requestTimeout * 1000,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: 1000,
  };
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: c.maxBodyBytes,
    connectionTimeout: c.requestTimeout * 1000,
    requestTimeout: c.requestTimeout * 1000,
    keepAliveTimeout: KEEP_ALIVE_MS,
    trustProxy: typeof c.trustProxy === 'boolean' ? c.trustProxy : [...c.trustProxy],
    ...(c.tls
      ? { https: { cert: readFileSync(c.tls.cert), key: readFileSync(c.tls.key), handshakeTimeout: c.headersTimeout * 1000, ...serverOptions } }
      : { http: serverOptions }),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  const refuse = (reply: FastifyReply, status: number, reason: string, headers: Readonly<Record<string, string>> = {}): FastifyReply => {
    counters.refused[String(status)] = (counters.refused[String(status)] ?? 0) + 1;
    for (const [k, v] of Object.entries(headers)) void reply.header(k, v);
    return reply.code(status).type('text/plain; charset=utf-8').send(`${reason}\n`);
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(XML_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'buffer' }, (_req, body, done) => {
    const xml = formValue(body as Buffer, c.formField);
    if (xml === null) return done(new Refusal(400, `the form has no '${c.formField}' field holding the XML (push.formField)`), undefined);
    done(null, xml);
  });
  app.addContentTypeParser('*', (req, _payload, done) => {
    done(
      new Refusal(
        400,
        `content type '${String(req.headers['content-type'] ?? 'none').slice(0, 60)}' is not accepted: send text/xml, application/xml or ${FORM_TYPE}`,
      ),
      undefined,
    );
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (list && !allowed(list, req.ip)) return refuse(reply, 403, `address ${req.ip} is not allowed to post statuses (push.allowFrom)`);
    if (c.username !== undefined && c.password) {
      const h = req.headers.authorization ?? '';
      const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h);
      const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
      const ok = sameSecret(given, `${c.username}:${c.password.reveal()}`);
      if (!ok)
        return refuse(reply, 401, m ? 'wrong credentials' : 'credentials needed (HTTP Basic)', {
          'WWW-Authenticate': 'Basic realm="dmc-trigger push", charset="UTF-8"',
        });
    }
    if (req.method === 'POST' && pending() >= c.maxPending)
      return refuse(reply, 503, 'too many statuses waiting for the journal: retry later', { 'Retry-After': '5' });
    return undefined;
  });

  app.post(c.path.reveal(), async (req, reply) => {
    counters.posts++;
    const body = req.body as Buffer | undefined;
    if (!body || body.length === 0) return refuse(reply, 400, 'the body is empty: post a <status_report>');
    let report: PushReport;
    try {
      report = parsePushReport(decodeXml(body), { maxElements: c.maxElements });
    } catch (e) {
      if (e instanceof PushFormatError || e instanceof Refusal) return refuse(reply, 400, e.message);
      throw e;
    }
    // A report names its service (guide line 6750): another service's statuses are never recorded under this one.
    const commit = commits.get(report.username) ?? (taken.length === 0 ? commits.get(undefined) : undefined);
    if (!commit && opts.unavailable?.has(report.username))
      return refuse(
        reply,
        503,
        `service ${report.username.slice(0, 40)} is configured but not running in this process (see its log): post again later; nothing was recorded`,
        { 'Retry-After': '60' },
      );
    if (!commit) {
      counters.otherService++;
      return refuse(
        reply,
        403,
        `the report is for service '${report.username.slice(0, 40)}', this receiver takes ${taken.length === 1 ? `service ${taken[0]}` : `services ${taken.join(', ')}`} (status_report username, guide line 6750); nothing was recorded`,
      );
    }
    const own = byAccount.get(report.username);
    if (own) own.posts++;
    try {
      await commit.submit(report);
    } catch {
      return refuse(reply, 503, 'the journal could not record the statuses: retry later', { 'Retry-After': '30' });
    }
    return reply.code(200).type('text/plain; charset=utf-8').send('OK\n');
  });

  app.setNotFoundHandler((req, reply) => {
    // The path may be the secret: a wrong one is not told apart from any unknown page.
    return req.url.split('?')[0] === c.path.reveal() ? refuse(reply, 405, 'use POST') : refuse(reply, 404, 'not found');
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof Refusal) return refuse(reply, err.status, err.message, err.headers);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return refuse(reply, 413, `the body is larger than ${c.maxBodyBytes} bytes (push.maxBodyBytes)`);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return refuse(reply, 400, err.message.split('\n')[0]!.slice(0, 200));
    logger.error({ err: err.message }, 'push receiver: unexpected error');
    return refuse(reply, 500, 'internal error');
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400) logger.warn({ status: reply.statusCode, ip: req.ip }, 'push post refused');
  });

  await app.listen({ host: c.host, port: c.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : c.port;
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  const origin = `${c.tls ? 'https' : 'http'}://${host}:${port}`;
  logger.info({ origin, path: c.path.source }, 'push receiver listening');
  return {
    origin,
    port,
    counters,
    accountCounters: byAccount,
    close: async () => {
      await app.close();
    },
  };
}
