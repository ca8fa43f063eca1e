//go:build wasip1

package main

import "github.com/rcc-games/rcc/pkg/sdk"

func init() { sdk.Register(&conform{}) }
