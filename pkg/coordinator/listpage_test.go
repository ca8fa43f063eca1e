package coordinator

import (
	"fmt"
	"slices"
	"testing"
)

// TestListPage: pages by count and by bytes walk a list once, in order;
// a page resumes after its last entry even when entries before it have
// gone, and at its position when that entry itself has gone.
func TestListPage(t *testing.T) {
	var items []string
	for k := range 25 {
		items = append(items, fmt.Sprintf("e%02d", k))
	}
	key := func(s string) string { return s }
	walk := func(items []string, size func(string) int, pageSize int) (pages [][]string) {
		t.Helper()
		token := ""
		for range len(items) + 1 {
			page, next, err := listPage(items, key, size, pageSize, token)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, page)
			if next == "" {
				return pages
			}
			token = next
		}
		t.Fatal("the pages do not end")
		return nil
	}
	small := func(string) int { return 10 }
	pages := walk(items, small, 10)
	if len(pages) != 3 || len(pages[0]) != 10 || len(pages[2]) != 5 || !slices.Equal(slices.Concat(pages...), items) {
		t.Fatalf("pages of 10: %v", pages)
	}
	// By bytes: three entries of a third of the page bound each fill it.
	third := func(string) int { return MaxPageBytes / 3 }
	if pages := walk(items, third, 100); len(pages) != 9 || len(pages[0]) != 3 {
		t.Fatalf("pages by bytes: %d pages, the first of %d", len(pages), len(pages[0]))
	}
	// An entry larger than the bound still gets a page of its own.
	huge := func(string) int { return MaxPageBytes + 1 }
	if pages := walk(items[:3], huge, 100); len(pages) != 3 || len(pages[1]) != 1 {
		t.Fatalf("huge entries: %v", pages)
	}

	page, next, err := listPage(items, key, small, 10, "")
	if err != nil || len(page) != 10 {
		t.Fatal(page, err)
	}
	// e00…e04 removed: the next page still starts after e09.
	page2, _, err := listPage(items[5:], key, small, 10, next)
	if err != nil || page2[0] != "e10" {
		t.Fatalf("after removals before the token: %v %v", page2, err)
	}
	// e09 itself removed: the next page starts at its position.
	without := slices.Delete(slices.Clone(items), 9, 10)
	page3, _, err := listPage(without, key, small, 10, next)
	if err != nil || page3[0] != "e10" {
		t.Fatalf("after removal of the token's entry: %v %v", page3, err)
	}
	for _, bad := range []string{"x", "bDE6", "bDE6LTE6ZTA5"} { // "l1:", "l1:-1:e09"
		if _, _, err := listPage(items, key, small, 10, bad); err == nil {
			t.Fatalf("token %q taken", bad)
		}
	}
}
