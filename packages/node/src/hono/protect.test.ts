import { runProtectionSuite } from '../testing/protection.js';

runProtectionSuite('hono');
