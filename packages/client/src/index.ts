export { createTesseraClient, subjectOf, type TesseraClient, type TesseraClientOptions } from './client.js';
export { createEncryptedStorage, type EncryptedStorage, type EncryptedStorageOptions, type DiscardReason } from './encrypted-storage.js';
export { TesseraClientError } from './errors.js';
export { clockOffset } from './server-clock.js';
export { refreshDelay, refreshDueAt } from './refresh-schedule.js';
export { backoffDelay } from './backoff.js';
export type { ClientEvents, Device, DeviceKind, EndReason, SessionState, SessionView, TokenResponse, Transport } from './types.js';
