// Package gamedev is the author's loop of rccctl game dev: it watches a
// game's sources (fsnotify, recursively), and on each change builds them
// (pkg/gamebuild), checks the module against the guest ABI, deploys it as
// a new version and hot-upgrades every running instance of the game to
// it, its players connected (docs/abi.md, "Hot upgrade"). A failure at
// any step is printed in full and leaves the running instances on their
// version. UpgradeRunning is also what rccctl game deploy
// --upgrade-running does.
//
// It is rccctl's insides, not public API.
package gamedev
