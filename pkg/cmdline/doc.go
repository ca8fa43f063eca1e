// Package cmdline runs RCC's cobra command trees (rccctl and rccd) the same
// way: one set of exit codes (0 success, 1 the operation failed, 2 the
// command line was wrong), an unknown or missing subcommand at any depth is
// a usage error, positional arguments are checked by name so that a
// missing one is named, and a version command. Errors are classified by
// type, never by their text. It is the binaries' insides, not public API.
package cmdline
