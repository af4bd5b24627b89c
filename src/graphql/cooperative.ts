/**
 * Cooperative time slicing for GraphQL execution. Node runs every request on one thread, and
 * graphql-js completes whatever data has arrived in one synchronous stretch: the 200 rows of a page,
 * or the nested pages of 200 parents that one DataLoader batch answered at once. Such a stretch can
 * take tens of milliseconds, during which /healthz, the job workers and every other request wait.
 *
 * Three pieces keep stretches short without costing statements:
 * - `sliced`: the items of a long list complete in slices, each one event-loop turn after the one
 *   before, so pending I/O runs in between;
 * - `yieldIfBusy`: a value a DataLoader delivers after the current stretch used its budget waits for
 *   the next turn;
 * - `afterSlices`: a DataLoader batch of a request waits until that request's lists have released
 *   all their slices, so the loads of every slice still go out as one statement.
 */
import { currentRequestScope } from '../server/request-scope.js';

/** A synchronous stretch longer than this yields at the next loader value. */
export const STRETCH_BUDGET_MS = 5;
/** List items completed in one go. */
export const LIST_SLICE = 25;

let stretchStart = -1;
const endStretch = () => {
  stretchStart = -1;
};
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Null while the current stretch is within its budget; otherwise a promise that resolves on the
 * next turn of the event loop. The first call of a stretch starts its clock; a `setImmediate`
 * queued then marks its end.
 */
export function yieldIfBusy(): Promise<void> | null {
  const now = performance.now();
  if (stretchStart < 0) {
    stretchStart = now;
    setImmediate(endStretch);
    return null;
  }
  return now - stretchStart > STRETCH_BUDGET_MS ? nextTurn() : null;
}

/** Lists of one request still releasing slices, and the batches waiting for them. */
class SliceTracker {
  private pending = 0;
  private waiting: Array<() => void> = [];

  hold(): () => void {
    this.pending += 1;
    return () => {
      this.pending -= 1;
      if (this.pending === 0) {
        const waiting = this.waiting;
        this.waiting = [];
        for (const run of waiting) run();
      }
    };
  }

  after(run: () => void): void {
    if (this.pending === 0) run();
    else this.waiting.push(run);
  }
}

const TRACKER = Symbol('slice tracker');

function tracker(): SliceTracker | undefined {
  const scope = currentRequestScope();
  if (!scope) return undefined;
  return ((scope[TRACKER] as SliceTracker | undefined) ??= new SliceTracker());
}

/**
 * The list as graphql-js should complete it: the first slice as values, each later slice as
 * promises that resolve one event-loop turn after the slice before it. Short lists are unchanged.
 */
export function sliced<T>(items: T[]): Array<T | Promise<T>> {
  if (items.length <= LIST_SLICE) return items;
  const release = tracker()?.hold();
  const out: Array<T | Promise<T>> = items.slice(0, LIST_SLICE);
  let gate = Promise.resolve();
  for (let start = LIST_SLICE; start < items.length; start += LIST_SLICE) {
    gate = gate.then(nextTurn);
    const turn = gate;
    for (const item of items.slice(start, start + LIST_SLICE)) out.push(turn.then(() => item));
  }
  if (release) void gate.then(release);
  return out;
}

/**
 * DataLoader's `batchScheduleFn`: its default (after the current promise jobs), but not before the
 * lists of this request have released all their slices.
 */
export function afterSlices(dispatch: () => void): void {
  const schedule = () => void Promise.resolve().then(() => process.nextTick(dispatch));
  const slices = tracker();
  if (slices) slices.after(schedule);
  else schedule();
}
