//go:build nopostgres

package pdp

// postgresBuilt says that this build leaves the PostgreSQL engine out
// (build tag nopostgres: imchost-demo, whose PDP uses SQLite); OpenStore
// refuses a postgres:// URL with an error that says so.
const postgresBuilt = false
