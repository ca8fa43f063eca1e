// Package store keeps the coordinator's state: game versions and their
// content-addressed bytes, executors, instances and seat reservations.
//
// Two backends implement [Store] with the same SQL logic: PostgreSQL through
// pgx/v5 (pgxpool), for production and for several coordinators sharing one
// database, and embedded SQLite (modernc.org/sqlite, pure Go), for one
// machine. [Open] picks one from a URL. Migrations from the migrations
// package are applied with goose when a store opens.
//
// Concurrency: every change that guards an invariant (seat count below
// max_players, an instance assigned once, an executor declared lost once) is
// one conditional UPDATE, so coordinators sharing a database never break it.
//
// This package is the daemon's insides, not a public API.
package store
