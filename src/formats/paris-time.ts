/**
 * Wall-clock time in Europe/Paris, the platform's time zone (guide §3.2.6:
 * report dates, `startDate`, CRA call dates). One formatter for the whole
 * project: summer and winter time come from the runtime's time-zone data.
 */
const FORMAT = new Intl.DateTimeFormat('sv-SE', {
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
  const [date = '', seconds = ''] = FORMAT.format(d).split(' ');
  return { date, time: seconds.slice(0, 5), seconds };
}
