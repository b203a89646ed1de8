/**
 * Validation and serialization from the route schemas: AJV as the contract needs it (unknown fields
 * are an error, not silently removed; no type coercion, "12" is not a number; defaults filled in; stop
 * at the first error, since allErrors is a DoS vector), and fast-json-stringify for responses, which
 * writes only what the response schema declares.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import fastJson from 'fast-json-stringify';
import { TesseraError } from '@tessera/core';
import type { Route } from './route.js';

export interface CompiledRoute {
  params?: ValidateFunction;
  querystring?: ValidateFunction;
  body?: ValidateFunction;
  /** Serializers by status key (`200`, `4xx`, ...). */
  response: Map<string, (payload: unknown) => string>;
}

export class SchemaCompiler {
  readonly #ajv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, addUsedSchema: false, strict: false });
  readonly #compiled = new WeakMap<Route, CompiledRoute>();

  compile(route: Route): CompiledRoute {
    let compiled = this.#compiled.get(route);
    if (compiled) return compiled;
    const { schema } = route;
    compiled = { response: new Map() };
    if (schema.params) compiled.params = this.#ajv.compile(schema.params);
    if (schema.querystring) compiled.querystring = this.#ajv.compile(schema.querystring);
    if (schema.body) compiled.body = this.#ajv.compile(schema.body);
    for (const [status, responseSchema] of Object.entries(schema.response ?? {})) {
      const type = (responseSchema as { type?: unknown }).type;
      // A 204's `{type: 'null'}` documents "no body"; there is nothing to serialize.
      if (type === 'null') continue;
      compiled.response.set(status.toLowerCase(), fastJson(responseSchema as Parameters<typeof fastJson>[0]) as (payload: unknown) => string);
    }
    this.#compiled.set(route, compiled);
    return compiled;
  }
}

/**
 * Validates one part of the request; throws `invalid_request` with AJV's message, which names the
 * field, never its value ("body must NOT have additional properties").
 */
export function validate(validator: ValidateFunction | undefined, data: unknown, part: 'params' | 'querystring' | 'body'): void {
  if (!validator || validator(data)) return;
  const error = validator.errors?.[0];
  const message = error ? `${part}${error.instancePath} ${error.message ?? 'is not valid'}` : `${part} is not valid`;
  throw new TesseraError('invalid_request', message);
}

/** The serializer for `status`: the exact code, then its class (`4xx`), else none. */
export function serializerFor(compiled: CompiledRoute, status: number): ((payload: unknown) => string) | undefined {
  return compiled.response.get(String(status)) ?? compiled.response.get(`${String(status)[0]}xx`);
}
