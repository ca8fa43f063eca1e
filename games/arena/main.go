package main

// main is required by the build but never runs: a reactor module is driven
// through the exports of pkg/sdk.
func main() {}
