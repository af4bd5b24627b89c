import { AsyncLocalStorage } from 'node:async_hooks';

/** The request id of the request being served, for error masking and logs outside the context object. */
const storage = new AsyncLocalStorage<{ requestId: string }>();

export function runInRequest<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
