/**
 * `@tessera/node`: Tessera in a Node app. This entry has what no web framework needs — the remote
 * verifier, the framework-free protection check, the express-session store. The adapters are in
 * `@tessera/node/express`, `@tessera/node/fastify` and `@tessera/node/hono`.
 */
export {
  createAuthenticate,
  satisfies,
  ACCESS_COOKIE,
  type AccessVerifier,
  type AccessRequest,
  type AccessOutcome,
  type Authenticate,
  type ClaimRequirements,
  type ClaimValue,
  type Denial,
  type JWTPayload,
  type ProtectOptions,
  type RouteRequirements,
  type TesseraAuth,
} from './access.js';
export { createRemoteVerifier, type RemoteVerifier, type RemoteVerifierOptions, type RemoteFallback } from './remote/remote-verifier.js';
export { TesseraSessionStore, type TesseraSessionStoreOptions } from './session-store/tessera-session-store.js';
export type { HttpApiOptions, AttachOptions } from '@tessera/server/http';
