package wasmhost

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// TestFunctionTables checks wazero's filling of function tables, which the
// host builds with a patch of its own (third_party/wazero/PATCHES.md): the
// plain function indexes of an element segment made in one allocation per
// instance, the other segments as wazero does. Through call_indirect, each
// instance's table must reach the imported function, its own local
// functions (counting calls in its own global, not another instance's), the
// functions of an element given by expression, a passive segment copied in
// by table.init, and trap on the null entry and past the filled ones; an
// instance's table keeps working after another instance of the module, and
// the module itself, are closed.
func TestFunctionTables(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer r.Close(ctx)
	if _, err := r.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(x int32) int32 { return 2 * x }).Export("twice").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	compiled, err := r.CompileModule(ctx, readModule(t, "tables"))
	if err != nil {
		t.Fatal(err)
	}
	inst := func(name string) api.Module {
		m, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(name))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	call := func(m api.Module, slot, x int32) (int32, error) {
		res, err := m.ExportedFunction("call").Call(ctx, api.EncodeI32(slot), api.EncodeI32(x))
		if err != nil {
			return 0, err
		}
		return api.DecodeI32(res[0]), nil
	}
	want := func(m api.Module, slot, x, result int32) {
		t.Helper()
		got, err := call(m, slot, x)
		if err != nil || got != result {
			t.Fatalf("%s: slot %d of %d = %d, %v; want %d", m.Name(), slot, x, got, err, result)
		}
	}
	wantTrap := func(m api.Module, slot int32) {
		t.Helper()
		if got, err := call(m, slot, 1); err == nil {
			t.Fatalf("%s: slot %d returned %d, want a trap", m.Name(), slot, got)
		} else if !strings.Contains(err.Error(), "invalid table access") && !strings.Contains(err.Error(), "indirect call type mismatch") {
			t.Fatalf("%s: slot %d: %v, want an invalid table access", m.Name(), slot, err)
		}
	}
	calls := func(m api.Module) int32 {
		res, err := m.ExportedFunction("calls").Call(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return api.DecodeI32(res[0])
	}

	a, b := inst("a"), inst("b")
	for _, m := range []api.Module{a, b} {
		want(m, 0, 21, 42) // imported
		want(m, 2, 5, -5)  // local
		want(m, 5, 7, 49)  // by expression
		wantTrap(m, 4)     // null by expression
		wantTrap(m, 8)     // passive, not copied yet
		wantTrap(m, 3)     // never filled
	}
	// $count adds this instance's call count to its argument.
	want(a, 1, 100, 101)
	want(a, 1, 100, 102)
	want(b, 1, 100, 101)
	if calls(a) != 2 || calls(b) != 1 {
		t.Fatalf("calls a=%d b=%d, want 2 and 1: a table reached another instance's function", calls(a), calls(b))
	}
	if _, err := b.ExportedFunction("fill").Call(ctx); err != nil {
		t.Fatal(err)
	}
	want(b, 8, 3, 9)
	want(b, 9, 0, 2)
	wantTrap(a, 8) // b's table.init is b's alone

	// Many instances at once, then all but one closed: the one left keeps
	// its own functions.
	var many []api.Module
	for i := range 50 {
		many = append(many, inst("m"+string(rune('A'+i))))
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range many[1:] {
		want(m, 1, 0, 1)
		_ = m.Close(ctx)
	}
	if err := compiled.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want(many[0], 2, 9, -9)
	want(many[0], 1, 0, 1)
	want(b, 1, 0, 3) // its third call: fill's copy at 9 is $count too
	want(b, 8, 4, 16)
}
