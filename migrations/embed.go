// Package migrations holds the coordinator's SQL schema, one directory per
// database dialect, embedded in the binary and applied at start by
// pkg/store with goose. Files are numbered; never edit one that has shipped,
// add the next number instead.
package migrations

import "embed"

// Postgres is the schema for PostgreSQL, files at its root.
//
//go:embed postgres/*.sql
var postgres embed.FS

// SQLite is the schema for the embedded SQLite store, files at its root.
//
//go:embed sqlite/*.sql
var sqlite embed.FS

// FS returns the migrations of a dialect ("postgres" or "sqlite") with the
// .sql files at the root of the returned file system.
func FS(dialect string) (embed.FS, string) {
	if dialect == "postgres" {
		return postgres, "postgres"
	}
	return sqlite, "sqlite"
}
