/**
 * The configuration file (YAML or JSON): the DMC service, the transport,
 * timeouts and retries. Loose in (a file a person writes), strict inside
 * (`ResolvedConfig`, every default applied once). Secrets come from
 * `${ENV_VAR}` references or files (`passwordFile`, `privateKeyFile`) and are
 * held in `Secret` objects that never print their value.
 *
 * Reference: docs/config.md.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { distance } from '../formats/params.js';

/** A node's name (daemon.store.node, DMC_NODE): what the lease and the status show. */
const NODE_NAME = /^[A-Za-z0-9._-]{1,40}$/;

/** A secret value: `String(secret)`, JSON and inspection show `[secret]`, never the value. */
export class Secret {
  readonly #value: string;
  constructor(
    value: string,
    readonly source: string,
  ) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[secret]';
  }
  toJSON(): string {
    return '[secret]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `[secret from ${this.source}]`;
  }
}

export type ConfigErrorCode = 'CONFIG_NOT_FOUND' | 'CONFIG_SYNTAX' | 'CONFIG_INVALID' | 'CONFIG_SECRET';

/** A configuration problem: the file, the key, and what to do. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    readonly file?: string,
    readonly key?: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** Seconds; Node's timers overflow past 2,147,483 s (24.8 days) and would fire at once. */
export const MAX_SECONDS = 2_147_483;
const duration = z
  .number({ error: 'a number of seconds' })
  .positive('a positive number of seconds')
  .max(MAX_SECONDS, `at most ${MAX_SECONDS} seconds (24.8 days)`);
const port = z.number().int().min(1).max(65535);

const schema = z.strictObject({
  service: z.strictObject({
    serviceId: z.union([z.string(), z.number()]).transform(String),
    spaceId: z.union([z.string(), z.number()]).transform(String).optional(),
  }),
  transport: z
    .strictObject({
      protocol: z.enum(['sftp', 'ftp']).default('sftp'),
      host: z.string().min(1),
      port: port.optional(),
      username: z.string().min(1),
      password: z.string().optional(),
      passwordFile: z.string().optional(),
      privateKey: z.string().optional(),
      privateKeyFile: z.string().optional(),
      passphrase: z.string().optional(),
      hostKey: z.union([z.string(), z.array(z.string())]).optional(),
      knownHosts: z.string().optional(),
      acceptNewHostKey: z.boolean().default(false),
      remoteRoot: z.string().optional(),
      ftp: z
        .strictObject({
          mode: z.enum(['active', 'passive']).default('active'),
          activeAddress: z.string().optional(),
          activePortRange: z
            .string()
            .regex(/^\d+-\d+$/, 'a range like 50000-50100')
            .optional(),
          tls: z.boolean().default(false),
        })
        .default({ mode: 'active', tls: false }),
    })
    .optional(),
  mail: z
    .strictObject({
      from: z.string().min(3),
      platformAddress: z.string().default('dmc_admin@dmc.sfr-sh.fr'),
      mail2smsDomain: z.string().default('mailtoSMS.fr'),
      signature: z.boolean().default(false),
      replyTimeout: duration.default(900),
      stateDir: z.string().default('mail-state'),
      smtp: z.strictObject({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).optional(),
        secure: z.boolean().default(false),
        requireTLS: z.boolean().default(true),
        username: z.string().optional(),
        password: z.string().optional(),
        passwordFile: z.string().optional(),
      }),
      imap: z
        .strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535).optional(),
          secure: z.boolean().default(true),
          username: z.string().min(1),
          password: z.string().optional(),
          passwordFile: z.string().optional(),
          mailbox: z.string().default('INBOX'),
          moveTo: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  daemon: z
    .strictObject({
      journal: z.string().default('state/journal.db'),
      store: z
        .strictObject({
          password: z.string().optional(),
          passwordFile: z.string().optional(),
          schema: z
            .string()
            .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _, starting with a letter')
            .default('dmc'),
          poolSize: z.number().int().min(2).max(100).default(10),
          node: z.string().regex(NODE_NAME, 'letters, digits, . _ and -, at most 40').optional(),
          leaseSeconds: duration.default(6),
          leaseMarginSeconds: duration.default(1),
        })
        .optional(),
      stableSeconds: duration.default(5),
      rescanSeconds: duration.default(60),
      usePolling: z.boolean().default(false),
      rate: z.number().positive().max(5).default(5),
      reportsAt: z
        .string()
        .regex(/^\d{2}:\d{2}$/, 'a time like 07:00')
        .default('07:00'),
      reportsEvery: duration.optional(),
      language: z.enum(['en', 'fr']).default('en'),
      maxAttempts: z.number().int().min(1).max(100).default(3),
      http: z
        .strictObject({
          listen: z
            .string()
            .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'host:port, like 127.0.0.1:8481')
            .default('127.0.0.1:8481'),
          readyPassSeconds: duration.default(300),
          console: z.boolean().default(true),
          tokenFile: z.string().optional(),
          authHeader: z
            .string()
            .regex(/^[A-Za-z0-9-]+$/, 'a header name, like X-Forwarded-User')
            .optional(),
        })
        .optional(),
      results: z
        .strictObject({
          enabled: z.boolean().default(true),
          name: z
            .string()
            .regex(/\{name\}/, 'the name must hold {name} (the export file name)')
            .regex(/^[^/\\]+$/, 'a file name, without a folder')
            .default('{name}.results.csv'),
          finalAfterDays: z.number().positive().max(365).default(7),
        })
        .default({ enabled: true, name: '{name}.results.csv', finalAfterDays: 7 }),
      hooks: z
        .array(
          z
            .strictObject({
              on: z.array(z.enum(['sent', 'processed', 'failed', 'report', 'unhealthy', 'recovered', 'status'])).min(1),
              command: z.string().optional(),
              url: z
                .string()
                .regex(/^https?:\/\//i, 'a webhook URL starts with http:// or https://')
                .optional(),
            })
            .refine((h) => h.command !== undefined || h.url !== undefined, 'a hook needs a command or a url'),
        )
        .default([]),
      dropFolders: z
        .array(
          z.strictObject({
            path: z.string(),
            command: z.string(),
            map: z.record(z.string(), z.string()).default({}),
            format: z.enum(['csv', 'xml']).default('csv'),
            split: z.number().int().min(1).max(100_000).optional(),
            documents: z.array(z.string()).default([]),
            doneMarker: z.boolean().default(false),
            allowDuplicates: z.boolean().default(false),
            rejectBadRows: z.boolean().default(false),
            maxRejected: z.union([z.number().int().min(0), z.string().regex(/^\d+(\.\d+)?%$/, 'a share such as 5%')]).optional(),
            emptyExport: z.enum(['sent', 'failed']).default('sent'),
            group: z.strictObject({ windowSeconds: duration, maxFiles: z.number().int().min(2).max(10_000).default(1000) }).optional(),
          }),
        )
        .min(1),
    })
    .optional(),
  timeouts: z
    .strictObject({
      connect: duration.default(20),
      idle: duration.default(60),
      transfer: duration.default(600),
      documentsTaken: duration.default(180),
      outcome: duration.default(300),
      poll: duration.default(5),
    })
    .default({ connect: 20, idle: 60, transfer: 600, documentsTaken: 180, outcome: 300, poll: 5 }),
  retries: z
    .strictObject({
      attempts: z.number().int().min(0).max(20).default(4),
      minDelay: duration.default(1),
      maxDelay: duration.default(30),
    })
    .default({ attempts: 4, minDelay: 1, maxDelay: 30 }),
  reports: z
    .strictObject({
      dir: z.string().default('reports'),
      ackNaming: z.enum(['replace', 'append']).default('replace'),
    })
    .default({ dir: 'reports', ackNaming: 'replace' }),
  push: z
    .strictObject({
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'host:port, like 127.0.0.1:8480 or [::1]:8480')
        .default('127.0.0.1:8480'),
      path: z
        .string()
        .regex(/^\/\S*$/, 'a path starting with /')
        .default('/dmc/status'),
      username: z.string().optional(),
      password: z.string().optional(),
      passwordFile: z.string().optional(),
      allowFrom: z.array(z.string()).default([]),
      trustProxy: z.union([z.boolean(), z.array(z.string())]).default(false),
      tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
      formField: z.string().min(1).default('xml'),
      maxBodyBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
      maxElements: z.number().int().min(10).max(1_000_000).default(20_000),
      maxPending: z.number().int().min(1).max(1_000_000).default(20_000),
      headersTimeout: duration.default(5),
      requestTimeout: duration.default(15),
      journal: z.string().optional(),
      allowAsyncCommit: z.boolean().default(false),
    })
    .optional(),
});

type Raw = z.infer<typeof schema>;

export interface DropFolderConfig {
  /** Absolute path of the folder the SI writes to. */
  readonly path: string;
  /** Command file (YAML/JSON) used as the template; `{date}`, `{time}`, `{file}`, `{count}` in broadcastName. */
  readonly command: string;
  readonly map: Readonly<Record<string, string>>;
  readonly format: 'csv' | 'xml';
  readonly split?: number;
  readonly documents: readonly string[];
  readonly doneMarker: boolean;
  readonly allowDuplicates: boolean;
  /** Partial acceptance: contacts with errors are left out (failed/<export>.rejected.csv) and the rest sent; default false (one bad row refuses the export). */
  readonly rejectBadRows: boolean;
  /** With rejectBadRows: above this many rows left out (a count, or '5%' of the rows) the whole export is refused; default '10%'. */
  readonly maxRejected?: number | string;
  /** A header-only export (nothing to send): `sent` (settled in sent/ with nothing sent, no failure alert; default) or `failed`. */
  readonly emptyExport: 'sent' | 'failed';
  /** Exports arriving within the window go out as one broadcast (guide §1.1.9 recommends grouping). */
  readonly group?: { readonly windowSeconds: number; readonly maxFiles: number };
}

export interface DaemonConfig {
  /** A SQLite file, or a postgres:// URL (the shared store, issue #20; its password from `store`). */
  readonly journal: string;
  /** PostgreSQL only: the password (never in the URL shown), the schema, the pool's size. */
  readonly store?: {
    readonly password?: Secret;
    readonly schema: string;
    readonly poolSize: number;
    /** This node's name among those sharing the store: DMC_NODE, else `node`, else the host's name. */
    readonly node?: string;
    /** The account's lease: its time to live and the margin a node keeps before it (issue #20). */
    readonly leaseSeconds: number;
    readonly leaseMarginSeconds: number;
  };
  readonly stableSeconds: number;
  readonly rescanSeconds: number;
  readonly usePolling: boolean;
  /** Most triggers sent per second (the guide asks for 5 at most, §1.1.9). */
  readonly rate: number;
  /** Daily report collection, HH:MM Europe/Paris (and once at start). */
  readonly reportsAt: string;
  /** Also collect every N seconds (tests, sandbox). */
  readonly reportsEvery?: number;
  /** Language of the error files. */
  readonly language: 'en' | 'fr';
  readonly hooks: readonly {
    readonly on: readonly ('sent' | 'processed' | 'failed' | 'report' | 'unhealthy' | 'recovered' | 'status')[];
    readonly command?: string;
    readonly url?: string;
  }[];
  /** Attempts at a step of one input (build, a local file) before it goes to failed/. */
  readonly maxAttempts: number;
  /** Metrics and health endpoints (`/metrics`, `/healthz`, `/readyz`), when configured. */
  readonly http?: {
    readonly host: string;
    readonly port: number;
    readonly readyPassSeconds: number;
    /** Serve the console pages (docs/operations.md, "Console"). */
    readonly console: boolean;
    /** The console's access token (created, mode 0600, when absent). */
    readonly tokenFile: string;
    /** A header an authenticating reverse proxy sets: a request carrying it is logged in. */
    readonly authHeader?: string;
  };
  /** Results files joined back to each export (`<folder>/results/`). */
  readonly results: { readonly enabled: boolean; readonly name: string; readonly finalAfterDays: number };
  readonly dropFolders: readonly DropFolderConfig[];
}

export interface MailConfig {
  readonly from: string;
  readonly platformAddress: string;
  readonly mail2smsDomain: string;
  readonly signature: boolean;
  /** Seconds after which a reply that never came is reported. */
  readonly replyTimeout: number;
  readonly stateDir: string;
  readonly smtp: {
    readonly host: string;
    readonly port: number;
    readonly secure: boolean;
    readonly requireTLS: boolean;
    readonly username?: string;
    readonly password?: Secret;
  };
  readonly imap?: {
    readonly host: string;
    readonly port: number;
    readonly secure: boolean;
    readonly username: string;
    readonly password?: Secret;
    readonly mailbox: string;
    readonly moveTo?: string;
  };
}

/** The CRA push receiver (guide §2.9): where it listens and who may post. */
export interface PushConfig {
  readonly host: string;
  readonly port: number;
  /** The path statuses are posted to; it may hold a secret (\${ENV}). */
  readonly path: Secret;
  readonly username?: string;
  readonly password?: Secret;
  /** Addresses or CIDR ranges allowed to post; empty: any. */
  readonly allowFrom: readonly string[];
  /** Trust X-Forwarded-For from a reverse proxy: true (any), or the proxies' addresses. */
  readonly trustProxy: boolean | readonly string[];
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The form field holding the XML when posted as application/x-www-form-urlencoded. */
  readonly formField: string;
  readonly maxBodyBytes: number;
  readonly maxElements: number;
  /** Statuses waiting for their commit before new posts get 503. */
  readonly maxPending: number;
  /** Seconds. */
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly journal: string;
  /** PostgreSQL: start even when its synchronous_commit is off (a 200 could then be lost with the server). */
  readonly allowAsyncCommit: boolean;
}

/** The configuration with every default applied and every secret resolved. */
export interface ResolvedConfig {
  readonly file: string;
  readonly service: { readonly serviceId: string; readonly spaceId?: string };
  readonly mail?: MailConfig;
  readonly daemon?: DaemonConfig;
  /** False when the file has no transport section (mail only): send and reports refuse it. */
  readonly hasTransport: boolean;
  readonly transport: {
    readonly protocol: 'sftp' | 'ftp';
    readonly host: string;
    readonly port: number;
    readonly username: string;
    readonly password?: Secret;
    readonly privateKey?: Secret;
    readonly passphrase?: Secret;
    /** Pinned host keys: `SHA256:...` fingerprints. */
    readonly hostKeys: readonly string[];
    readonly knownHosts?: string;
    readonly acceptNewHostKey: boolean;
    readonly remoteRoot?: string;
    readonly ftp: {
      readonly mode: 'active' | 'passive';
      readonly activeAddress?: string;
      readonly activePortRange?: readonly [number, number];
      readonly tls: boolean;
    };
  };
  /** Seconds. */
  readonly timeouts: Raw['timeouts'];
  readonly retries: Raw['retries'];
  readonly reports: { readonly dir: string; readonly ackNaming: 'replace' | 'append' };
  /** The CRA push receiver (guide §2.9), when configured. */
  readonly push?: PushConfig;
  /** What is allowed but unwise (a secret file others can read); also emitted as process warnings. */
  readonly warnings?: readonly string[];
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${VAR}` with the environment's value; an unset variable is an error
 * naming the key, unless `lenient` (a command that uses no secret): then the
 * reference stays as written.
 */
function expandEnvIn(value: string, key: string, file: string, env: NodeJS.ProcessEnv, lenient = false): string {
  return value.replace(ENV_REF, (m, name: string) => {
    const v = env[name];
    if (v === undefined && lenient) return m;
    if (v === undefined)
      throw new ConfigError(
        'CONFIG_SECRET',
        `${file}: ${key} refers to \${${name}}, which is not set in the environment: export ${name}=... before running`,
        file,
        key,
      );
    return v;
  });
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /**
   * `false` for commands that only read the journal (status, results, retry,
   * resend): secret files are not read and unset `${VAR}` references are kept
   * as written, so an operator without the daemon's secrets can run them.
   * Such a configuration must not be used to connect.
   */
  readonly secrets?: boolean;
  /** In a file with an `accounts` list, the service id of the account to act for (default: DMC_ACCOUNT; none needed when there is one). */
  readonly account?: string;
}

/** Reads, validates and resolves a configuration file. Throws ConfigError. */
export async function loadConfig(path: string, opts: LoadOptions = {}): Promise<ResolvedConfig> {
  const env = opts.env ?? process.env;
  const text = await readFile(path, 'utf8').catch(() => {
    throw new ConfigError('CONFIG_NOT_FOUND', `cannot read the configuration file '${path}': check the path (--config)`, path);
  });
  return parseConfig(text, path, env, opts.secrets ?? true, opts.account ?? env['DMC_ACCOUNT']);
}

/**
 * Folders the daemon could not keep apart: the same drop folder twice (two
 * watchers taking the same files), or a drop folder inside another's own
 * folders (its work/ files taken as new inputs, sent again); and a journal
 * that is a folder.
 */
async function checkDaemonPaths(file: string, journal: string, folders: readonly string[]): Promise<void> {
  if (!/^postgres(ql)?:\/\//i.test(journal) && (await stat(journal).catch(() => undefined))?.isDirectory())
    throw new ConfigError(
      'CONFIG_INVALID',
      `${file}: daemon.journal '${journal}' is a folder: name a file in it, e.g. ${join(journal, 'journal.db')}`,
      file,
      'daemon.journal',
    );
  const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
  folders.forEach((p, i) => {
    folders.forEach((q, j) => {
      if (j === i) return;
      if (j < i && p === q)
        throw new ConfigError(
          'CONFIG_INVALID',
          `${file}: daemon.dropFolders[${i}] is the same folder as dropFolders[${j}] (${p}): list it once`,
          file,
          `daemon.dropFolders.${i}.path`,
        );
      for (const own of ['work', 'sent', 'failed', 'results'])
        if (inside(p, join(q, own)))
          throw new ConfigError(
            'CONFIG_INVALID',
            `${file}: daemon.dropFolders[${i}] (${p}) is inside ${join(q, own)}, which the daemon keeps for dropFolders[${j}]: its files would be taken as new inputs; choose another folder`,
            file,
            `daemon.dropFolders.${i}.path`,
          );
    });
  });
}

/** A value as the user wrote it, in YAML's words (a list, a mapping, text "x"). */
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'string' ? 'text' : typeof v} ${JSON.stringify(v)}`.slice(0, 80);
}

/** zod's type names in YAML's words. */
function describeType(t: string): string {
  return ({ array: 'a list', object: 'a mapping', string: 'text', number: 'a number', boolean: 'true or false' } as Record<string, string>)[t] ?? t;
}

/** The plain value at `keys` in what the YAML file gave. */
function valueAt(data: unknown, keys: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of keys) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** Parses configuration text; `file` names it in messages and anchors relative paths. */
export async function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  secrets = true,
  account: string | undefined = env['DMC_ACCOUNT'],
): Promise<ResolvedConfig> {
  return pickAccount(await parseAccounts(text, file, env, secrets), account);
}

/** The YAML document, its line counter and its plain value; syntax errors thrown. */
function readDocument(text: string, file: string): { doc: ReturnType<typeof parseDocument>; counter: LineCounter; data: unknown } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ConfigError(
      'CONFIG_SYNTAX',
      `${file}:${counter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`,
      file,
      undefined,
      counter.linePos(e.pos[0]).line,
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias bomb (billions of laughs) is refused before it is expanded.
    throw new ConfigError('CONFIG_SYNTAX', `${file}: ${(e as Error).message} (too many YAML aliases): write the values out`, file);
  }
  return { doc, counter, data };
}

/** Where one account's settings are in the file: the paths to try for a key's line (the account's own, then the shared ones). */
interface Where {
  readonly doc: ReturnType<typeof parseDocument>;
  readonly counter: LineCounter;
  readonly prefixes: readonly (readonly (string | number)[])[];
}

/** Validates and resolves one account's settings (the whole file in the single-account shape). */
async function resolveData(data: unknown, file: string, env: NodeJS.ProcessEnv, secrets: boolean, where: Where): Promise<ResolvedConfig> {
  const expandEnv = (value: string, key: string, f: string, e: NodeJS.ProcessEnv): string => expandEnvIn(value, key, f, e, !secrets);
  const parsed = schema.safeParse(data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const { doc, counter } = where;
    const at = where.prefixes.map((pre) => [...pre, ...keys] as (string | number)[]).find((k) => doc.hasIn(k));
    const node = at ? doc.getIn(at, true) : undefined;
    const line = isNode(node) && node.range ? counter.linePos(node.range[0]).line : undefined;
    const key = keys.join('.');
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown key '${key}'${didYouMean(issue.keys[0]!, keysAt(schema, issue.path as (string | number)[]))} (docs/config.md lists the keys)`
        : issue.code === 'invalid_type' && !at
          ? `${key} is required`
          : issue.code === 'invalid_type'
            ? `${key}: expected ${describeType(issue.expected)}, got ${describeValue(valueAt(data, keys))}`
            : `${key}: ${issue.message}`;
    throw new ConfigError('CONFIG_INVALID', `${file}${line ? `:${line}` : ''}: ${what}`, file, key, line);
  }
  const raw = parsed.data;
  // A node that reaches the shared store another way (a local proxy) names it in DMC_JOURNAL; the file stays the same on every node.
  if (raw.daemon && env['DMC_JOURNAL']) raw.daemon.journal = env['DMC_JOURNAL'];
  const base = dirname(resolve(file));
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  // The journal: a file beside the configuration, or a PostgreSQL URL as given.
  const journalAt = (p: string): string => (/^postgres(ql)?:\/\//i.test(p) ? p : rel(p));
  const warnings: string[] = [];
  const secretOf = async (
    section: string,
    key: string,
    inline: string | undefined,
    fromFile: string | undefined,
    /** Read even for commands that only read the journal: the store's own password. */
    always = false,
  ): Promise<Secret | undefined> => {
    const full = `${section}.${key}`;
    if (inline !== undefined && fromFile !== undefined) throw new ConfigError('CONFIG_INVALID', `${file}: give ${full} or ${full}File, not both`, file, full);
    if (inline !== undefined) {
      const refs = [...inline.matchAll(ENV_REF)].map((m) => m[1]);
      return new Secret(
        expandEnv(inline, full, file, env),
        refs.length ? `\${${refs.join('}, ${')}}` : `${file} (${full}, in clear: prefer \${ENV} or ${key}File)`,
      );
    }
    if (fromFile !== undefined) {
      const p = rel(expandEnv(fromFile, `${full}File`, file, env));
      if (!secrets && !always) return new Secret('', p);
      const v = await readFile(p, 'utf8').catch(() => {
        throw new ConfigError('CONFIG_SECRET', `${file}: ${full}File '${p}' cannot be read: check the path and its permissions`, file, `${full}File`);
      });
      // As OpenSSH does for keys: a secret others can read is said (it still works).
      const mode = (await stat(p)).mode & 0o777;
      if (mode & 0o077) {
        const w = `${file}: ${full}File '${p}' can be read by other users (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 '${p}'`;
        warnings.push(w);
        process.emitWarning(w, { code: 'DMC_SECRET_FILE_MODE' });
      }
      return new Secret(key === 'privateKey' ? v : v.replace(/\r?\n$/, ''), p);
    }
    return undefined;
  };
  const transport = raw.transport ? await resolveTransport(raw.transport) : undefined;
  async function resolveTransport(t: NonNullable<Raw['transport']>): Promise<ResolvedConfig['transport']> {
    const password = await secretOf('transport', 'password', t.password, t.passwordFile);
    const privateKey = await secretOf('transport', 'privateKey', t.privateKey, t.privateKeyFile);
    const passphrase = t.passphrase !== undefined ? new Secret(expandEnv(t.passphrase, 'transport.passphrase', file, env), 'transport.passphrase') : undefined;
    if (!password && !privateKey)
      throw new ConfigError('CONFIG_INVALID', `${file}: transport needs password, passwordFile, privateKey or privateKeyFile`, file, 'transport.password');
    if (t.protocol === 'ftp' && privateKey)
      throw new ConfigError('CONFIG_INVALID', `${file}: FTP logs in with a password; privateKey is for SFTP`, file, 'transport.privateKey');
    const hostKeys = t.hostKey === undefined ? [] : Array.isArray(t.hostKey) ? t.hostKey : [t.hostKey];
    for (const k of hostKeys) {
      if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(k))
        throw new ConfigError(
          'CONFIG_INVALID',
          `${file}: transport.hostKey '${k}' is not a SHA256 fingerprint as ssh-keygen -l prints it (SHA256: then 43 characters)`,
          file,
          'transport.hostKey',
        );
    }
    const range = t.ftp.activePortRange?.split('-').map(Number) as [number, number] | undefined;
    if (range && (range[0] < 1024 || range[1] > 65535 || range[0] > range[1]))
      throw new ConfigError(
        'CONFIG_INVALID',
        `${file}: transport.ftp.activePortRange must be within 1024-65535, low-high`,
        file,
        'transport.ftp.activePortRange',
      );
    return {
      protocol: t.protocol,
      host: t.host,
      port: t.port ?? (t.protocol === 'sftp' ? 2222 : 21),
      username: expandEnv(t.username, 'transport.username', file, env),
      ...(password ? { password } : {}),
      ...(privateKey ? { privateKey } : {}),
      ...(passphrase ? { passphrase } : {}),
      hostKeys,
      ...(t.knownHosts !== undefined ? { knownHosts: rel(t.knownHosts) } : {}),
      acceptNewHostKey: t.acceptNewHostKey,
      ...(t.remoteRoot !== undefined ? { remoteRoot: t.remoteRoot } : {}),
      ftp: {
        mode: t.ftp.mode,
        tls: t.ftp.tls,
        ...(t.ftp.activeAddress ? { activeAddress: t.ftp.activeAddress } : {}),
        ...(range ? { activePortRange: range } : {}),
      },
    };
  }
  let mail: MailConfig | undefined;
  if (raw.mail) {
    const m = raw.mail;
    const smtpPassword = await secretOf('mail.smtp', 'password', m.smtp.password, m.smtp.passwordFile);
    const imapPassword = m.imap ? await secretOf('mail.imap', 'password', m.imap.password, m.imap.passwordFile) : undefined;
    mail = {
      from: m.from,
      platformAddress: m.platformAddress,
      mail2smsDomain: m.mail2smsDomain,
      signature: m.signature,
      replyTimeout: m.replyTimeout,
      stateDir: rel(m.stateDir),
      smtp: {
        host: m.smtp.host,
        port: m.smtp.port ?? (m.smtp.secure ? 465 : 587),
        secure: m.smtp.secure,
        requireTLS: m.smtp.requireTLS,
        ...(m.smtp.username ? { username: expandEnv(m.smtp.username, 'mail.smtp.username', file, env) } : {}),
        ...(smtpPassword ? { password: smtpPassword } : {}),
      },
      ...(m.imap
        ? {
            imap: {
              host: m.imap.host,
              port: m.imap.port ?? (m.imap.secure ? 993 : 143),
              secure: m.imap.secure,
              username: expandEnv(m.imap.username, 'mail.imap.username', file, env),
              ...(imapPassword ? { password: imapPassword } : {}),
              mailbox: m.imap.mailbox,
              ...(m.imap.moveTo ? { moveTo: m.imap.moveTo } : {}),
            },
          }
        : {}),
    };
  }
  /** `host:port` or `[v6]:port` (the schema checked the shape) → its parts; port 0: any free port. */
  const listenOf = (listen: string, key: string): { host: string; port: number } => {
    const m = /^\[?(.*?)\]?:(\d+)$/.exec(listen)!;
    if (Number(m[2]) > 65535) throw new ConfigError('CONFIG_INVALID', `${file}: ${key}: the port must be 1-65535 (0: any free port)`, file, key);
    return { host: m[1]!, port: Number(m[2]) };
  };
  let push: PushConfig | undefined;
  if (raw.push) {
    const p = raw.push;
    const password = await secretOf('push', 'password', p.password, p.passwordFile);
    if ((p.username === undefined) !== (password === undefined))
      throw new ConfigError('CONFIG_INVALID', `${file}: push needs both username and password (HTTP Basic), or neither`, file, 'push.username');
    if (p.requestTimeout < p.headersTimeout)
      throw new ConfigError('CONFIG_INVALID', `${file}: push.requestTimeout must be at least push.headersTimeout`, file, 'push.requestTimeout');
    const pathRefs = [...p.path.matchAll(ENV_REF)].map((r) => r[1]);
    const pushPath = expandEnv(p.path, 'push.path', file, env);
    if (/[?#]/.test(pushPath)) throw new ConfigError('CONFIG_INVALID', `${file}: push.path: a path, without ? or #`, file, 'push.path');
    push = {
      ...listenOf(env['DMC_PUSH_LISTEN'] ?? p.listen, 'push.listen'),
      path: new Secret(pushPath, pathRefs.length ? p.path.replace(ENV_REF, '***') : pushPath),
      ...(p.username !== undefined ? { username: expandEnv(p.username, 'push.username', file, env) } : {}),
      ...(password ? { password } : {}),
      allowFrom: p.allowFrom,
      trustProxy: p.trustProxy,
      ...(p.tls ? { tls: { cert: rel(p.tls.cert), key: rel(p.tls.key) } } : {}),
      formField: p.formField,
      maxBodyBytes: p.maxBodyBytes,
      maxElements: p.maxElements,
      maxPending: p.maxPending,
      allowAsyncCommit: p.allowAsyncCommit,
      headersTimeout: p.headersTimeout,
      requestTimeout: p.requestTimeout,
      journal: journalAt(p.journal ?? raw.daemon?.journal ?? 'state/journal.db'),
    };
  }
  if (!transport && !mail && !push)
    throw new ConfigError('CONFIG_INVALID', `${file}: give a transport section (send, reports) or a mail section (mail, mail2sms)`, file, 'transport');
  const rawStore = raw.daemon?.store;
  const storePassword = rawStore ? await secretOf('daemon.store', 'password', rawStore.password, rawStore.passwordFile, true) : undefined;
  const node = env['DMC_NODE'] ?? rawStore?.node;
  if (node !== undefined && !NODE_NAME.test(node))
    throw new ConfigError('CONFIG_INVALID', `${file}: DMC_NODE '${node}': letters, digits, . _ and -, at most 40`, file, 'daemon.store.node');
  const store =
    rawStore || (raw.daemon && /^postgres(ql)?:\/\//i.test(raw.daemon.journal))
      ? {
          schema: rawStore?.schema ?? 'dmc',
          poolSize: rawStore?.poolSize ?? 10,
          leaseSeconds: rawStore?.leaseSeconds ?? 6,
          leaseMarginSeconds: rawStore?.leaseMarginSeconds ?? 1,
          ...(node !== undefined ? { node } : {}),
          ...(storePassword ? { password: storePassword } : {}),
        }
      : undefined;
  if (store && !(store.leaseMarginSeconds >= 0 && store.leaseMarginSeconds < store.leaseSeconds / 3))
    throw new ConfigError(
      'CONFIG_INVALID',
      `${file}: daemon.store.leaseMarginSeconds must be under a third of leaseSeconds (${store.leaseSeconds} s)`,
      file,
      'daemon.store.leaseMarginSeconds',
    );
  if (raw.daemon)
    await checkDaemonPaths(
      file,
      journalAt(raw.daemon.journal),
      raw.daemon.dropFolders.map((d) => rel(d.path)),
    );
  return {
    file,
    service: raw.service.spaceId !== undefined ? { serviceId: raw.service.serviceId, spaceId: raw.service.spaceId } : { serviceId: raw.service.serviceId },
    transport: transport as ResolvedConfig['transport'],
    hasTransport: transport !== undefined,
    ...(mail ? { mail } : {}),
    ...(push ? { push } : {}),
    ...(raw.daemon
      ? {
          daemon: {
            journal: journalAt(raw.daemon.journal),
            ...(store ? { store } : {}),
            stableSeconds: raw.daemon.stableSeconds,
            rescanSeconds: raw.daemon.rescanSeconds,
            usePolling: raw.daemon.usePolling,
            rate: raw.daemon.rate,
            reportsAt: raw.daemon.reportsAt,
            language: raw.daemon.language,
            maxAttempts: raw.daemon.maxAttempts,
            results: raw.daemon.results,
            ...(raw.daemon.http
              ? {
                  http: {
                    ...listenOf(env['DMC_HTTP_LISTEN'] ?? raw.daemon.http.listen, 'daemon.http.listen'),
                    readyPassSeconds: raw.daemon.http.readyPassSeconds,
                    console: raw.daemon.http.console,
                    tokenFile: rel(
                      raw.daemon.http.tokenFile ?? join(/^postgres/i.test(raw.daemon.journal) ? 'state' : dirname(raw.daemon.journal), 'console-token'),
                    ),
                    ...(raw.daemon.http.authHeader ? { authHeader: raw.daemon.http.authHeader } : {}),
                  },
                }
              : {}),
            ...(raw.daemon.reportsEvery !== undefined ? { reportsEvery: raw.daemon.reportsEvery } : {}),
            hooks: raw.daemon.hooks.map((h) => ({
              on: h.on,
              ...(h.command ? { command: h.command } : {}),
              ...(h.url ? { url: expandEnv(h.url, 'daemon.hooks.url', file, env) } : {}),
            })),
            dropFolders: raw.daemon.dropFolders.map((d) => ({
              ...d,
              path: rel(d.path),
              command: rel(d.command),
              documents: d.documents.map(rel),
              ...(d.split !== undefined ? { split: d.split } : {}),
              ...(d.maxRejected !== undefined ? { maxRejected: d.maxRejected } : {}),
            })),
          },
        }
      : {}),
    timeouts: raw.timeouts,
    retries: raw.retries,
    reports: { dir: rel(raw.reports.dir), ackNaming: raw.reports.ackNaming },
    warnings,
  };
}

/** One account of a configuration: its resolved settings, or why its section cannot run. */
export interface AccountEntry {
  /** Its position in `accounts` (0 in the single-account shape). */
  readonly index: number;
  /** The service id as written, when there is one. */
  readonly serviceId: string | undefined;
  /** Its `labels`, by which a node is pinned to some accounts (`daemon --label`). */
  readonly labels: readonly string[];
  readonly config?: ResolvedConfig;
  /** Its section is wrong: this account does not start; the others do. */
  readonly error?: ConfigError;
}

/** A configuration's accounts: one (the single-account shape) or the `accounts` list (issue #21). */
export interface AccountSet {
  readonly file: string;
  /** The file has an `accounts` list. */
  readonly multi: boolean;
  readonly accounts: readonly AccountEntry[];
  /**
   * With an `accounts` list, `daemon.http` stated at the top: one server for
   * the process (metrics, health, the console with an account selector),
   * serving every account that does not set its own.
   */
  readonly http?: NonNullable<DaemonConfig['http']>;
}

/** Reads a configuration file's accounts (docs/config.md, "Several accounts"). Throws ConfigError for what concerns the whole file. */
export async function loadAccounts(path: string, opts: LoadOptions = {}): Promise<AccountSet> {
  const env = opts.env ?? process.env;
  const text = await readFile(path, 'utf8').catch(() => {
    throw new ConfigError('CONFIG_NOT_FOUND', `cannot read the configuration file '${path}': check the path (--config)`, path);
  });
  return parseAccounts(text, path, env, opts.secrets ?? true);
}

/** Settings that cannot be shared: stated once at the top they would make two accounts write the same files. */
const ACCOUNT_ONLY = ['service'] as const;

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The shared settings overlaid with an account's own: mappings merge key by key, anything else (a list, a value) is replaced. */
function overlay(shared: unknown, own: unknown): unknown {
  if (!isMapping(shared) || !isMapping(own)) return own === undefined ? shared : own;
  const out: Record<string, unknown> = { ...shared };
  for (const [k, v] of Object.entries(own)) out[k] = overlay(shared[k], v);
  return out;
}

/** A service id as a PostgreSQL schema name's tail (lower-case letters, digits, _). */
const schemaTail = (id: string): string => id.toLowerCase().replace(/[^a-z0-9_]/g, '_');

/** Parses configuration text into its accounts; a wrong account section is kept as that account's error. */
export async function parseAccounts(text: string, file: string, env: NodeJS.ProcessEnv = process.env, secrets = true): Promise<AccountSet> {
  const { doc, counter, data } = readDocument(text, file);
  if (!isMapping(data) || !('accounts' in data)) {
    const config = await resolveData(data, file, env, secrets, { doc, counter, prefixes: [[]] });
    return { file, multi: false, accounts: [{ index: 0, serviceId: config.service.serviceId, labels: [], config }] };
  }
  const lineOf = (keys: (string | number)[]): number | undefined => {
    const node = doc.getIn(keys, true);
    return isNode(node) && node.range ? counter.linePos(node.range[0]).line : undefined;
  };
  const whole = (key: (string | number)[], what: string): ConfigError => {
    const line = lineOf(key);
    return new ConfigError('CONFIG_INVALID', `${file}${line ? `:${line}` : ''}: ${what}`, file, key.join('.'), line);
  };
  const list = data['accounts'];
  if (!Array.isArray(list) || list.length === 0 || !list.every(isMapping))
    throw whole(['accounts'], 'accounts: expected a list of mappings, one per DMC account (each with its service, transport and daemon.dropFolders)');
  const { accounts: _, ...shared } = data;
  for (const k of ACCOUNT_ONLY)
    if (k in shared) throw whole([k], `${k} is stated in each account of the accounts list, not at the top: move it into its account`);
  if (isMapping(shared['daemon']) && 'dropFolders' in shared['daemon'])
    throw whole(['daemon', 'dropFolders'], 'daemon.dropFolders belong to an account: move each folder into the daemon section of the account it sends for');
  const entries: AccountEntry[] = [];
  let sharedHttp: AccountSet['http'];
  for (const [i, withLabels] of (list as Record<string, unknown>[]).entries()) {
    // An account's labels pin nodes to it (`daemon --label`); the rest of its section is settings.
    const { labels: rawLabels, ...own } = withLabels;
    const labels = rawLabels === undefined ? [] : rawLabels;
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' && /^[A-Za-z0-9._-]{1,40}$/.test(l)))
      throw whole(['accounts', i, 'labels'], 'labels: a list of names (letters, digits, . _ and -), like [paris, retail]');
    if ('push' in own)
      throw whole(
        ['accounts', i, 'push'],
        "push is stated once, at the top: one receiver takes every account's statuses, routed by the report's username (the service id)",
      );
    const service = isMapping(own['service']) ? own['service'] : undefined;
    const id = service && (typeof service['serviceId'] === 'string' || typeof service['serviceId'] === 'number') ? String(service['serviceId']) : undefined;
    const merged = overlay(shared, own) as Record<string, unknown>;
    // What each account keeps apart unless told otherwise: its journal (or schema), its mail state and its reports.
    const ownDaemon = isMapping(own['daemon']) ? own['daemon'] : {};
    const sharedDaemon = isMapping(shared['daemon']) ? shared['daemon'] : {};
    const tag = id !== undefined ? id.replace(/[^A-Za-z0-9._-]/g, '_') : `account-${i}`;
    if (isMapping(merged['daemon'])) {
      const d = { ...merged['daemon'] };
      if (!('journal' in ownDaemon) && !('journal' in sharedDaemon)) d['journal'] = `state/${tag}/journal.db`;
      const sharedStore = isMapping(sharedDaemon['store']) ? sharedDaemon['store'] : {};
      const ownStore = isMapping(ownDaemon['store']) ? ownDaemon['store'] : {};
      if (
        typeof d['journal'] === 'string' &&
        /^postgres(ql)?:\/\//i.test(env['DMC_JOURNAL'] ?? d['journal']) &&
        !('schema' in ownStore) &&
        !('schema' in sharedStore)
      )
        d['store'] = { ...(isMapping(d['store']) ? d['store'] : {}), schema: `dmc_${schemaTail(tag)}`.slice(0, 63) };
      merged['daemon'] = d;
    }
    // A push receiver without a daemon section records into the account's own journal too.
    if (isMapping(merged['push']) && !('journal' in merged['push']) && !isMapping(merged['daemon']))
      merged['push'] = { ...merged['push'], journal: `state/${tag}/journal.db` };
    if (isMapping(merged['mail']) && !(isMapping(own['mail']) && 'stateDir' in own['mail']) && !(isMapping(shared['mail']) && 'stateDir' in shared['mail']))
      merged['mail'] = { ...merged['mail'], stateDir: `mail-state/${tag}` };
    if (!(isMapping(own['reports']) && 'dir' in own['reports']) && !(isMapping(shared['reports']) && 'dir' in shared['reports']))
      merged['reports'] = { ...(isMapping(merged['reports']) ? merged['reports'] : {}), dir: `reports/${tag}` };
    try {
      let config = await resolveData(merged, file, env, secrets, { doc, counter, prefixes: [['accounts', i], []] });
      if (config.daemon?.http && !('http' in ownDaemon)) {
        // The top's daemon.http is the process's one server, not this account's own.
        const { http, ...daemon } = config.daemon;
        const tokenFile =
          isMapping(sharedDaemon['http']) && typeof sharedDaemon['http']['tokenFile'] === 'string'
            ? http.tokenFile
            : resolve(dirname(resolve(file)), 'state', 'console-token');
        sharedHttp ??= { ...http, tokenFile };
        config = { ...config, daemon };
      }
      entries.push({ index: i, serviceId: id, labels, config });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // The account named in the message, after the file and line: `dmc.yaml:12: accounts[1] (service 222): ...`.
      const named = `accounts[${i}]${id !== undefined ? ` (service ${id})` : ''}`;
      const m = /^(.*?(?::\d+)?): ([\s\S]*)$/.exec(e.message.startsWith(file) ? e.message : `${file}: ${e.message}`)!;
      entries.push({
        index: i,
        serviceId: id,
        labels,
        error: new ConfigError(e.code, `${m[1]}: ${named}: ${m[2]}`, file, `accounts.${i}${e.key ? `.${e.key}` : ''}`, e.line),
      });
    }
  }
  checkAccountsApart(entries, whole);
  if (sharedHttp)
    for (const e of entries) {
      const own = e.config?.daemon?.http;
      if (own && own.port !== 0 && own.host === sharedHttp.host && own.port === sharedHttp.port)
        throw whole(
          ['accounts', e.index, 'daemon', 'http', 'listen'],
          `accounts[${e.index}]'s daemon.http.listen is the top's (${own.host}:${own.port}): give it another, or leave it out to be served by the top's`,
        );
    }
  return { file, multi: true, accounts: entries, ...(sharedHttp ? { http: sharedHttp } : {}) };
}

/** Two accounts that would share a service, a folder, a journal, a remote folder or a listening port: the whole file is refused. */
function checkAccountsApart(entries: readonly AccountEntry[], whole: (key: (string | number)[], what: string) => ConfigError): void {
  const name = (e: AccountEntry): string => `accounts[${e.index}]${e.serviceId !== undefined ? ` (service ${e.serviceId})` : ''}`;
  const seen = new Map<string, AccountEntry>();
  for (const e of entries) {
    if (e.serviceId === undefined) continue;
    const first = seen.get(e.serviceId);
    if (first) throw whole(['accounts', e.index, 'service', 'serviceId'], `${name(e)} has the same service id as ${name(first)}: list each DMC account once`);
    seen.set(e.serviceId, e);
  }
  const ok = entries.filter((e): e is AccountEntry & { config: ResolvedConfig } => e.config !== undefined);
  const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
  const journalKey = (c: ResolvedConfig): string | undefined =>
    c.daemon
      ? /^postgres(ql)?:\/\//i.test(c.daemon.journal)
        ? `${c.daemon.journal.replace(/\/\/[^@/]*@/, '//')}#${c.daemon.store?.schema}`
        : c.daemon.journal
      : undefined;
  const remoteKey = (c: ResolvedConfig): string | undefined =>
    c.hasTransport
      ? `${c.transport.protocol}://${c.transport.username}@${c.transport.host}:${c.transport.port}/${(c.transport.remoteRoot ?? '').replace(/^\/+|\/+$/g, '')}`
      : undefined;
  const httpKey = (c: ResolvedConfig): string | undefined =>
    c.daemon?.http && c.daemon.http.port !== 0 ? `${c.daemon.http.host}:${c.daemon.http.port}` : undefined;
  for (const [bi, b] of ok.entries()) {
    for (const a of ok.slice(0, bi)) {
      const same = (what: string, key: (string | number)[], fix: string, x: string | undefined, y: string | undefined): void => {
        if (x !== undefined && x === y) throw whole(['accounts', b.index, ...key], `${name(b)} and ${name(a)} share ${what} (${x}): ${fix}`);
      };
      same(
        'the journal',
        ['daemon', 'journal'],
        'give each account its own daemon.journal (or daemon.store.schema), or leave it out for the default per account',
        journalKey(a.config),
        journalKey(b.config),
      );
      if (!a.config.daemon && !b.config.daemon)
        same(
          'the push journal',
          ['push', 'journal'],
          'leave push.journal out: each account records into its own journal',
          a.config.push?.journal,
          b.config.push?.journal,
        );
      same('the remote folder', ['transport'], 'an account is one login on the platform: each sends from its own', remoteKey(a.config), remoteKey(b.config));
      same(
        'the listening address',
        ['daemon', 'http', 'listen'],
        "give each account's daemon.http its own listen address",
        httpKey(a.config),
        httpKey(b.config),
      );
      same(
        'the mail state folder',
        ['mail', 'stateDir'],
        'give each its own mail.stateDir, or leave it out for the default per account',
        a.config.mail?.stateDir,
        b.config.mail?.stateDir,
      );
      same(
        'the reports folder',
        ['reports', 'dir'],
        'give each its own reports.dir, or leave it out for the default per account',
        a.config.reports.dir,
        b.config.reports.dir,
      );
      for (const [i, f] of (b.config.daemon?.dropFolders ?? []).entries())
        for (const g of a.config.daemon?.dropFolders ?? [])
          for (const [x, y] of [
            [f.path, g.path],
            [g.path, f.path],
          ] as const)
            if (x === y || ['work', 'sent', 'failed', 'results'].some((own) => inside(x, join(y, own))))
              throw whole(
                ['accounts', b.index, 'daemon', 'dropFolders', i, 'path'],
                `${name(b)}'s drop folder ${f.path} and ${name(a)}'s ${g.path} overlap: an export would be taken by both, or its files taken as new inputs; give each account folders of its own`,
              );
    }
  }
}

/** The account a command acts for: the one of a single-account file, or the one named (`--account`, DMC_ACCOUNT) in an `accounts` list. */
export function pickAccount(set: AccountSet, account?: string): ResolvedConfig {
  const ids = set.accounts.map((e) => e.serviceId ?? `accounts[${e.index}]`);
  let entry: AccountEntry | undefined;
  if (account !== undefined && account !== '') {
    entry = set.accounts.find((e) => e.serviceId === account);
    if (!entry)
      throw new ConfigError(
        'CONFIG_INVALID',
        set.multi
          ? `${set.file}: no account with service id ${account} (--account): the accounts are ${ids.join(', ')}`
          : `${set.file} is for service ${ids[0]}, not ${account} (--account): leave --account out, or name this file's service`,
        set.file,
        'accounts',
      );
  } else if (set.accounts.length === 1) entry = set.accounts[0];
  else
    throw new ConfigError(
      'CONFIG_INVALID',
      `${set.file} has ${set.accounts.length} accounts (${ids.join(', ')}): name the one to act for with --account <serviceId> (or DMC_ACCOUNT)`,
      set.file,
      'accounts',
    );
  if (entry!.error) throw entry!.error;
  return entry!.config!;
}

/** The keys the schema allows at a path of the document (through optional, default, array and union wrappers). */
function keysAt(root: z.ZodType, path: readonly (string | number)[]): string[] {
  type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] };
  const defOf = (t: z.ZodType): Def => (t as unknown as { _zod: { def: Def } })._zod.def;
  const unwrap = (t: z.ZodType): z.ZodType[] => {
    const d = defOf(t);
    if (d.innerType) return unwrap(d.innerType);
    if (d.in) return unwrap(d.in);
    if (d.options) return d.options.flatMap(unwrap);
    return [t];
  };
  let here: z.ZodType[] = unwrap(root);
  for (const k of path) {
    here = here.flatMap((t) => {
      const d = defOf(t);
      if (typeof k === 'number') return d.element ? unwrap(d.element) : [];
      return d.shape?.[k] ? unwrap(d.shape[k]) : [];
    });
  }
  return here.flatMap((t) => Object.keys(defOf(t).shape ?? {}));
}

/** ` (did you mean 'x'?)` for the allowed key nearest a misspelled one (case, or at most 2 edits away). */
function didYouMean(key: string, allowed: readonly string[]): string {
  let best: { name: string; d: number } | undefined;
  for (const a of allowed) {
    const d = a.toLowerCase() === key.toLowerCase() ? 0 : distance(key.toLowerCase(), a.toLowerCase());
    if (d <= Math.max(2, Math.floor(key.length / 4)) && (!best || d < best.d)) best = { name: a, d };
  }
  return best ? ` (did you mean '${best.name}'?)` : '';
}
