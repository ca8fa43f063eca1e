package gamedev

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultQuiet is how long the sources must stay unchanged before a burst
// of changes (an editor's save, a git checkout) counts as one change.
const DefaultQuiet = 150 * time.Millisecond

// ignoredDirs are directories that hold build outputs or dependencies, not
// a game's sources: cargo's target, npm's node_modules, build output
// folders.
var ignoredDirs = map[string]bool{"target": true, "node_modules": true, "build": true, "dist": true}

// Ignored reports whether a change to the file or directory name (the
// last element of a path) is no change to a game's sources: hidden files
// and directories, build outputs (.wasm, target/, node_modules/, build/,
// dist/) and the temporary, backup and swap files of editors (vim's .swp
// and 4913, emacs' #file# and .#file, file~, .tmp, .bak, .orig).
func Ignored(name string, dir bool) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") {
		return true
	}
	if dir {
		return ignoredDirs[name]
	}
	if name == "4913" || strings.HasSuffix(name, "~") {
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".wasm", ".swp", ".swo", ".swx", ".tmp", ".bak", ".orig", ".part", ".crdownload":
		return true
	}
	return false
}

// Watcher watches a game's source tree, every directory under its root
// (those created later too) but the ignored ones, and reports bursts of
// changes.
type Watcher struct {
	root  string
	quiet time.Duration
	fw    *fsnotify.Watcher
}

// Watch starts watching the tree under root. quiet is how long the tree
// must stay unchanged before Next reports a burst (0: DefaultQuiet).
func Watch(root string, quiet time.Duration) (*Watcher, error) {
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &Watcher{root: root, quiet: quiet, fw: fw}
	if err := w.addTree(root); err != nil {
		fw.Close()
		return nil, err
	}
	return w, nil
}

// Close stops watching.
func (w *Watcher) Close() error { return w.fw.Close() }

// addTree watches dir and every directory under it that is not ignored.
func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && Ignored(d.Name(), true) {
			return filepath.SkipDir
		}
		if err := w.fw.Add(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// relevant reports whether ev changes the sources, and watches a
// directory it creates.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	rel, err := filepath.Rel(w.root, ev.Name)
	if err != nil {
		return false
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, p := range parts[:len(parts)-1] {
		if Ignored(p, true) {
			return false
		}
	}
	name := parts[len(parts)-1]
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
			if Ignored(name, true) {
				return false
			}
			_ = w.addTree(ev.Name) // a directory that vanished at once changes nothing
			return true
		}
	}
	// A removed or renamed directory is no longer watched by fsnotify
	// itself; whether it was one is unknown now, so it counts.
	return !Ignored(name, false)
}

// Next waits for a change to the sources, then for the tree to stay
// unchanged for the quiet time, and returns the paths changed in the
// burst (relative to the root, in order, once each). It returns ctx's
// error when ctx ends first.
func (w *Watcher) Next(ctx context.Context) ([]string, error) {
	var changed []string
	seen := map[string]bool{}
	var quiet <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err, ok := <-w.fw.Errors:
			if !ok {
				return nil, errors.New("watcher closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: treat it as a change of everything.
				changed = append(changed, ".")
				quiet = time.After(w.quiet)
				continue
			}
			return nil, err
		case ev, ok := <-w.fw.Events:
			if !ok {
				return nil, errors.New("watcher closed")
			}
			if !w.relevant(ev) {
				continue
			}
			rel, _ := filepath.Rel(w.root, ev.Name)
			if !seen[rel] {
				seen[rel] = true
				changed = append(changed, rel)
			}
			quiet = time.After(w.quiet)
		case <-quiet:
			return changed, nil
		}
	}
}
