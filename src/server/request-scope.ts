import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request being served, for error masking and logs outside the context object; other modules
 * keep per-request state of their own on it under a symbol key.
 */
export interface RequestScope {
  requestId: string;
  [key: symbol]: unknown;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInRequest<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}
