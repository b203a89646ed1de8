export { createTesseraPersistence, type PersistOptions, type PersistenceOptions, type TesseraPersistence } from './persistence.js';
export { createTessera, useSession, TESSERA_CLIENT, type UseSession } from './session.js';
export { installSessionGuard, type SessionGuardOptions } from './router-guard.js';
export { safeRedirect } from './redirect.js';
export { pickPaths, assignPaths } from './paths.js';
