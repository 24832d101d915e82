/**
 * @uws-kit/store-sql: job and result stores on @effect/sql. Embedded SQLite by default,
 * PostgreSQL for several instances sharing one database.
 *
 * @since 0.1.0
 */
export * as Schema from "./Schema.js"
export * as SqlContainerIndex from "./SqlContainerIndex.js"
export * as SqlCopyCatalogue from "./SqlCopyCatalogue.js"
export * as SqlDatabase from "./SqlDatabase.js"
export * as SqlDispatcher from "./SqlDispatcher.js"
export * as SqlJobStore from "./SqlJobStore.js"
export * as SqlLocatorIndex from "./SqlLocatorIndex.js"
export * as SqlResultStore from "./SqlResultStore.js"
