// Package pgmm is a database/sql driver for a pgmm multi-master PostgreSQL
// cluster, through cgo and libpgmm: every statement is routed by libpgmm
// to the master that owns its row.  Standard library only.
//
//	import (
//		"database/sql"
//		_ "pgmm"
//	)
//
//	db, err := sql.Open("pgmm", "host=127.0.0.1 port=5501 dbname=app user=app")
//
// The data source name is a libpq conninfo string or URI naming any one
// master, plus pgmm's options (pgmm_read=local|any|owner, pgmm_retries=N,
// pgmm_id_block=N, ...; see pgmm.h).
//
// Placeholders are PostgreSQL's own: $1, $2, ...  Parameters go in text
// format (int64, float64, bool, string, time.Time; nil is NULL), except
// []byte, which goes in binary format (the raw bytes of a bytea); the server
// infers each parameter's type from the statement.
//
// Result values by column type: int2/int4/int8/oid -> int64;
// float4/float8 -> float64; bool -> bool; bytea -> []byte;
// date/timestamp/timestamptz -> time.Time (timestamp without time zone in
// UTC; 'infinity' and other values time.Time cannot hold -> string);
// everything else (text, numeric, uuid, json, time, interval, arrays, ...)
// -> string.  database/sql converts them on Scan (numeric text scans into
// float64, int64 or string).
//
// Outside a *sql.Tx every statement commits on its own.  In a *sql.Tx,
// pgmm defers BEGIN and binds the transaction to the master of its first
// statement that needs one; a later write of a row owned by another master
// fails with SQLSTATE PM002 (errors.As(err, &e) with e *pgmm.Error,
// e.SQLState == pgmm.SQLStateCrossOwner).  DDL is refused with PM004: use
// Admin.DDL.
//
// pgmm's own calls (NextID, LastNode, KeyOwner, Nodes, ...) are methods of
// *pgmm.Conn; reach it from a *sql.Conn with Raw, or use the helpers
// NextID, NextIDFor and LastNode, which take a *sql.Conn.  The admin API
// (Init, AdminConnect, Admin.DDL/Reference/Distribute/Status/Verify/
// Recover/Uninstall) wraps pgmm_admin_*.
//
// Context cancellation is checked before each call; a statement already
// sent cannot be interrupted (libpgmm has no cancel call).
package pgmm
