export * from './psql.js';
export * from './lsn.js';
export * from './queries.js';
