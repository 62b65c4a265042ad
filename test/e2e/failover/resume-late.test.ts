// kpg failover killed after each of its last four steps; resume.ts has the test.
import { CRASH_POINTS, resumeSuite } from './resume.js';

resumeSuite('late', CRASH_POINTS.slice(4));
