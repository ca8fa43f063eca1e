package migrations

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFSHasEachDialectsFilesAtItsRoot(t *testing.T) {
	for _, d := range Dialects {
		fsys, err := FS(d)
		if err != nil {
			t.Fatal(err)
		}
		names, err := fs.Glob(fsys, "*.sql")
		if err != nil || len(names) == 0 {
			t.Fatalf("%s: no .sql files at the root (%v)", d, err)
		}
		if !strings.HasPrefix(names[0], "00001") {
			t.Errorf("%s: first migration is %s, want 00001_*", d, names[0])
		}
	}
}

func TestFSRefusesAnUnknownDialect(t *testing.T) {
	if _, err := FS("mysql"); err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Fatalf(`FS("mysql") error = %v, want one naming the dialect`, err)
	}
}
