package pgmm

/*
#include <pgmm.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
)

// SQLSTATEs raised by pgmm (class PM).
const (
	SQLStateNotOwner   = "PM001" // a master refused a write to a shard it does not own
	SQLStateCrossOwner = "PM002" // transaction bound to one master, the statement needs another
	SQLStateNoShard    = "PM003" // a master owns no shard to draw an ID for
	SQLStateRefused    = "PM004" // a statement pgmm refuses (DDL, COPY, several statements, ...)
	SQLStateNodeDown   = "PM005" // the master the statement needs is unreachable
	SQLStateFrozen     = "PM006" // retryable: a catalog change froze the table for a moment
)

// Error is a server error or an error pgmm decided, with its SQLSTATE.
// Use errors.As(err, &e) with e *pgmm.Error.
type Error struct {
	Severity   string // ERROR, FATAL, ... ("" for client-side errors)
	SQLState   string // e.g. "PM002", "23505"; "" for client-side errors
	Message    string // primary message
	Detail     string
	Hint       string
	Constraint string
	Node       string // master that answered, when known
}

func (e *Error) Error() string {
	msg := e.Message
	if !strings.HasPrefix(msg, "pgmm: ") && !strings.HasPrefix(msg, "pgmm ") {
		msg = "pgmm: " + msg
	}
	if e.Detail != "" {
		msg += "; DETAIL: " + e.Detail
	}
	if e.Hint != "" {
		msg += "; HINT: " + e.Hint
	}
	if e.SQLState != "" {
		msg += " (SQLSTATE " + e.SQLState + ")"
	}
	return msg
}

// IsSQLState reports whether err is (or wraps) a *pgmm.Error with this SQLSTATE.
func IsSQLState(err error, sqlstate string) bool {
	var e *Error
	return errors.As(err, &e) && e.SQLState == sqlstate
}

// SQLState of err when it is (or wraps) a *pgmm.Error, else "".
func SQLState(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.SQLState
	}
	return ""
}

func errorf(format string, args ...interface{}) error {
	return &Error{Message: "pgmm: " + fmt.Sprintf(format, args...)}
}

// ErrClosed is returned by every operation on a closed Conn or Admin.
var ErrClosed = errors.New("pgmm: the connection is closed")

// ErrTxRolledBack is returned by Commit when the transaction had failed:
// the server rolled it back and nothing was committed.
var ErrTxRolledBack = errors.New("pgmm: COMMIT rolled back the transaction: an earlier statement in it failed; nothing was committed")

func resultError(res *C.PGresult, node string) error {
	field := func(code C.int) string { return gostr(C.pgmm_result_error_field(res, code)) }
	e := &Error{
		Severity:   field(diagSeverity),
		SQLState:   gostr(C.pgmm_result_sqlstate(res)),
		Message:    field(diagPrimary),
		Detail:     field(diagDetail),
		Hint:       field(diagHint),
		Constraint: field(diagConstraint),
		Node:       node,
	}
	if e.Severity == "" {
		e.Severity = gostr(C.pgmm_result_error_field(res, C.PG_DIAG_SEVERITY))
	}
	e.Message = strings.TrimSpace(e.Message)
	if e.Message == "" {
		e.Message = strings.TrimSpace(gostr(C.pgmm_result_error_message(res)))
	}
	if e.Message == "" {
		e.Message = "unknown error"
	}
	return e
}
