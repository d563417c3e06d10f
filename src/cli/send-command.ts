import { basename } from 'node:path';
import { loadConfig } from '../config/config.js';
import { validateTriggerFile } from '../files/read-trigger.js';
import { referencedDocuments } from '../files/documents.js';
import { openAccount } from '../transport/connect.js';
import { sendTrigger, trackOutcome, type SendStep } from '../transport/handshake.js';
import { cliLogger } from '../transport/logger.js';
import { EXIT, formatFinding, humanBytes, parseSeconds, sortFindings, type Io } from './output.js';
import { requireFile } from './options.js';
import { byteProgress } from './progress-bar.js';

export interface SendCliOptions {
  config: string;
  document?: string[];
  wait?: boolean;
  timeout?: string;
  waitDocuments?: boolean;
  remoteName?: string;
  logLevel?: string;
}

function describeStep(s: SendStep): string | undefined {
  switch (s.step) {
    case 'upload-start':
      return `uploading ${s.kind} ${s.name} (${humanBytes(s.bytes)}) as ${s.name}.uploading`;
    case 'uploaded':
      return `${s.kind} in/${s.name}: uploaded, size checked, renamed`;
    case 'documents-waiting':
      return `waiting for the platform to take ${s.names.join(', ')} from in/ (it takes files once a minute)`;
    case 'documents-taken':
      return 'documents taken by the platform';
    case 'outcome-seen':
      return `trigger seen in ${s.where === 'in' ? 'in/' : `in/${s.where}/`}`;
    case 'outcome':
      return `outcome: ${s.outcome}`;
    default:
      return undefined;
  }
}

export async function runSend(trigger: string, opts: SendCliOptions, io: Io): Promise<number> {
  await requireFile(trigger, 'trigger file');
  for (const d of opts.document ?? []) await requireFile(d, 'document');
  const config = await loadConfig(opts.config);
  // An invalid trigger is never uploaded.
  const report = await validateTriggerFile(trigger);
  for (const f of sortFindings([...report.errors, ...report.warnings])) io.err(formatFinding(trigger, f));
  if (!report.valid) {
    io.err(`${trigger}: invalid (${report.errors.length} error(s)); nothing sent`);
    return EXIT.INVALID;
  }
  if (report.command.serviceId !== config.service.serviceId) {
    io.err(
      `${trigger}: serviceId ${report.command.serviceId} is not the configured service ${config.service.serviceId}: the platform would refuse it; nothing sent`,
    );
    return EXIT.INVALID;
  }
  const given = new Set((opts.document ?? []).map((d) => basename(d)));
  for (const d of referencedDocuments(report.command)) {
    if (!given.has(d.name))
      io.err(`${trigger}: warning: ${d.field} names ${d.name}, which is not sent with it (--document); it must already be on the platform`);
  }
  const timeouts = opts.timeout !== undefined ? { ...config.timeouts, outcome: parseSeconds(opts.timeout, '--timeout') } : config.timeouts;
  const logger = cliLogger(opts.logLevel ?? 'warn');
  const bar = byteProgress();
  const { session, remoteRoot } = await openAccount(config, logger);
  try {
    const onStep = (s: SendStep): void => {
      bar.done();
      const l = describeStep(s);
      if (l) io.out(l);
    };
    const r = await sendTrigger(
      session,
      { trigger, ...(opts.document ? { documents: opts.document } : {}), ...(opts.remoteName ? { remoteName: opts.remoteName } : {}) },
      { remoteRoot, timeouts, logger, waitForDocuments: opts.waitDocuments !== false, onStep, onBytes: (n, a, b) => bar.update(n, a, b) },
    );
    io.out(`sent ${trigger} as in/${r.remoteName} on ${session.transport.endpoint}`);
    if (!opts.wait) return EXIT.OK;
    const outcome = await trackOutcome(session, remoteRoot, r.remoteName, { timeouts, onStep });
    if (outcome === 'processed') return EXIT.OK;
    if (outcome === 'failed') {
      io.err(`the platform moved ${r.remoteName} to in/failed/: it refused the trigger (the daily report or the extranet says why)`);
      return EXIT.INVALID;
    }
    if (outcome === 'unknown') {
      io.err(`${r.remoteName} left in/ without being seen in processed/ or failed/ (archived between two looks): check the extranet`);
      return EXIT.TRANSPORT;
    }
    io.err(`${r.remoteName} is still pending after ${timeouts.outcome} s (--timeout)`);
    return EXIT.TRANSPORT;
  } finally {
    bar.done();
    await session.close();
  }
}
