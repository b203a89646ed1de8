/**
 * The HTTP contract, written once as JSON Schemas: Fastify validates requests with them (AJV, no
 * type coercion, no stripping of unknown fields: those are 400 `invalid_request`), serializes
 * responses with them, and @fastify/swagger generates `/openapi.json` from them.
 *
 * Every object is closed (`additionalProperties: false`). Query strings are strings with patterns,
 * because coercion is off for the whole service (a JSON `"123"` where a number is due is a 400).
 */
import { DEVICE_KINDS, ERROR_STATUS, MAX_ACCESS_TOKEN_LENGTH } from '@tessera/core';

const ms = { type: 'integer', minimum: 0, description: 'ms since the epoch' } as const;
const nullableString = { type: ['string', 'null'] } as const;

export const errorResponse = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'stable error code' },
        message: { type: 'string' },
      },
    },
  },
} as const;

export const errorResponses = { '4xx': errorResponse, '5xx': errorResponse } as const;

export const device = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    kind: { type: 'string', enum: [...DEVICE_KINDS] },
  },
} as const;

export const transport = {
  type: 'string',
  enum: ['cookie', 'header'],
  description: '`cookie`: the refresh token only in an HttpOnly `__Host-` cookie; `header`: in the JSON body both ways',
} as const;

export const sessionView = {
  type: 'object',
  required: ['id', 'device', 'ip', 'userAgent', 'createdAt', 'lastSeenAt', 'idleExpiresAt', 'absoluteExpiresAt', 'current'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    device: {
      type: 'object',
      required: ['name', 'kind'],
      additionalProperties: false,
      properties: { name: { type: 'string' }, kind: { type: 'string', enum: [...DEVICE_KINDS] } },
    },
    ip: nullableString,
    userAgent: nullableString,
    createdAt: ms,
    lastSeenAt: ms,
    idleExpiresAt: ms,
    absoluteExpiresAt: ms,
    current: { type: 'boolean', description: 'this is the session of the access token that asked' },
  },
} as const;

export const tokenResponse = {
  type: 'object',
  required: ['accessToken', 'tokenType', 'expiresIn', 'accessTokenExpiresAt', 'session', 'serverTime', 'refreshTokenExpiresAt'],
  additionalProperties: false,
  properties: {
    accessToken: { type: 'string' },
    tokenType: { type: 'string', enum: ['Bearer'] },
    expiresIn: { type: 'integer', minimum: 0, description: 'seconds' },
    accessTokenExpiresAt: ms,
    session: sessionView,
    serverTime: ms,
    refreshToken: { type: 'string', description: 'only with the `header` transport' },
    refreshTokenExpiresAt: ms,
  },
} as const;

export const sessionList = {
  type: 'object',
  required: ['sessions'],
  additionalProperties: false,
  properties: { sessions: { type: 'array', items: sessionView } },
} as const;

export const revokedCount = {
  type: 'object',
  required: ['revoked'],
  additionalProperties: false,
  properties: { revoked: { type: 'integer', minimum: 0 } },
} as const;

const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const refreshToken = { type: 'string', minLength: 1, maxLength: 512 } as const;

export const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', minLength: 1, maxLength: 256 }, password, device, transport },
} as const;

/** Refresh and logout: the header transport puts the refresh token here; the cookie transport sends `{}` or nothing. */
export const refreshBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { refreshToken },
} as const;

export const passwordChangeBody = {
  type: 'object',
  required: ['currentPassword', 'newPassword'],
  additionalProperties: false,
  properties: {
    currentPassword: password,
    newPassword: password,
    revokeOtherSessions: { type: 'boolean', default: true, description: 'revoke every other session of the user (default true)' },
  },
} as const;

export const revokeOthersBody = {
  type: 'object',
  required: ['password'],
  additionalProperties: false,
  properties: { password },
} as const;

export const sessionIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const userIdParams = {
  type: 'object',
  required: ['userId'],
  additionalProperties: false,
  properties: { userId: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

export const usernameOrIdParams = {
  type: 'object',
  required: ['usernameOrId'],
  additionalProperties: false,
  properties: {
    usernameOrId: { type: 'string', minLength: 1, maxLength: 256, description: 'a username (normalised: NFKC, lower case), else a user id' },
  },
} as const;

export const adminCreateSessionBody = {
  type: 'object',
  required: ['userId'],
  additionalProperties: false,
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 256 },
    device,
    claims: { type: 'object', maxProperties: 64, description: 'application claims copied into every access token (≤ 4 KB of JSON)' },
    transport: { ...transport, default: 'header' },
  },
} as const;

export const introspectBody = {
  type: 'object',
  required: ['token'],
  additionalProperties: false,
  properties: { token: { type: 'string', minLength: 1, maxLength: MAX_ACCESS_TOKEN_LENGTH } },
} as const;

export const introspectResponse = {
  type: 'object',
  required: ['active'],
  additionalProperties: true,
  description: 'RFC 7662 style: exactly `{"active": false}` for an inactive token',
  properties: {
    active: { type: 'boolean' },
    token_type: { type: 'string', enum: ['access_token', 'refresh_token'] },
    sub: { type: 'string' },
    sid: { type: 'string' },
    jti: { type: 'string' },
    iss: { type: 'string' },
    exp: { type: 'integer', description: 'seconds since the epoch' },
    iat: { type: 'integer', description: 'seconds since the epoch' },
  },
} as const;

export const createUserBody = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', minLength: 1, maxLength: 256 }, password },
} as const;

export const userResponse = {
  type: 'object',
  required: ['id', 'username', 'createdAt'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, username: { type: 'string' }, createdAt: ms },
} as const;

export const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'the `id` of the last event already read' },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1 to 1000, default 100' },
  },
} as const;

export const eventsResponse = {
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: {
    events: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'type', 'sid', 'userId', 'at'],
        additionalProperties: false,
        properties: {
          id: { type: 'string' },
          type: { type: 'string' },
          sid: nullableString,
          userId: nullableString,
          at: ms,
          ip: { type: 'string' },
          userAgent: { type: 'string' },
          traceId: { type: 'string' },
          reason: { type: 'string' },
        },
      },
    },
  },
} as const;

export const revocationEntry = {
  type: 'object',
  required: ['sid', 'userId', 'reason', 'at'],
  additionalProperties: false,
  properties: { sid: { type: 'string' }, userId: { type: 'string' }, reason: { type: 'string' }, at: ms },
} as const;

export const revocationsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { after: { type: 'string', pattern: '^[0-9]{1,16}$', description: 'ms since the epoch; default: as far back as revocations are kept' } },
} as const;

export const revocationsResponse = {
  type: 'object',
  required: ['revocations', 'now'],
  additionalProperties: false,
  properties: { revocations: { type: 'array', items: revocationEntry }, now: ms },
} as const;

/** A signing key as the admin API shows it: its times, never a key part (public or private). */
export const signingKey = {
  type: 'object',
  required: ['kid', 'createdAt', 'activatesAt', 'retiresAt', 'expiresAt'],
  additionalProperties: false,
  properties: {
    kid: { type: 'string', description: 'RFC 7638 thumbprint; the `kid` of JWKS and of token headers' },
    createdAt: { ...ms, description: 'published in JWKS (ms since the epoch)' },
    activatesAt: { ...ms, description: 'signs from (ms since the epoch)' },
    retiresAt: { type: ['integer', 'null'], minimum: 0, description: 'signs no more from (ms since the epoch); null while no newer key replaces it' },
    expiresAt: { type: ['integer', 'null'], minimum: 0, description: 'leaves JWKS at (ms since the epoch); null while it is not retired' },
  },
} as const;

export const keysResponse = {
  type: 'object',
  required: ['keys', 'now'],
  additionalProperties: false,
  properties: {
    keys: { type: 'array', items: signingKey, description: 'newest first (by activatesAt)' },
    now: { ...ms, description: "the service's clock: the key that signs now is the newest one with activatesAt ≤ now < retiresAt (or no retiresAt)" },
  },
} as const;

export const jwksResponse = {
  type: 'object',
  required: ['keys'],
  additionalProperties: false,
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kty', 'crv', 'x', 'kid', 'alg', 'use'],
        additionalProperties: false,
        properties: {
          kty: { type: 'string' },
          crv: { type: 'string' },
          x: { type: 'string' },
          kid: { type: 'string' },
          alg: { type: 'string' },
          use: { type: 'string' },
        },
      },
    },
  },
} as const;
