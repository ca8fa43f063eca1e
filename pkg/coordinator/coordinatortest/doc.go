// Package coordinatortest serves a real coordinator on loopback for other
// packages' tests.
package coordinatortest
