import { runProtectionSuite } from '../testing/protection.js';

runProtectionSuite('fastify');
