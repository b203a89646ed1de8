/**
 * The OpenAPI document, generated from the route schemas (the contract is written once). OpenAPI 3.1,
 * whose schemas are JSON Schema (2020-12): the route schemas go in as they are.
 */
import type { Route } from './route.js';

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

const SECURITY_SCHEMES = {
  accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (EdDSA, typ at+jwt)' },
  adminKey: { type: 'http', scheme: 'bearer', description: 'the TESSERA_ADMIN_KEY' },
};

export function openApiDocument(routes: readonly Route[], info: OpenApiInfo, prefix = ''): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const { schema } = route;
    if (schema.hide) continue;
    const path = prefix + route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const operation: Record<string, unknown> = {};
    if (schema.tags) operation.tags = schema.tags;
    if (schema.summary) operation.summary = schema.summary;
    if (schema.description) operation.description = schema.description;
    if (schema.security) operation.security = schema.security;
    const parameters = [...parametersOf(schema.params, 'path'), ...parametersOf(schema.querystring, 'query')];
    if (parameters.length > 0) operation.parameters = parameters;
    if (schema.body) operation.requestBody = { content: { 'application/json': { schema: schema.body } } };
    const responses: Record<string, unknown> = {};
    for (const [status, responseSchema] of Object.entries(schema.response ?? {})) {
      const description = (responseSchema as { description?: string }).description ?? 'Default Response';
      const key = status.toUpperCase();
      responses[key] =
        (responseSchema as { type?: unknown }).type === 'null'
          ? { description }
          : { description, content: { [schema.produces?.[0] ?? 'application/json']: { schema: responseSchema } } };
    }
    if (Object.keys(responses).length === 0) {
      responses['200'] = { description: 'Default Response', ...(schema.produces ? { content: { [schema.produces[0]!]: {} } } : {}) };
    }
    operation.responses = responses;
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return { openapi: '3.1.0', info, components: { securitySchemes: SECURITY_SCHEMES }, paths };
}

function parametersOf(schema: object | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const { properties = {}, required = [] } = schema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}
