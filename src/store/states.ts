/**
 * The daemon's state machine, as data: the states of an input and of a
 * trigger file, and the transitions allowed between them. The journal
 * refuses any other transition, and docs/operations.md shows the same
 * diagram (a test checks it against these tables).
 *
 * Every transition is committed to the journal before the action it allows;
 * `RESTART` says, per state, what a daemon restarted in that state does.
 */

export const INPUT_STATES = ['seen', 'working', 'built', 'sent', 'done', 'failed', 'duplicate', 'retried'] as const;
export type InputState = (typeof INPUT_STATES)[number];

export const TRIGGER_STATES = ['built', 'uploading', 'renaming', 'uploaded', 'processed', 'failed', 'unknown', 'timeout'] as const;
export type TriggerState = (typeof TRIGGER_STATES)[number];

/** Where an input may go from each state (staying in a state to record an error is always allowed). */
export const INPUT_TRANSITIONS: Readonly<Record<InputState, readonly InputState[]>> = {
  seen: ['working', 'failed'],
  working: ['built', 'done', 'failed'],
  built: ['sent', 'failed'],
  sent: ['done', 'failed'],
  done: [],
  failed: ['retried'],
  duplicate: [],
  retried: [],
};

/** Where a trigger file may go from each state. */
export const TRIGGER_TRANSITIONS: Readonly<Record<TriggerState, readonly TriggerState[]>> = {
  built: ['uploading', 'failed'],
  uploading: ['renaming', 'failed'],
  // Never back to `uploading`: once the rename may have been sent, only a look at the server resolves it.
  renaming: ['uploaded', 'failed'],
  uploaded: ['processed', 'failed', 'unknown', 'timeout'],
  timeout: ['processed', 'failed', 'unknown'],
  processed: [],
  failed: [],
  unknown: [],
};

/** The states an input is created in. */
export const INPUT_INITIAL: readonly InputState[] = ['seen', 'duplicate'];

/** States after which nothing is sent any more; the input is `settled` once its files are where they belong. */
export const INPUT_FINAL: readonly InputState[] = ['done', 'failed', 'duplicate', 'retried'];

/** What a daemon restarted with an input or trigger in each state does (docs/operations.md). */
export const RESTART: Readonly<Record<string, string>> = {
  'input seen': 'moves the file from the drop folder to work/ (its work path was journaled before the move; found at either place)',
  'input working': 'builds the trigger file(s) again (atomic output; nothing was sent)',
  'input built': 'sends the triggers not yet uploaded, resolving each by its own state',
  'input sent': 'follows the outcome of its triggers (one listing of in/, processing/, processed/, failed/ per pass)',
  'input done/failed/duplicate': 'moves the files left in work/ or the drop folder to sent/ or failed/, then marks the input settled',
  'trigger built': 'uploads it (documents first, unless already sent for this input)',
  'trigger uploading': 'the rename was never sent: uploads again from scratch under the temporary name',
  'trigger renaming':
    'looks at the server: temporary name gone → the rename happened (uploaded, even if already archived); still there and complete → renames it; anything else → fails the input with an explanation, never uploads blindly',
  'trigger uploaded/timeout': 'looks for the outcome again',
};

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly what: 'input' | 'trigger',
    readonly id: number,
    readonly from: string,
    readonly to: string,
  ) {
    super(`journal: ${what} #${id} cannot go from ${from} to ${to} (src/store/states.ts)`);
  }
}

/** Throws unless `from → to` is allowed (or `from === to`). */
export function checkTransition(what: 'input' | 'trigger', id: number, from: string, to: string): void {
  if (from === to) return;
  const table: Readonly<Record<string, readonly string[]>> = what === 'input' ? INPUT_TRANSITIONS : TRIGGER_TRANSITIONS;
  if (!table[from]?.includes(to)) throw new IllegalTransitionError(what, id, from, to);
}

/** The state diagram as Mermaid text, as docs/operations.md shows it. */
export function stateDiagram(): string {
  const lines = ['stateDiagram-v2', '  %% inputs'];
  for (const s of INPUT_INITIAL) lines.push(`  [*] --> ${s}`);
  for (const [from, tos] of Object.entries(INPUT_TRANSITIONS)) for (const to of tos) lines.push(`  ${from} --> ${to}`);
  lines.push('  %% triggers (prefixed t_)', '  [*] --> t_built');
  for (const [from, tos] of Object.entries(TRIGGER_TRANSITIONS)) for (const to of tos) lines.push(`  t_${from} --> t_${to}`);
  return lines.join('\n');
}
