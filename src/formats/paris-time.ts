/**
 * Wall-clock time in Europe/Paris, the platform's time zone (guide §3.2.6:
 * report dates, `startDate`, CRA call dates). One formatter for the whole
 * project: summer and winter time come from the runtime's time-zone data.
 */
// Made at the first use: a formatter with a time zone loads ICU's zone data (30-47 ms in a build's profile), paid
// only by a process that reads a Paris time.
let format: Intl.DateTimeFormat | undefined;
const makeFormat = (): Intl.DateTimeFormat =>
  new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Paris',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });

/** The parts of a Paris wall-clock time. */
export interface ParisTime {
  /** `YYYY-MM-DD` */
  readonly date: string;
  /** `HH:MM` */
  readonly time: string;
  /** `HH:MM:SS` */
  readonly seconds: string;
}

/** `d` read on a Paris clock. */
export function parisTime(d: Date): ParisTime {
  const [date = '', seconds = ''] = (format ??= makeFormat()).format(d).split(' ');
  return { date, time: seconds.slice(0, 5), seconds };
}

/**
 * The instant a Paris wall-clock time (`YYYY-MM-DD HH:MM[:SS]`) stands for.
 * In the autumn's repeated hour, the first (summer-time) instant; in the
 * spring's missing hour, the instant an hour later on the clock.
 */
export function parisWallToDate(wall: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/.exec(wall);
  if (!m) return new Date(NaN);
  const asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  const offsetAt = (t: number): number => {
    const p = parisTime(new Date(t));
    return Date.parse(`${p.date}T${p.seconds}Z`) - t;
  };
  // Paris is UTC+1 or UTC+2: try the larger offset first (the repeated autumn hour reads as summer time).
  for (const guess of [asUtc - 7_200_000, asUtc - 3_600_000]) if (guess + offsetAt(guess) === asUtc) return new Date(guess);
  return new Date(asUtc - offsetAt(asUtc));
}

/**
 * A broadcast name with its placeholders filled in: `{date}` (YYYY-MM-DD)
 * and `{time}` (HH:MM) of `at` on a Paris clock, `{file}` (the export's name
 * without its extension). `{count}` is left for the builder, which knows it
 * once the contacts are counted. `build` and the daemon both use this: one
 * behaviour (docs/formats.md).
 */
export function fillBroadcastName(name: string, at: Date, file: string | undefined): string {
  let filled = name;
  if (name.includes('{date}') || name.includes('{time}')) {
    const { date, time } = parisTime(at);
    filled = name.replace(/\{date\}/g, date).replace(/\{time\}/g, time);
  }
  return file === undefined ? filled : filled.replace(/\{file\}/g, file);
}
