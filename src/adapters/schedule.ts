/**
 * When a polled connector runs: every `syncIntervalSec` (the default) or on a cron expression in an
 * IANA time zone, and optionally only inside sync windows (days and hours in that time zone; a
 * window may cross midnight). The schedule is part of the connector's config (`config.schedule`,
 * an operational setting): validated with the other config rules (schema-validation.ts), stored
 * once. Pure: every function takes the instant it works from, so callers inject their clock.
 */
import { Cron } from 'croner';
import type { ConnectorConfig, JsonSchema } from './spi.js';

export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Days and hours (HH:MM, in the schedule's time zone) when runs may start; `end` before `start` crosses midnight. */
export interface SyncWindow {
  days: Weekday[];
  start: string;
  end: string;
}

export interface Schedule {
  /** Used when there is no cron expression. */
  intervalSec: number;
  cron: string | null;
  /** IANA time zone of the cron expression and the windows; UTC unless set. */
  timezone: string;
  windows: SyncWindow[];
}

const TIME = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
export const MAX_WINDOWS = 14;

/** The JSON Schema of `config.schedule` (operations.ts spreads it into every provider's config). */
export const SCHEDULE_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'When runs start: a cron expression in an IANA time zone (else every syncIntervalSec), optionally only inside windows, e.g. { "cron": "*/15 * * * *", "timezone": "Europe/Berlin", "windows": [{ "days": ["MON", "TUE", "WED", "THU", "FRI"], "start": "08:00", "end": "18:00" }] }.',
  properties: {
    cron: { type: 'string', minLength: 1, maxLength: 120, description: 'Five fields (minute hour day-of-month month day-of-week), or six with seconds first.' },
    timezone: { type: 'string', minLength: 1, maxLength: 64, default: 'UTC', description: 'IANA time zone of the cron expression and the windows.' },
    windows: {
      type: 'array',
      maxItems: MAX_WINDOWS,
      description: 'Runs start only inside one of these; a run due outside waits for the next window to open.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['days', 'start', 'end'],
        properties: {
          days: { type: 'array', minItems: 1, maxItems: 7, uniqueItems: true, items: { type: 'string', enum: [...WEEKDAYS] }, description: 'The days the window opens on.' },
          start: { type: 'string', pattern: TIME, description: 'HH:MM, when the window opens.' },
          end: { type: 'string', pattern: TIME, description: 'HH:MM, when it closes; before start: the next day.' },
        },
      },
    },
  },
};

export interface ScheduleProblem {
  path: string;
  message: string;
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronOf(pattern: string, timezone: string): Cron {
  // `paused`: never fires by itself; we only ask it for instants.
  return new Cron(pattern, { timezone, paused: true });
}

/**
 * What a JSON Schema cannot say about `config.schedule`: the cron expression parses, the time zone
 * is a known IANA zone, a window opens and closes at different times. Paths are inside the config.
 */
export function scheduleProblems(config: ConnectorConfig): ScheduleProblem[] {
  const schedule = config.schedule;
  if (!schedule || typeof schedule !== 'object' || Array.isArray(schedule)) return [];
  const s = schedule as Record<string, unknown>;
  const problems: ScheduleProblem[] = [];
  const zone = typeof s.timezone === 'string' ? s.timezone : 'UTC';
  const zoneOk = validTimeZone(zone);
  if (!zoneOk) problems.push({ path: 'schedule.timezone', message: 'is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)' });
  if (typeof s.cron === 'string') {
    try {
      const cron = cronOf(s.cron, zoneOk ? zone : 'UTC');
      if (!cron.nextRun(new Date())) problems.push({ path: 'schedule.cron', message: 'never fires' });
    } catch (e) {
      problems.push({ path: 'schedule.cron', message: `is not a cron expression: ${(e as Error).message.replace(/^CronPattern:\s*/, '').slice(0, 200)}` });
    }
  }
  if (Array.isArray(s.windows)) {
    s.windows.forEach((w, i) => {
      const win = w as Partial<SyncWindow> | null;
      if (win && typeof win.start === 'string' && win.start === win.end) problems.push({ path: `schedule.windows.${i}.end`, message: 'must differ from start' });
    });
  }
  return problems;
}

/** The schedule a stored (validated) config describes. */
export function scheduleOf(config: ConnectorConfig, intervalSec: number): Schedule {
  const s = (config.schedule && typeof config.schedule === 'object' ? config.schedule : {}) as Partial<Schedule>;
  return {
    intervalSec,
    cron: typeof s.cron === 'string' ? s.cron : null,
    timezone: typeof s.timezone === 'string' ? s.timezone : 'UTC',
    windows: Array.isArray(s.windows) ? s.windows : [],
  };
}

const DAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The weekday (0 = Monday) and minute of the day of `at` on the wall clock of `timezone`. */
function wallClock(at: Date, timezone: string): { day: number; minute: number } {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return { day: DAY_INDEX[parts.weekday!]!, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether a run may start at `at`: no windows, or inside one of them. */
export function inWindow(schedule: Schedule, at: Date): boolean {
  if (!schedule.windows.length) return true;
  const { day, minute } = wallClock(at, schedule.timezone);
  const yesterday = (day + 6) % 7;
  return schedule.windows.some((w) => {
    const days = w.days.map((d) => WEEKDAYS.indexOf(d));
    const start = minutes(w.start);
    const end = minutes(w.end);
    if (start < end) return days.includes(day) && minute >= start && minute < end;
    // Crosses midnight: the evening of a listed day, or the early hours after one.
    return (days.includes(day) && minute >= start) || (days.includes(yesterday) && minute < end);
  });
}

/** When the next window opens after `at` (croner turns the wall-clock opening into an instant, DST included). */
function nextOpening(schedule: Schedule, at: Date): Date | null {
  let best: Date | null = null;
  for (const w of schedule.windows) {
    const days = w.days.map((d) => (WEEKDAYS.indexOf(d) + 1) % 7).join(',');
    const opening = cronOf(`${Number(w.start.slice(3, 5))} ${Number(w.start.slice(0, 2))} * * ${days}`, schedule.timezone).nextRun(at);
    if (opening && (!best || opening < best)) best = opening;
  }
  return best;
}

/** Null when a run may start at `now`; else the instant the next window opens, until which it is held. */
export function heldUntil(schedule: Schedule, now: Date): Date | null {
  if (inWindow(schedule, now)) return null;
  return nextOpening(schedule, now);
}

/**
 * The instant the run after one that ended (or was due) at `after` starts: the next cron instant,
 * or `after` + the interval; a start outside the windows waits for the next opening.
 */
export function nextRunAt(schedule: Schedule, after: Date): Date {
  let due: Date;
  if (schedule.cron) due = cronOf(schedule.cron, schedule.timezone).nextRun(after) ?? new Date(after.getTime() + schedule.intervalSec * 1000);
  else due = new Date(after.getTime() + schedule.intervalSec * 1000);
  return heldUntil(schedule, due) ?? due;
}
