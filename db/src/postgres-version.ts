/** @module The one PostgreSQL major version Plumb runs everywhere (contract 8): dev, tests, the bundled StatefulSet, Render. */
export const POSTGRES_MAJOR = 18;
