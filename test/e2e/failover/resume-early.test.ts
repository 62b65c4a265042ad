// kpg failover killed after each of its first four steps; resume.ts has the test.
import { CRASH_POINTS, resumeSuite } from './resume.js';

resumeSuite('early', CRASH_POINTS.slice(0, 4));
