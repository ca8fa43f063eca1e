package wasmhost

import (
	"io"
	"io/fs"
	"slices"
	"sync"
	"syscall"
)

// openFiles is the /assets file system of an instance, counting the files
// the guest holds open: a snapshot cannot carry an open file (its
// descriptor lives inside the WASI implementation), so Snapshot refuses an
// instance that holds one beyond the preopened directory.
type openFiles struct {
	fsys fs.FS

	mu   sync.Mutex
	open []string // names, one per open file
	base int      // open when the instance was created (the preopen)
	// root is set while the preopen's own handle on the directory is
	// open: wazero opens "." lazily, at the guest's first use of
	// /assets, and keeps it for the instance's life; a restore recreates
	// it.
	root bool
	// opens counts the files ever opened, opensBase those at the baseline.
	opens, opensBase int
}

// Open implements fs.FS.
func (o *openFiles) Open(name string) (fs.File, error) {
	f, err := o.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if name == "." && !o.root {
		o.root = true
		return &trackedFile{File: f, owner: o, name: name, root: true}, nil
	}
	o.open = append(o.open, name)
	o.opens++
	return &trackedFile{File: f, owner: o, name: name}, nil
}

// baseline marks the files open now as the instance's own.
func (o *openFiles) baseline() {
	o.mu.Lock()
	o.base = len(o.open)
	o.opensBase = o.opens
	o.mu.Unlock()
}

// openedSinceBaseline is the number of files opened since the baseline,
// closed since or not.
func (o *openFiles) openedSinceBaseline() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opens - o.opensBase
}

// held returns the names of the files opened since the baseline and still
// open.
func (o *openFiles) held() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.open[min(o.base, len(o.open)):])
}

func (o *openFiles) closed(name string, root bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if root {
		o.root = false
		return
	}
	if i := slices.Index(o.open, name); i >= 0 {
		o.open = slices.Delete(o.open, i, i+1)
		if i < o.base {
			o.base--
		}
	}
}

// trackedFile is an open file of openFiles. It offers the optional
// interfaces wazero looks for and delegates them to the file, which is
// read-only.
type trackedFile struct {
	fs.File
	owner *openFiles
	name  string
	root  bool // the preopen's handle on the directory
	once  sync.Once
}

func (f *trackedFile) Close() error {
	f.once.Do(func() { f.owner.closed(f.name, f.root) })
	return f.File.Close()
}

func (f *trackedFile) ReadAt(p []byte, off int64) (int, error) {
	if ra, ok := f.File.(io.ReaderAt); ok {
		return ra.ReadAt(p, off)
	}
	return 0, &fs.PathError{Op: "read", Path: f.name, Err: syscall.ESPIPE}
}

func (f *trackedFile) Seek(off int64, whence int) (int64, error) {
	if s, ok := f.File.(io.Seeker); ok {
		return s.Seek(off, whence)
	}
	return 0, &fs.PathError{Op: "seek", Path: f.name, Err: syscall.ESPIPE}
}

func (f *trackedFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if d, ok := f.File.(fs.ReadDirFile); ok {
		return d.ReadDir(n)
	}
	return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: syscall.ENOTDIR}
}
