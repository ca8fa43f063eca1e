//go:build arena_double_points

package main

const orbPoints = 2
