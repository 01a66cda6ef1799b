//go:build !nopostgres

package pdp

import _ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL through pgx, registered as "pgx"

// postgresBuilt says that this build carries the PostgreSQL engine. Only
// imchost-demo is built without it (build tag nopostgres, see the Makefile):
// its PDP keeps its records in a SQLite file, and pgx is about a tenth of
// what a first `make run` compiles.
const postgresBuilt = true
