/**
 * `@tessera/server/http`: the HTTP contract with no web framework (and nothing that loads one), for
 * adapters such as @tessera/node's Express, Fastify and Hono mounts.
 */
export { createHttpApi, type HttpApi, type HttpApiOptions } from './api.js';
export { nodeRequest, writeNodeResponse, attachToServer, type NodeRequestOptions, type AttachOptions } from './node.js';
export { readNodeBody, readWebBody } from './body.js';
export { parseCookies, serializeCookie, type CookieAttributes } from './cookies.js';
export { headerValue, silentLog, consoleLog, type HttpRequest, type HttpResponse, type RequestHeaders, type RequestLog, type ResponseStream } from './types.js';
export { errorBody, toContractError, clientErrorHandler, type ContractError } from '../contract-errors.js';
export { bearerTokenOf, type Service } from '../service.js';
export { REFRESH_COOKIE, CSRF_HEADER } from '../transport.js';
export { openStore, storeScheme, redactUrl, DEFAULT_STORE_URL } from '../open-store.js';
export { ServiceMetrics } from '../metrics.js';
export type { LoginLimits } from '../login-throttle.js';
export type { ScryptParams } from '../password-hash.js';
