package pgmm

/*
#cgo pkg-config: pgmm libpq
#include <stdlib.h>
#include <stdint.h>
#include <pgmm.h>

// Small helpers so Go never does pointer arithmetic on C memory.
static char **pgmm_go_strarray(int n) { return calloc(n > 0 ? (size_t) n : 1, sizeof(char *)); }
static void pgmm_go_strarray_set(char **a, int i, char *s) { a[i] = s; }
static void pgmm_go_strarray_free(char **a, int n)
{
	int i;
	for (i = 0; i < n; i++)
		free(a[i]);
	free(a);
}
static int *pgmm_go_intarray(int n) { return calloc(n > 0 ? (size_t) n : 1, sizeof(int)); }
static void pgmm_go_intarray_set(int *a, int i, int v) { a[i] = v; }

static PGresult *pgmm_go_exec_params(PGMMconn *c, const char *sql, int n, char **vals, int *lens, int *fmts)
{
	return pgmm_exec_params(c, sql, n, NULL, (const char *const *) vals, lens, fmts, 0);
}
static int pgmm_go_admin_init(char **nodes, int n, int stride, char **err)
{
	return pgmm_admin_init((const char *const *) nodes, n, stride, err);
}
static int pgmm_go_next_id(PGMMconn *c, const char *table, const char *node, long long *out)
{
	int64_t v = 0;
	int rc = node ? pgmm_next_id_for(c, table, node, &v) : pgmm_next_id(c, table, &v);
	*out = (long long) v;
	return rc;
}
*/
import "C"

import (
	"strings"
	"unsafe"
)

const (
	pgresEmptyQuery  = C.PGRES_EMPTY_QUERY
	pgresCommandOK   = C.PGRES_COMMAND_OK
	pgresTuplesOK    = C.PGRES_TUPLES_OK
	pgresSingleTuple = C.PGRES_SINGLE_TUPLE
	pgresCopyOut     = C.PGRES_COPY_OUT
	pgresCopyIn      = C.PGRES_COPY_IN
	pgresCopyBoth    = C.PGRES_COPY_BOTH
	connectionOK     = C.CONNECTION_OK
	diagSeverity     = C.PG_DIAG_SEVERITY_NONLOCALIZED
	diagSQLState     = C.PG_DIAG_SQLSTATE
	diagPrimary      = C.PG_DIAG_MESSAGE_PRIMARY
	diagDetail       = C.PG_DIAG_MESSAGE_DETAIL
	diagHint         = C.PG_DIAG_MESSAGE_HINT
	diagConstraint   = C.PG_DIAG_CONSTRAINT_NAME
	pqTransIdle      = C.PQTRANS_IDLE
	pqTransActive    = C.PQTRANS_ACTIVE
	pqTransInTrans   = C.PQTRANS_INTRANS
	pqTransInError   = C.PQTRANS_INERROR
	pqTransUnknown   = C.PQTRANS_UNKNOWN
)

// cstr copies s into C memory (free it with C.free).  A string holding a
// NUL byte cannot cross into C: errNUL names what it was.
func cstr(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, errorf("%s cannot contain NUL (0x00) bytes", what)
	}
	return C.CString(s), nil
}

// gostr copies a C string (NULL -> "").
func gostr(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

func cfree(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// execParams runs sql with the encoded parameters (vals[i] == nil: NULL)
// through pgmm_exec_params, text results.  The C copies live only for the
// call.
func execParams(c *C.PGMMconn, csql *C.char, vals [][]byte, binary []bool) *C.PGresult {
	n := len(vals)
	cvals := C.pgmm_go_strarray(C.int(n))
	lens := C.pgmm_go_intarray(C.int(n))
	fmts := C.pgmm_go_intarray(C.int(n))
	defer func() {
		C.pgmm_go_strarray_free(cvals, C.int(n))
		C.free(unsafe.Pointer(lens))
		C.free(unsafe.Pointer(fmts))
	}()
	for i, v := range vals {
		if v == nil {
			continue
		}
		// C.CBytes of an empty slice still gives a valid (non-NULL) pointer.
		p := (*C.char)(C.CBytes(append(v[:len(v):len(v)], 0)))
		C.pgmm_go_strarray_set(cvals, C.int(i), p)
		C.pgmm_go_intarray_set(lens, C.int(i), C.int(len(v)))
		if binary[i] {
			C.pgmm_go_intarray_set(fmts, C.int(i), 1)
		}
	}
	return C.pgmm_go_exec_params(c, csql, C.int(n), cvals, lens, fmts)
}

// adminInit calls pgmm_admin_init; the error text when it fails.
func adminInit(nodes []string, stride int) (bool, string) {
	n := len(nodes)
	arr := C.pgmm_go_strarray(C.int(n))
	defer C.pgmm_go_strarray_free(arr, C.int(n))
	for i, s := range nodes {
		C.pgmm_go_strarray_set(arr, C.int(i), C.CString(s))
	}
	var errmsg *C.char
	if C.pgmm_go_admin_init(arr, C.int(n), C.int(stride), &errmsg) == 0 {
		return true, ""
	}
	msg := "unknown error"
	if errmsg != nil {
		msg = C.GoString(errmsg)
		C.free(unsafe.Pointer(errmsg))
	}
	return false, msg
}

// nextID calls pgmm_next_id (node == nil) or pgmm_next_id_for.
func nextID(c *C.PGMMconn, table, node *C.char) (int64, bool) {
	var v C.longlong
	rc := C.pgmm_go_next_id(c, table, node, &v)
	return int64(v), rc == 0
}

// Version is libpgmm's version string.
func Version() string { return gostr(C.pgmm_version()) }
