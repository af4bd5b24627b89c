import { AsyncLocalStorage } from 'node:async_hooks';

/** Counts SQL statements per request (asserted in tests where batching matters, shown in benchmarks). */
export interface StatementCount {
  count: number;
}

const storage = new AsyncLocalStorage<StatementCount>();

export function withStatementCount<T>(fn: () => T): { result: T; counter: StatementCount } {
  const counter: StatementCount = { count: 0 };
  return { result: storage.run(counter, fn), counter };
}

export function countStatement(): void {
  const counter = storage.getStore();
  if (counter) counter.count += 1;
}

/** Statements counted so far in the current request's scope; undefined outside one (metrics). */
export function currentStatementCount(): number | undefined {
  return storage.getStore()?.count;
}
