/**
 * The operations console (`daemon.http`): server-rendered pages that work
 * without JavaScript (lists, forms), JavaScript only for the charts (uPlot,
 * served by the daemon itself: no CDN).
 *
 * Access: a token kept in a file (created 0600 when absent), exchanged at
 * /login for a session cookie (HttpOnly, SameSite=Strict); or, when
 * `authHeader` is set, the user a reverse proxy authenticated. Every POST
 * carries the session's CSRF token; the login form a double-submit one.
 * Every answer has a strict Content-Security-Policy. No secret is shown.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ActionError, resendInput, retryInput, whyNoResend, whyNoRetry } from '../../daemon/actions.js';
import { openRegular, readRegularFile } from '../../files/no-follow.js';
import type { InputRow, Journal } from '../../store/journal.js';
import { readCraFile } from '../../files/reports.js';
import { summarizeCra } from '../../formats/cra.js';
import { FindingList } from '../../formats/findings.js';
import type { Logger } from '../../transport/logger.js';
import { counts, esc, folderName, page as basePage, table } from './html.js';
import { pickLang, t, type Lang } from './i18n.js';
import { ConsoleQueries, PAGE_SIZE } from '../../store/console-queries.js';
import { sameSecret } from '../same-secret.js';
import { parisTime } from '../../formats/paris-time.js';

export interface ConsoleOptions {
  readonly journal: Journal;
  readonly logger: Logger;
  /** The access token (read from its file by the caller). */
  readonly token: string;
  readonly tokenFile: string;
  /** A header set by an authenticating reverse proxy (`X-Forwarded-User`); absent: the token only. */
  readonly authHeader?: string;
  /** The drop folder of a path (the error files live in its failed/). */
  readonly folders: readonly string[];
  /** Wakes the worker after Retry or Resend. */
  readonly wake: () => void;
  readonly account: () => { reachable: boolean; error?: string } | undefined;
  readonly lastPassAt: () => number | undefined;
  /** On a PostgreSQL journal: the account's lease as the store holds it, and this node's name. */
  readonly lease?: () => Promise<{ holder: string; epoch: number; since: Date; live: boolean } | undefined>;
  readonly node?: string;
  /** Where its pages are: `/a/<serviceId>` when the process serves several accounts (default: the root). */
  readonly base?: string;
  /** Where to go after logging in (default: this console's overview). */
  readonly home?: string;
  /** Several accounts: the one this console shows, every one's console, the overview of all (the selector). */
  readonly accounts?: { readonly current: string; readonly all: readonly { readonly id: string; readonly href: string }[]; readonly overview: string };
  /** The logged-in sessions, shared by every account's console of a process (one login for all). */
  readonly sessions?: Map<string, Session>;
}

export interface Session {
  readonly csrf: string;
  expires: number;
}

const SESSION_MS = 12 * 3600 * 1000;
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function cookies(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

const require = createRequire(import.meta.url);
const ASSETS = join(new URL('../../../', import.meta.url).pathname, 'assets');

/** Registers the console's routes on the daemon's HTTP server. */
export function registerConsole(app: FastifyInstance, o: ConsoleOptions): void {
  const sessions = o.sessions ?? new Map<string, Session>();
  const B = o.base ?? '';
  const page = (...[lang, title, body, opts]: Parameters<typeof basePage>): string =>
    basePage(lang, title, body, { ...opts, base: B, ...(o.accounts ? { accounts: o.accounts } : {}) });
  const q = new ConsoleQueries(o.journal);
  const assets: Record<string, { path: string; type: string }> = {
    'console.css': { path: join(ASSETS, 'console.css'), type: 'text/css; charset=utf-8' },
    'console.js': { path: join(ASSETS, 'console.js'), type: 'text/javascript; charset=utf-8' },
    'uplot.js': { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
    'uplot.css': { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
  };

  const langOf = (req: FastifyRequest): Lang =>
    pickLang((req.query as Record<string, string | undefined>)['lang'], cookies(req)['dmc_lang'], req.headers['accept-language']);

  /** The session of the request, or one made for the user the proxy names. */
  const sessionOf = (req: FastifyRequest, reply: FastifyReply): Session | undefined => {
    const id = cookies(req)['dmc_session'];
    const s = id ? sessions.get(id) : undefined;
    if (s && s.expires > Date.now()) return s;
    if (id) sessions.delete(id);
    if (o.authHeader && typeof req.headers[o.authHeader.toLowerCase()] === 'string') return startSession(reply);
    return undefined;
  };
  const startSession = (reply: FastifyReply): Session => {
    const id = randomBytes(32).toString('hex');
    const s = { csrf: randomBytes(32).toString('hex'), expires: Date.now() + SESSION_MS };
    sessions.set(id, s);
    void reply.header('set-cookie', `dmc_session=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}`);
    return s;
  };
  const html = (reply: FastifyReply, status: number, body: string): FastifyReply => reply.code(status).type('text/html; charset=utf-8').send(body);

  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('content-security-policy', CSP);
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
    const lang = (req.query as Record<string, string | undefined> | undefined)?.['lang'];
    if (lang === 'fr' || lang === 'en') {
      const prev = reply.getHeader('set-cookie');
      const c = `dmc_lang=${lang}; SameSite=Strict; Path=/; Max-Age=31536000`;
      void reply.header('set-cookie', prev ? [...(Array.isArray(prev) ? prev : [String(prev)]), c] : c);
    }
    return payload;
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get('/assets/:name', async (req, reply) => {
    const a = assets[(req.params as { name: string }).name];
    if (!a) return reply.code(404).type('text/plain').send('not found\n');
    return reply
      .type(a.type)
      .header('cache-control', 'public, max-age=3600')
      .send(await readFile(a.path));
  });

  const loginPage = (req: FastifyRequest, reply: FastifyReply, status: number, error?: string): FastifyReply => {
    const lang = langOf(req);
    // One pre-login token per browser (a second tab, or a favicon fetch sent to /login, must not outdate the form).
    const pre = /^[a-f0-9]{32}$/.test(cookies(req)['dmc_login'] ?? '') ? cookies(req)['dmc_login']! : randomBytes(16).toString('hex');
    void reply.header('set-cookie', `dmc_login=${pre}; HttpOnly; SameSite=Strict; Path=${B}/login`);
    return html(
      reply,
      status,
      page(
        lang,
        t(lang, 'Log in'),
        `${error ? `<p class="error">${esc(error)}</p>` : ''}<form method="post" action="${B}/login">
<input type="hidden" name="_csrf" value="${pre}"><label>${t(lang, 'Access token')} <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button>${t(lang, 'Log in')}</button></form><p class="hint">${t(lang, 'The token is in the file')} <code>${esc(o.tokenFile)}</code>.</p>`,
        { nav: false },
      ),
    );
  };
  // No icon: an empty answer, so that browsers stop asking (and no 404 in their console).
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/login', async (req, reply) => loginPage(req, reply, 200));
  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const pre = cookies(req)['dmc_login'];
    if (!pre || !body['_csrf'] || !sameSecret(pre, body['_csrf']))
      return reply.code(403).type('text/plain; charset=utf-8').send('refused: the login form is stale or forged; reload /login\n');
    if (!body['token'] || !sameSecret(body['token'], o.token)) {
      o.logger.warn({ ip: req.ip }, 'console: wrong token');
      return loginPage(req, reply, 401, t(langOf(req), 'Wrong token.'));
    }
    startSession(reply);
    return reply.redirect(o.home ?? `${B}/`, 303);
  });

  // Everything else: a session, and for a POST its CSRF token.
  const open = new Set([`${B}/login`, '/healthz', '/readyz', '/metrics', `${B}/favicon.ico`]);
  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (open.has(path) || path.startsWith(`${B}/assets/`)) return;
    const s = sessionOf(req, reply);
    if (!s) {
      if (req.method === 'GET') return reply.redirect(`${B}/login`, 303);
      return reply.code(401).type('text/plain; charset=utf-8').send('refused: log in first (/login)\n');
    }
    (req as FastifyRequest & { session?: Session }).session = s;
    if (req.method === 'POST') {
      const token = ((req.body ?? {}) as Record<string, string>)['_csrf'];
      if (!token || !sameSecret(token, s.csrf))
        return reply.code(403).type('text/plain; charset=utf-8').send('refused: no valid CSRF token with this request\n');
    }
  });
  const sessionIn = (req: FastifyRequest): Session => (req as FastifyRequest & { session: Session }).session;

  app.post('/logout', async (req, reply) => {
    const id = cookies(req)['dmc_session'];
    if (id) sessions.delete(id);
    void reply.header('set-cookie', 'dmc_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0');
    return reply.redirect(`${B}/login`, 303);
  });

  /** Live updates, on unless the operator paused them (a cookie). */
  const liveFor = (req: FastifyRequest): { on: boolean; path: string } => ({ on: cookies(req)['dmc_live'] !== '0', path: req.url });
  app.get('/live', async (req, reply) => {
    const q0 = req.query as Record<string, string | undefined>;
    const on = q0['on'] !== '0';
    // Back to a page of this console only (never an open redirect).
    const back = q0['back'] && /^\/(?![/\\])/.test(q0['back']) ? q0['back'] : `${B}/`;
    void reply.header('set-cookie', `dmc_live=${on ? '1' : '0'}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000`);
    return reply.redirect(back, 303);
  });

  app.get('/', async (req, reply) => {
    const lang = langOf(req);
    const ov = await q.overview();
    const big = await q.counters();
    const account = o.account();
    const last = o.lastPassAt();
    const lease = o.lease ? await o.lease().catch(() => undefined) : undefined;
    const alerts: string[] = [];
    if (o.lease && !lease?.live) alerts.push(t(lang, 'No node leads the account now'));
    if (ov.failed) alerts.push(`<a href="${B}/inputs?state=failed">${ov.failed} ${t(lang, 'failed input(s)')}</a>`);
    for (const f of ov.folders.filter((x) => !x.healthy)) alerts.push(`${esc(f.path)}: ${t(lang, 'unhealthy')} — ${esc(f.error ?? '')}`);
    if (ov.hooks['dead']) alerts.push(`${ov.hooks['dead']} ${t(lang, 'hook deliveries given up')}`);
    if (account && !account.reachable) alerts.push(`${t(lang, 'Account')}: ${t(lang, 'unreachable')} — ${esc(account.error ?? '')}`);
    // What an operator checks first, large: today's exports sent, triggers processed, failed inputs, statuses pending.
    const counter = (label: string, n: number, href?: string, bad = false): string =>
      `<div class="counter${bad && n ? ' bad' : ''}">${href ? `<a href="${href}">` : ''}<b>${n.toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB')}</b>${href ? '</a>' : ''}<span>${t(lang, label)}</span></div>`;
    const body = `<section class="counters">${counter('Exports sent today', big.sentToday)}${counter('Triggers processed', big.processedToday)}${counter(
      'Failed inputs',
      ov.failed,
      '/inputs?state=failed',
      true,
    )}${counter('Statuses pending', big.pendingStatuses, '/broadcasts')}</section>
<section class="cards">
<div class="card"><h2>${t(lang, 'Drop folders')}</h2><ul>${
      ov.folders.map((f) => `<li class="${f.healthy ? 'ok' : 'bad'}">${folderName(f.path)}: ${t(lang, f.healthy ? 'healthy' : 'unhealthy')}</li>`).join('') ||
      `<li>${t(lang, 'none')}</li>`
    }</ul></div>
<div class="card"><h2>${t(lang, 'Account')}</h2><p class="${account ? (account.reachable ? 'ok' : 'bad') : ''}">${t(lang, account ? (account.reachable ? 'reachable' : 'unreachable') : 'not tried yet')}</p></div>
${
  o.lease
    ? `<div class="card"><h2>${t(lang, 'Leader')}</h2><p class="${lease?.live ? 'ok' : 'bad'}">${
        lease?.live
          ? `${esc(lease.holder)}${lease.holder === o.node ? ` (${t(lang, 'this node')})` : ''}, ${t(lang, 'epoch')} ${lease.epoch}, ${t(lang, 'since')} ${esc(when(lease.since.toISOString(), lang))}`
          : t(lang, 'none')
      }</p></div>`
    : ''
}<div class="card"><h2>${t(lang, 'Inputs by state')}</h2><p>${counts(ov.inputs, lang)}</p></div>
<div class="card"><h2>${t(lang, 'Triggers by state')}</h2><p>${counts(ov.triggers, lang)}</p></div>
<div class="card"><h2>${t(lang, 'Last pass')}</h2><p>${last ? esc(when(new Date(last).toISOString(), lang)) : t(lang, 'none')}</p></div>
<div class="card"><h2>${t(lang, 'Last report collected')}</h2><p>${ov.lastReport ? `${esc(ov.lastReport.name)} (${esc(when(ov.lastReport.updated_at, lang))})` : t(lang, 'none')}</p></div>
</section><h2>${t(lang, 'Alerts')}</h2>${alerts.length ? `<ul class="alerts">${alerts.map((a) => `<li>${a}</li>`).join('')}</ul>` : `<p>${t(lang, 'No alert.')}</p>`}
<h2>${t(lang, 'The last 24 hours')}</h2><div id="chart" class="chart"></div><script type="application/json" id="chart-data">${JSON.stringify({
      series: await q.activity(),
      labels: [t(lang, 'Triggers processed'), t(lang, 'Failed inputs')],
      time: t(lang, 'Time (Paris)'),
      contacts: t(lang, 'Count'),
      lang,
    }).replace(/</g, '\\u003c')}</script>`;
    return html(
      reply,
      200,
      page(lang, t(lang, 'Overview'), body, {
        csrf: sessionIn(req).csrf,
        live: liveFor(req),
        scripts: [`${B}/assets/uplot.js`, `${B}/assets/console.js`],
      }).replace('</head>', `<link rel="stylesheet" href="${B}/assets/uplot.css"></head>`),
    );
  });

  app.get('/inputs', async (req, reply) => {
    const lang = langOf(req);
    const f = req.query as Record<string, string | undefined>;
    const filter = { state: f['state'] || undefined, folder: f['folder'] || undefined, date: f['date'] || undefined, name: f['name'] || undefined };
    const pageNo = Math.max(1, Number.parseInt(f['page'] ?? '1', 10) || 1);
    const { rows, total } = await q.inputs(filter, pageNo);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const qs = (p: number): string =>
      `?${new URLSearchParams({ ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)), page: String(p) } as Record<string, string>).toString()}`;
    const option = (v: string, cur: string | undefined): string =>
      `<option value="${esc(v)}"${v === cur ? ' selected' : ''}>${esc(v || t(lang, 'any'))}</option>`;
    const form = `<form method="get" action="${B}/inputs" class="filters">
<label>${t(lang, 'State')} <select name="state">${['', ...(await q.states())].map((s) => option(s, filter.state)).join('')}</select></label>
<label>${t(lang, 'Folder')} <select name="folder">${['', ...o.folders].map((s) => option(s, filter.folder)).join('')}</select></label>
<label>${t(lang, 'Date')} <input type="date" name="date" value="${esc(filter.date ?? '')}"></label>
<label>${t(lang, 'Name')} <input type="search" name="name" value="${esc(filter.name ?? '')}"></label>
<button>${t(lang, 'Filter')}</button></form>`;
    const list = table(
      ['#', t(lang, 'State'), t(lang, 'Name'), t(lang, 'Folder'), t(lang, 'Created'), t(lang, 'Error')],
      rows.map((r) => [
        `<a href="${B}/inputs/${r.id}">${r.id}</a>`,
        `<span class="state ${esc(r.state)}">${esc(t(lang, r.state))}</span>`,
        `<a href="${B}/inputs/${r.id}">${esc(r.name)}</a>`,
        folderName(r.folder),
        esc(when(r.created_at, lang)),
        esc((r.last_error ?? '').split('\n')[0]!.slice(0, 160)),
      ]),
    );
    const nav = `<p class="pager">${pageNo > 1 ? `<a href="${B}/inputs${qs(pageNo - 1)}" rel="prev">${t(lang, 'Previous')}</a>` : ''} ${t(lang, 'page')} ${pageNo} ${t(lang, 'of')} ${pages} (${total}) ${
      pageNo < pages ? `<a href="${B}/inputs${qs(pageNo + 1)}" rel="next">${t(lang, 'Next')}</a>` : ''
    }</p>`;
    return html(reply, 200, page(lang, t(lang, 'Inputs'), form + list + nav, { csrf: sessionIn(req).csrf }));
  });

  app.get('/inputs/:id', async (req, reply) => {
    const lang = langOf(req);
    const row = await o.journal.input(Number((req.params as { id: string }).id));
    if (!row) return html(reply, 404, page(lang, t(lang, 'Not found.'), '', { csrf: sessionIn(req).csrf }));
    const csrf = sessionIn(req).csrf;
    const triggers = await o.journal.triggersOf(row.id);
    const errorText =
      row.state === 'failed' || row.state === 'duplicate'
        ? // Never through a link: failed/ is inside the drop folder.
          await readRegularFile(join(row.folder, 'failed', `${row.name}.error.txt`)).then(
            (x) => x.slice(0, 20_000),
            () => undefined,
          )
        : undefined;
    const results = await q.resultsSummary(row.id);
    const body = `<dl>
<dt>${t(lang, 'State')}</dt><dd><span class="state ${esc(row.state)}">${esc(t(lang, row.state))}</span></dd>
<dt>${t(lang, 'Folder')}</dt><dd>${esc(row.folder)}</dd><dt>${t(lang, 'Created')}</dt><dd>${esc(when(row.created_at, lang))}</dd>
<dt>${t(lang, 'Updated')}</dt><dd>${esc(when(row.updated_at, lang))}</dd><dt>${t(lang, 'Attempts')}</dt><dd>${row.attempts}</dd>
${row.last_error ? `<dt>${t(lang, 'Error')}</dt><dd><pre>${esc(row.last_error)}</pre></dd>` : ''}
${row.rejected ? `<dt>${t(lang, 'Rows rejected')}</dt><dd>${row.rejected}</dd>` : ''}
${row.warnings ? `<dt>${t(lang, 'Notes')}</dt><dd><pre>${esc(row.warnings)}</pre></dd>` : ''}</dl>
<h2>${t(lang, 'Trigger')}</h2>${table(
      ['#', t(lang, 'Remote name'), t(lang, 'Contacts'), t(lang, 'State'), t(lang, 'Outcome'), t(lang, 'Broadcast')],
      triggers.map((tr) => [
        String(tr.part),
        esc(tr.remote_name),
        String(tr.contacts),
        esc(t(lang, tr.state)),
        esc(tr.outcome ? t(lang, tr.outcome) : ''),
        tr.broadcast_id ? `<a href="${B}/broadcasts/${encodeURIComponent(tr.broadcast_id)}">${esc(tr.broadcast_id)}</a>` : '',
      ]),
    )}
${errorText !== undefined ? `<h2>${t(lang, 'Error file')}</h2><pre class="errorfile">${esc(errorText)}</pre>` : ''}
${results ? `<h2>${t(lang, 'Results')}</h2><p>${counts(results.byStatus, lang)}${results.final ? ' (final)' : ''} — <code>${esc(results.resultsFile)}</code></p>` : ''}
${await actions(row, csrf, lang)}`;
    // The notice is the console's own words for what was done, chosen by a code: never text from the URL.
    const done = (req.query as Record<string, string | undefined>)['done'];
    const notice =
      done === 'retry'
        ? t(lang, 'Put back in its drop folder: the daemon takes it as a new input.')
        : done === 'resend'
          ? t(lang, 'Put back in its drop folder and marked to be sent again, as a new broadcast.')
          : undefined;
    return html(
      reply,
      200,
      page(lang, `${t(lang, 'Input')} #${row.id} ${row.name}`, `${notice ? `<p class="flash">${esc(notice)}</p>` : ''}${body}`, { csrf }),
    );
  });

  /** The actions this input allows, and only those. */
  async function actions(row: InputRow, csrf: string, lang: Lang): Promise<string> {
    const retry = (await whyNoRetry(o.journal, row)) === undefined;
    const resend = whyNoResend(row) === undefined;
    if (!retry && !resend) return '';
    return `<section class="actions">
${retry ? `<form method="post" action="${B}/inputs/${row.id}/retry"><input type="hidden" name="_csrf" value="${esc(csrf)}"><button>${t(lang, 'Retry')}</button> <small>${t(lang, 'Retry takes a failed input that never reached the platform.')}</small></form>` : ''}
${resend ? `<p><a class="button" href="${B}/inputs/${row.id}/resend">${t(lang, 'Resend')}…</a> <small>${t(lang, 'Resend sends it again, as a new broadcast.')}</small></p>` : ''}
</section>`;
  }

  /** A refused action: a page saying why, and the way back. */
  function refused(reply: FastifyReply, lang: Lang, row: InputRow, why: string, csrf: string): FastifyReply {
    return html(
      reply,
      409,
      page(lang, t(lang, 'Not done'), `<p class="error">${esc(why)}</p><p><a href="${B}/inputs/${row.id}">${t(lang, 'Back to the input')}</a></p>`, { csrf }),
    );
  }

  // Resend starts a whole new broadcast: a confirmation page first, with what would go out, as the CLI asks for --force.
  app.get('/inputs/:id/resend', async (req, reply) => {
    const lang = langOf(req);
    const csrf = sessionIn(req).csrf;
    const row = await o.journal.input(Number((req.params as { id: string }).id));
    if (!row) return html(reply, 404, page(lang, t(lang, 'Not found.'), '', { csrf }));
    const no = whyNoResend(row);
    if (no) return refused(reply, lang, row, no, csrf);
    const triggers = await o.journal.triggersOf(row.id);
    const contacts = triggers.reduce((n, tr) => n + tr.contacts, 0);
    const names = [...new Set(triggers.map((tr) => tr.remote_name))];
    const body = `<p>${t(lang, 'Send this input again, as a new broadcast?')}</p>
<dl><dt>${t(lang, 'Input')}</dt><dd>#${row.id} ${esc(row.name)}</dd>
<dt>${t(lang, 'Broadcast name')}</dt><dd>${esc((await broadcastNameOf(row, triggers[0]?.local_path)) ?? '?')}</dd>
<dt>${t(lang, 'Contacts')}</dt><dd>${triggers.length ? String(contacts) : '?'}</dd>
<dt>${t(lang, 'Sent before as')}</dt><dd>${names.map(esc).join(', ') || '—'}</dd></dl>
<form method="post" action="${B}/inputs/${row.id}/resend"><input type="hidden" name="_csrf" value="${esc(csrf)}"><input type="hidden" name="confirm" value="yes"><button>${t(lang, 'Yes, send it again')}</button> <a href="${B}/inputs/${row.id}">${t(lang, 'Cancel')}</a></form>`;
    return html(reply, 200, page(lang, `${t(lang, 'Resend')} #${row.id}`, body, { csrf }));
  });

  for (const action of ['retry', 'resend'] as const)
    app.post(`/inputs/:id/${action}`, async (req, reply) => {
      const lang = langOf(req);
      const csrf = sessionIn(req).csrf;
      const row = await o.journal.input(Number((req.params as { id: string }).id));
      if (!row) return html(reply, 404, page(lang, t(lang, 'Not found.'), '', { csrf }));
      if (action === 'resend' && (req.body as Record<string, string | undefined> | undefined)?.['confirm'] !== 'yes')
        return reply.redirect(`${B}/inputs/${row.id}/resend`, 303);
      try {
        if (action === 'retry') await retryInput(o.journal, row);
        else await resendInput(o.journal, row);
        o.logger.info({ input: row.id, action }, 'console: input put back');
        o.wake();
        return reply.redirect(`${B}/inputs/${row.id}?done=${action}`, 303);
      } catch (e) {
        if (e instanceof ActionError) return refused(reply, lang, row, e.message, csrf);
        throw e;
      }
    });

  app.get('/broadcasts', async (req, reply) => {
    const lang = langOf(req);
    const pageNo = Math.max(1, Number.parseInt((req.query as Record<string, string | undefined>)['page'] ?? '1', 10) || 1);
    const { rows, total } = await q.broadcasts(pageNo);
    const list = table(
      [t(lang, 'Broadcast'), t(lang, 'Input'), t(lang, 'Contacts'), t(lang, 'delivered'), t(lang, 'failed'), t(lang, 'pending')],
      rows.map((b) => [
        `<a href="${B}/broadcasts/${encodeURIComponent(b.broadcastId)}">${esc(b.broadcastId)}</a>`,
        `<a href="${B}/inputs/${b.inputId}">#${b.inputId} ${esc(b.inputName)}</a>`,
        String(b.contacts),
        String(b.byStatus.delivered),
        String(b.byStatus.failed),
        String(b.byStatus.pending),
      ]),
    );
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const nav = `<p class="pager">${pageNo > 1 ? `<a href="${B}/broadcasts?page=${pageNo - 1}">${t(lang, 'Previous')}</a>` : ''} ${t(lang, 'page')} ${pageNo} ${t(lang, 'of')} ${pages} ${
      pageNo < pages ? `<a href="${B}/broadcasts?page=${pageNo + 1}">${t(lang, 'Next')}</a>` : ''
    }</p>`;
    return html(reply, 200, page(lang, t(lang, 'Broadcasts'), list + nav, { csrf: sessionIn(req).csrf }));
  });

  app.get('/broadcasts/:id', async (req, reply) => {
    const lang = langOf(req);
    const id = (req.params as { id: string }).id;
    const d = await q.broadcast(id);
    const csrf = sessionIn(req).csrf;
    const media = table(
      [t(lang, 'Medium'), t(lang, 'delivered'), t(lang, 'failed'), t(lang, 'pending')],
      Object.entries(d.byMedium).map(([m, c]) => [esc(m || '?'), String(c.delivered), String(c.failed), String(c.pending)]),
    );
    const links = d.inputs.map((i) => `<a href="${B}/inputs/${i.id}">#${i.id} ${esc(i.name)}</a>`).join(', ');
    const chart = d.series[0].length
      ? `<h2>${t(lang, 'Deliveries over time')}</h2><div id="chart" class="chart"></div><script type="application/json" id="chart-data">${JSON.stringify({
          series: d.series,
          labels: [t(lang, 'delivered'), t(lang, 'failed')],
          time: t(lang, 'Time (Paris)'),
          contacts: t(lang, 'Contacts'),
          lang,
        }).replace(/</g, '\\u003c')}</script>`
      : `<p>${t(lang, 'No status yet.')}</p>`;
    return html(
      reply,
      200,
      page(lang, `${t(lang, 'Broadcast')} ${id}`, `<p>${links}</p><p>${counts(d.byStatus, lang)}</p>${media}${chart}`, {
        csrf,
        live: liveFor(req),
        scripts: d.series[0].length ? [`${B}/assets/uplot.js`, `${B}/assets/console.js`] : [],
      }).replace('</head>', `<link rel="stylesheet" href="${B}/assets/uplot.css"></head>`),
    );
  });

  app.get('/reports', async (req, reply) => {
    const lang = langOf(req);
    const list = table(
      [t(lang, 'Name'), t(lang, 'State'), t(lang, 'Size'), t(lang, 'Updated')],
      (await q.reports()).map((r) => [
        `<a href="${B}/reports/${encodeURIComponent(r.name)}">${esc(r.name)}</a>`,
        esc(r.state),
        String(r.size),
        esc(when(r.updated_at, lang)),
      ]),
    );
    return html(reply, 200, page(lang, t(lang, 'Reports'), list, { csrf: sessionIn(req).csrf }));
  });

  app.get('/reports/:name', async (req, reply) => {
    const lang = langOf(req);
    const r = await o.journal.report((req.params as { name: string }).name);
    if (!r) return html(reply, 404, page(lang, t(lang, 'Not found.'), '', { csrf: sessionIn(req).csrf }));
    // Summarized when collected (report-step.ts); a report collected by an older version is summarized once, then kept.
    let s = (await o.journal.reportSummary(r.name, r.size)) as Awaited<ReturnType<typeof summarizeCra>> | undefined;
    if (!s) {
      s = await summarizeCra(readCraFile(r.local_path, new FindingList(100)));
      await o.journal.setReportSummary(r.name, r.size, s);
    }
    const body = `<p>${t(lang, 'Records')}: <b>${s.records}</b> — ${esc(r.state)}</p>${s.broadcasts
      .map(
        (b) =>
          `<h2><a href="${B}/broadcasts/${encodeURIComponent(b.broadcastId)}">${t(lang, 'Broadcast')} ${esc(b.broadcastId)}</a></h2><p>${t(lang, 'Contacts')}: ${b.contacts}, ${t(
            lang,
            'Success rate',
          )}: ${(b.successRate * 100).toFixed(0)} %</p>${table(
            [t(lang, 'Label'), 'code', t(lang, 'Count')],
            b.results.map((x) => [esc(x.label), esc(x.codes.join(' | ')), String(x.count)]),
          )}`,
      )
      .join('')}`;
    return html(reply, 200, page(lang, r.name, body, { csrf: sessionIn(req).csrf }));
  });
}

/**
 * The broadcast name an input's trigger carried, read from the head of its
 * trigger file in sent/ or failed/ (never through a link: they are inside
 * the drop folder). Undefined when the file is not there any more.
 */
async function broadcastNameOf(row: InputRow, localPath: string | undefined): Promise<string | undefined> {
  if (!localPath) return undefined;
  const name = basename(localPath).replace(/^\d{6,}-/, '');
  for (const dir of ['sent', 'failed', 'work']) {
    const path = join(row.folder, dir, dir === 'work' ? basename(localPath) : name);
    const fh = await openRegular(path, path).catch(() => undefined);
    if (!fh) continue;
    try {
      const buf = Buffer.alloc(8192);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      const head = buf.subarray(0, bytesRead).toString('latin1');
      const m = /^broadcastName:(.*)$/m.exec(head) ?? /<broadcastName>([^<]*)<\/broadcastName>/.exec(head);
      if (m) return m[1]!.trim();
    } finally {
      await fh.close();
    }
  }
  return undefined;
}

/** An instant as a person reads it on the console: Paris time, 24-hour, French dates in French (machine output keeps ISO). */
function when(iso: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = parisTime(d);
  const [y, m, day] = p.date.split('-');
  return lang === 'fr' ? `${day}/${m}/${y} ${p.seconds}` : `${p.date} ${p.seconds}`;
}

/** One account of the overview of all (several accounts in one process). */
export interface OverviewAccount {
  readonly id: string;
  /** Its console (`/a/<serviceId>/`). */
  readonly href: string;
  readonly journal: Journal;
  readonly account: () => { reachable: boolean; error?: string } | undefined;
  readonly lease?: () => Promise<{ holder: string; epoch: number; since: Date; live: boolean } | undefined>;
  readonly node?: string;
}

/**
 * `/`: every account of the process on one page (issue #21), each linked to
 * its console. One login serves every account's console (`sessions` shared).
 */
export function registerAccountsOverview(
  app: FastifyInstance,
  o: { readonly accounts: readonly OverviewAccount[]; readonly sessions: Map<string, Session>; readonly authHeader?: string },
): void {
  const first = o.accounts[0]!;
  const loggedIn = (req: FastifyRequest): boolean => {
    const s = o.sessions.get(cookies(req)['dmc_session'] ?? '');
    return (s !== undefined && s.expires > Date.now()) || (o.authHeader !== undefined && typeof req.headers[o.authHeader.toLowerCase()] === 'string');
  };
  app.get('/login', async (_req, reply) => reply.redirect(`${first.href}login`, 303));
  app.get('/', async (req, reply) => {
    // The login is an account's console's: logged in there, logged in for all (and back here after).
    if (!loggedIn(req)) return reply.redirect(`${first.href}login`, 303);
    const lang = pickLang((req.query as Record<string, string | undefined>)['lang'], cookies(req)['dmc_lang'], req.headers['accept-language']);
    const rows = await Promise.all(
      o.accounts.map(async (a) => {
        const ov = await new ConsoleQueries(a.journal).overview();
        const reach = a.account();
        const lease = a.lease ? await a.lease().catch(() => undefined) : undefined;
        return [
          `<a href="${esc(a.href)}">${esc(a.id)}</a>`,
          counts(ov.inputs, lang),
          ov.failed ? `<a class="bad" href="${esc(a.href)}inputs?state=failed">${ov.failed}</a>` : '0',
          `<span class="${reach ? (reach.reachable ? 'ok' : 'bad') : ''}">${t(lang, reach ? (reach.reachable ? 'reachable' : 'unreachable') : 'not tried yet')}</span>`,
          ...(a.lease
            ? [
                lease?.live
                  ? `${esc(lease.holder)}${lease.holder === a.node ? ` (${t(lang, 'this node')})` : ''}`
                  : `<span class="bad">${t(lang, 'none')}</span>`,
              ]
            : []),
        ];
      }),
    );
    const headers = [
      t(lang, 'Account'),
      t(lang, 'Inputs by state'),
      t(lang, 'Failed inputs'),
      t(lang, 'Platform'),
      ...(first.lease ? [t(lang, 'Leader')] : []),
    ];
    return reply
      .code(200)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .send(
        basePage(lang, t(lang, 'All accounts'), table(headers, rows), {
          base: first.href.replace(/\/$/, ''),
          accounts: { current: '', all: o.accounts.map((a) => ({ id: a.id, href: a.href })), overview: '/' },
        }),
      );
  });
}
