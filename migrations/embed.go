// Package migrations holds the coordinator's SQL schema, one directory per
// database dialect (postgres/, sqlite/), embedded in the binary and applied
// at start by pkg/store with goose. Files are numbered; never edit one that
// has shipped, add the next number instead.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialects are the database dialects that have a schema here.
var Dialects = []string{"postgres", "sqlite"}

// FS returns the migrations of a dialect ("postgres" or "sqlite"), with the
// .sql files at the root of the returned file system. Any other dialect is
// an error.
func FS(dialect string) (fs.FS, error) {
	for _, d := range Dialects {
		if d == dialect {
			return fs.Sub(files, d)
		}
	}
	return nil, fmt.Errorf("migrations: unknown database dialect %q (want postgres or sqlite)", dialect)
}
