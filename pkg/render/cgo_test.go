package render_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestPurePackagesNeedNoOpenGL keeps OpenGL and cgo out of the packages
// that test without a display: everything pure stays buildable with
// CGO_ENABLED=0.
func TestPurePackagesNeedNoOpenGL(t *testing.T) {
	goTool := testenv.MustHaveCommand(t, "go", "install Go 1.26")
	pure := []string{"../geom", "../camera", "../control", "../demoscene", "./batch", "./mesh", "./text", "../world"}
	out, err := exec.Command(goTool, append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}"}, pure...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, n, _ := strings.Cut(line, " ")
		if strings.Contains(path, "go-gl") || n != "0" && !strings.HasPrefix(path, "runtime/cgo") && path != "net" && path != "os/user" {
			t.Errorf("a pure package depends on %s (%s cgo files)", path, n)
		}
	}
}
