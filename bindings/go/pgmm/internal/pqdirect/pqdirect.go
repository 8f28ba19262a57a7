// Package pqdirect runs SQL on one PostgreSQL server with plain libpq, no
// routing: the tests use it to create and drop their databases and to ask
// a master directly which partition holds a row.
package pqdirect

/*
#cgo pkg-config: libpq
#include <stdlib.h>
#include <libpq-fe.h>
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// Query runs sql on the server conninfo names and returns its rows as text
// (a SQL NULL is ""); a command returns no rows.
func Query(conninfo, sql string) ([][]string, error) {
	cc := C.CString(conninfo)
	defer C.free(unsafe.Pointer(cc))
	conn := C.PQconnectdb(cc)
	if conn == nil {
		return nil, fmt.Errorf("pqdirect: out of memory")
	}
	defer C.PQfinish(conn)
	if C.PQstatus(conn) != C.CONNECTION_OK {
		return nil, fmt.Errorf("pqdirect: connect %s: %s", conninfo, strings.TrimSpace(C.GoString(C.PQerrorMessage(conn))))
	}
	cs := C.CString(sql)
	defer C.free(unsafe.Pointer(cs))
	res := C.PQexec(conn, cs)
	if res == nil {
		return nil, fmt.Errorf("pqdirect: %s: %s", sql, strings.TrimSpace(C.GoString(C.PQerrorMessage(conn))))
	}
	defer C.PQclear(res)
	switch C.PQresultStatus(res) {
	case C.PGRES_COMMAND_OK, C.PGRES_TUPLES_OK:
	default:
		return nil, fmt.Errorf("pqdirect: %s: %s", sql, strings.TrimSpace(C.GoString(C.PQresultErrorMessage(res))))
	}
	n, nf := int(C.PQntuples(res)), int(C.PQnfields(res))
	rows := make([][]string, n)
	for i := 0; i < n; i++ {
		rows[i] = make([]string, nf)
		for j := 0; j < nf; j++ {
			rows[i][j] = C.GoString(C.PQgetvalue(res, C.int(i), C.int(j)))
		}
	}
	return rows, nil
}

// Exec runs sql and discards its rows.
func Exec(conninfo, sql string) error {
	_, err := Query(conninfo, sql)
	return err
}
