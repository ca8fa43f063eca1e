package protocol

import (
	"errors"
	"reflect"
	"testing"
)

func TestMigrateFrames(t *testing.T) {
	for _, f := range []Frame{
		&Migrate{Phase: MigrateHold},
		&Migrate{Phase: MigrateGo, URL: "ws://127.0.0.1:7000/play/i-1?handover=abc"},
		&Migrate{Phase: MigrateStay},
		&MigrateAck{},
	} {
		b, err := Encode(f)
		if err != nil {
			t.Fatalf("encode %#v: %v", f, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %x: %v", b, err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Errorf("round trip of %#v gave %#v", f, got)
		}
	}
	for name, f := range map[string]*Migrate{
		"unknown phase":      {Phase: 9},
		"go without URL":     {Phase: MigrateGo},
		"hold with a URL":    {Phase: MigrateHold, URL: "ws://x"},
		"URL over the limit": {Phase: MigrateGo, URL: string(make([]byte, MaxURLBytes+1))},
	} {
		if _, err := Encode(f); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	for name, b := range map[string][]byte{
		"short":           {byte(TypeMigrate), 1},
		"phase 0":         {byte(TypeMigrate), 0, 0, 0},
		"length past end": {byte(TypeMigrate), 2, 9, 0, 'w', 's'},
		"go, no URL":      {byte(TypeMigrate), 2, 0, 0},
		"not UTF-8":       {byte(TypeMigrate), 2, 1, 0, 0xff},
		"ack with bytes":  {byte(TypeMigrateAck), 1},
	} {
		if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}
