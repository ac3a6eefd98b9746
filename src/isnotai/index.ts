/** Public surface of the isnotai client. */
export * from './types';
export * from './errors';
export * from './client';
export * from './pagination';
export * from './concurrency';
export * from './eventTypes';
export { ISNOTAI_REGIONS } from './regions';
export { closeAllPools, createDispatcherCache, type DispatcherCache } from './pools';
export { DEFAULT_RETRY_POLICY, parseRetryAfter, backoffDelayMs, type RetryPolicy } from './retry';
