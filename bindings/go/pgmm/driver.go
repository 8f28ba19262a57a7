package pgmm

/*
#include <stdlib.h>
#include <pgmm.h>
*/
import "C"

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"unsafe"
)

func init() {
	sql.Register("pgmm", &Driver{})
}

// Driver is the database/sql driver, registered as "pgmm".  The data source
// name is a libpq conninfo string or URI naming any one master, plus
// pgmm's options (pgmm_read=local|any|owner, pgmm_retries=N, ...).
type Driver struct{}

// Open connects (database/sql calls it through OpenConnector's Connector).
func (d *Driver) Open(name string) (driver.Conn, error) {
	return Open(name)
}

// OpenConnector implements driver.DriverContext.
func (d *Driver) OpenConnector(name string) (driver.Connector, error) {
	return NewConnector(name)
}

// Connector opens connections for sql.OpenDB.
type Connector struct {
	conninfo string
}

// NewConnector returns a Connector for conninfo (checked only when a
// connection is opened).
func NewConnector(conninfo string) (*Connector, error) {
	if strings.IndexByte(conninfo, 0) >= 0 {
		return nil, errorf("conninfo cannot contain NUL (0x00) bytes")
	}
	return &Connector{conninfo: conninfo}, nil
}

// Connect implements driver.Connector.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return Open(c.conninfo)
}

// Driver implements driver.Connector.
func (c *Connector) Driver() driver.Driver { return &Driver{} }

// Conn is one cluster connection (a PGMMconn: one libpq connection per
// master, opened lazily).  Not safe for concurrent use, like every
// driver.Conn; database/sql serialises its use.  Reach it from a *sql.Conn
// with Raw to call NextID, LastNode, ...:
//
//	conn.Raw(func(dc any) error { id, err = dc.(*pgmm.Conn).NextID("t"); return err })
type Conn struct {
	c      *C.PGMMconn
	inTx   bool
	closed bool
}

// Open connects to the cluster through the master conninfo names.  The
// error carries libpq's or pgmm's message.
func Open(conninfo string) (*Conn, error) {
	cs, err := cstr(conninfo, "conninfo")
	if err != nil {
		return nil, err
	}
	defer cfree(cs)
	c := C.pgmm_connect(cs)
	if c == nil {
		return nil, errorf("cannot connect: out of memory")
	}
	if C.pgmm_status(c) != connectionOK {
		msg := strings.TrimSpace(gostr(C.pgmm_error_message(c)))
		state := gostr(C.pgmm_error_sqlstate(c))
		C.pgmm_finish(c)
		if msg == "" {
			msg = "unknown error"
		}
		return nil, &Error{Message: "pgmm: cannot connect to the cluster: " + msg, SQLState: state}
	}
	cn := &Conn{c: c}
	runtime.SetFinalizer(cn, (*Conn).Close)
	// Results are parsed as ISO dates; make sure the session produces them.
	if ds := cn.param("DateStyle"); ds != "" && !strings.HasPrefix(strings.ToUpper(ds), "ISO") {
		if err := cn.simple("SET DateStyle TO 'ISO, MDY'"); err != nil {
			cn.Close()
			return nil, err
		}
	}
	return cn, nil
}

func (cn *Conn) param(name string) string {
	cname := C.CString(name)
	defer cfree(cname)
	return gostr(C.pgmm_parameter_status(cn.c, cname))
}

func (cn *Conn) check() error {
	if cn == nil || cn.closed || cn.c == nil {
		return driver.ErrBadConn
	}
	return nil
}

// exec runs one statement: args nil -> pgmm_exec (simple protocol), else
// pgmm_exec_params with $1..$n.  It returns a successful result (the
// caller clears it) or the error.
func (cn *Conn) exec(query string, args []driver.NamedValue) (*C.PGresult, error) {
	if err := cn.check(); err != nil {
		return nil, err
	}
	cq, err := cstr(query, "the query")
	if err != nil {
		return nil, err
	}
	defer cfree(cq)
	var res *C.PGresult
	if args == nil {
		res = C.pgmm_exec(cn.c, cq)
	} else {
		vals := make([][]byte, len(args))
		binary := make([]bool, len(args))
		for _, a := range args {
			if a.Name != "" {
				return nil, errorf("named parameters (sql.Named(%q, ...)) are not supported: use $1, $2, ...", a.Name)
			}
			i := a.Ordinal - 1
			if i < 0 || i >= len(args) {
				return nil, errorf("parameter ordinal %d out of range", a.Ordinal)
			}
			v, bin, null, err := encodeParam(a.Value)
			if err != nil {
				return nil, err
			}
			if !null {
				vals[i] = v
				binary[i] = bin
			}
		}
		res = execParams(cn.c, cq, vals, binary)
	}
	if res == nil {
		msg := strings.TrimSpace(gostr(C.pgmm_error_message(cn.c)))
		if msg == "" {
			msg = "no result (connection lost?)"
		}
		return nil, &Error{Message: "pgmm: " + msg, SQLState: gostr(C.pgmm_error_sqlstate(cn.c))}
	}
	switch C.PQresultStatus(res) {
	case pgresCommandOK, pgresTuplesOK, pgresEmptyQuery, pgresSingleTuple:
		return res, nil
	case pgresCopyIn, pgresCopyOut, pgresCopyBoth:
		C.PQclear(res)
		return nil, errorf("COPY is not supported through the router")
	}
	err = resultError(res, cn.LastNode())
	C.PQclear(res)
	return nil, err
}

func (cn *Conn) simple(query string) error {
	res, err := cn.exec(query, nil)
	if err != nil {
		return err
	}
	C.PQclear(res)
	return nil
}

// Prepare implements driver.Conn: the statement is kept client-side and
// sent with its parameters each time (libpgmm caches its routing plan).
func (cn *Conn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext.
func (cn *Conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := cn.check(); err != nil {
		return nil, err
	}
	if strings.IndexByte(query, 0) >= 0 {
		return nil, errorf("the query cannot contain NUL (0x00) bytes")
	}
	return &Stmt{cn: cn, query: query}, nil
}

// Close implements driver.Conn: closes every master connection (an open
// transaction is rolled back by the servers).  Closing twice is allowed.
func (cn *Conn) Close() error {
	if cn == nil || cn.closed {
		return nil
	}
	cn.closed = true
	if cn.c != nil {
		C.pgmm_finish(cn.c)
		cn.c = nil
	}
	runtime.SetFinalizer(cn, nil)
	return nil
}

// Begin implements driver.Conn.
func (cn *Conn) Begin() (driver.Tx, error) {
	return cn.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements driver.ConnBeginTx.  pgmm defers BEGIN: the
// transaction binds to the master of its first statement that needs one;
// a later statement for another master fails with SQLSTATE PM002.
func (cn *Conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := cn.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cn.inTx {
		return nil, errorf("a transaction is already open on this connection")
	}
	q := "BEGIN"
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		q += " ISOLATION LEVEL READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		q += " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		q += " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		q += " ISOLATION LEVEL SERIALIZABLE"
	default:
		return nil, errorf("isolation level %v is not supported", sql.IsolationLevel(opts.Isolation))
	}
	if opts.ReadOnly {
		q += " READ ONLY"
	}
	if err := cn.simple(q); err != nil {
		return nil, err
	}
	cn.inTx = true
	return &Tx{cn: cn}, nil
}

// ExecContext implements driver.ExecerContext.  Without arguments the text
// goes through pgmm_exec (simple protocol), else pgmm_exec_params.
func (cn *Conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if args != nil && len(args) == 0 {
		args = nil
	}
	res, err := cn.exec(query, args)
	if err != nil {
		return nil, err
	}
	defer C.PQclear(res)
	r := &Result{affected: -1}
	if t := gostr(C.pgmm_result_cmd_tuples(res)); t != "" {
		r.affected, _ = strconv.ParseInt(t, 10, 64)
	} else if C.PQresultStatus(res) == pgresTuplesOK {
		r.affected = int64(C.PQntuples(res))
	}
	return r, nil
}

// QueryContext implements driver.QueryerContext.
func (cn *Conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if args != nil && len(args) == 0 {
		args = nil
	}
	res, err := cn.exec(query, args)
	if err != nil {
		return nil, err
	}
	return newRows(res), nil
}

// Ping implements driver.Pinger: a round trip to the home master.
func (cn *Conn) Ping(ctx context.Context) error {
	if err := cn.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if cn.inTx {
		return nil
	}
	if err := cn.simple("SELECT 1"); err != nil {
		return driver.ErrBadConn
	}
	return nil
}

// ResetSession implements driver.SessionResetter: a connection given back
// to the pool in the middle of a transaction (opened with a literal BEGIN)
// has it rolled back.
func (cn *Conn) ResetSession(ctx context.Context) error {
	if err := cn.check(); err != nil {
		return err
	}
	if C.pgmm_status(cn.c) != connectionOK {
		return driver.ErrBadConn
	}
	if !cn.inTx && cn.TxStatus() != TxIdle {
		if err := cn.simple("ROLLBACK"); err != nil {
			return driver.ErrBadConn
		}
	}
	return nil
}

// IsValid implements driver.Validator.
func (cn *Conn) IsValid() bool {
	return cn.check() == nil && C.pgmm_status(cn.c) == connectionOK
}

// ---------------------------------------------------------------- pgmm extras

// TxStatus is the connection's transaction state (libpq's PQTRANS_*).
type TxStatus int

const (
	TxIdle    TxStatus = pqTransIdle
	TxActive  TxStatus = pqTransActive
	TxInTrans TxStatus = pqTransInTrans
	TxInError TxStatus = pqTransInError
	TxUnknown TxStatus = pqTransUnknown
)

// TxStatus reports the transaction state (pgmm_transaction_status).
func (cn *Conn) TxStatus() TxStatus {
	if cn.check() != nil {
		return TxUnknown
	}
	return TxStatus(C.pgmm_transaction_status(cn.c))
}

// LastNode is the master that ran the last statement (pgmm_last_node): ""
// when pgmm answered alone, "m1,m2,m3" for a broadcast UPDATE/DELETE.
func (cn *Conn) LastNode() string {
	if cn.check() != nil {
		return ""
	}
	return gostr(C.pgmm_last_node(cn.c))
}

// CmdTuples is the affected-row count of the last statement as text
// (pgmm_cmd_tuples; the total over the masters for a broadcast).
func (cn *Conn) CmdTuples() string {
	if cn.check() != nil {
		return ""
	}
	return gostr(C.pgmm_cmd_tuples(cn.c))
}

// connError is the error of a failed call that returns no result
// (NextID, KeyOwner, ...): the connection's message, and its last-error
// SQLSTATE (pgmm_error_sqlstate) so that IsSQLState(err, SQLStateNodeDown)
// and friends work as for statement errors.
func (cn *Conn) connError(what string) error {
	msg := strings.TrimSpace(gostr(C.pgmm_error_message(cn.c)))
	if msg == "" {
		msg = "failed"
	}
	return &Error{Message: "pgmm: " + what + ": " + msg, SQLState: gostr(C.pgmm_error_sqlstate(cn.c))}
}

// NextID returns a new key for table's integer key column (pgmm_next_id),
// unique across the cluster; inside a bound transaction its shard is owned
// by the transaction's master.
func (cn *Conn) NextID(table string) (int64, error) {
	return cn.nextID(table, "", false)
}

// NextIDFor returns a new key whose shard is owned by master node
// (pgmm_next_id_for).
func (cn *Conn) NextIDFor(table, node string) (int64, error) {
	return cn.nextID(table, node, true)
}

func (cn *Conn) nextID(table, node string, hasNode bool) (int64, error) {
	if err := cn.check(); err != nil {
		return 0, ErrClosed
	}
	if table == "" {
		return 0, errorf("NextID: the table name is empty")
	}
	ct, err := cstr(table, "the table name")
	if err != nil {
		return 0, err
	}
	defer cfree(ct)
	var cnode *C.char
	if hasNode {
		if cnode, err = cstr(node, "the node name"); err != nil {
			return 0, err
		}
		defer cfree(cnode)
	}
	id, ok := nextID(cn.c, ct, cnode)
	if !ok {
		return 0, cn.connError("NextID(" + table + ")")
	}
	return id, nil
}

// Nodes lists the masters of the cached map.
func (cn *Conn) Nodes() []string {
	if cn.check() != nil {
		return nil
	}
	n := int(C.pgmm_node_count(cn.c))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, gostr(C.pgmm_node_name(cn.c, C.int(i))))
	}
	return out
}

// HomeNode is the master this connection was opened through.
func (cn *Conn) HomeNode() string {
	if cn.check() != nil {
		return ""
	}
	return gostr(C.pgmm_home_node(cn.c))
}

// MapEpoch is the catalog epoch of the cached map.
func (cn *Conn) MapEpoch() int64 {
	if cn.check() != nil {
		return -1
	}
	return int64(C.pgmm_map_epoch(cn.c))
}

// KeyOwner names the master owning table's row with key (its text form).
func (cn *Conn) KeyOwner(table, key string) (string, error) {
	if err := cn.check(); err != nil {
		return "", ErrClosed
	}
	ct, err := cstr(table, "the table name")
	if err != nil {
		return "", err
	}
	defer cfree(ct)
	ck, err := cstr(key, "the key")
	if err != nil {
		return "", err
	}
	defer cfree(ck)
	r := C.pgmm_key_owner(cn.c, ct, ck)
	if r == nil {
		return "", cn.connError("KeyOwner(" + table + ")")
	}
	return gostr(r), nil
}

// RefreshMap reloads the map when the catalog changed (true: reloaded).
func (cn *Conn) RefreshMap() (bool, error) {
	if err := cn.check(); err != nil {
		return false, ErrClosed
	}
	switch C.pgmm_refresh_map(cn.c) {
	case 1:
		return true, nil
	case 0:
		return false, nil
	}
	return false, cn.connError("RefreshMap")
}

// raw runs fn on the *pgmm.Conn behind a *sql.Conn.
func raw(ctx context.Context, c *sql.Conn, fn func(*Conn) error) error {
	if c == nil {
		return errorf("nil *sql.Conn")
	}
	return c.Raw(func(dc interface{}) error {
		cn, ok := dc.(*Conn)
		if !ok {
			return errorf("not a pgmm connection (%T)", dc)
		}
		return fn(cn)
	})
}

// NextID is Conn.NextID for a *sql.Conn (take one with db.Conn(ctx) so the
// ID and the statements that use it share the connection).
func NextID(ctx context.Context, c *sql.Conn, table string) (id int64, err error) {
	err = raw(ctx, c, func(cn *Conn) error { id, err = cn.NextID(table); return err })
	return
}

// NextIDFor is Conn.NextIDFor for a *sql.Conn.
func NextIDFor(ctx context.Context, c *sql.Conn, table, node string) (id int64, err error) {
	err = raw(ctx, c, func(cn *Conn) error { id, err = cn.NextIDFor(table, node); return err })
	return
}

// LastNode is Conn.LastNode for a *sql.Conn.
func LastNode(ctx context.Context, c *sql.Conn) (node string, err error) {
	err = raw(ctx, c, func(cn *Conn) error { node = cn.LastNode(); return nil })
	return
}

// ---------------------------------------------------------------- Tx

// Tx is a transaction (database/sql's Tx wraps it).
type Tx struct {
	cn *Conn
}

// Commit implements driver.Tx.  A transaction that had failed is rolled
// back by the server: Commit then returns ErrTxRolledBack.
func (tx *Tx) Commit() error {
	cn := tx.cn
	if err := cn.check(); err != nil {
		return err
	}
	cn.inTx = false
	res, err := cn.exec("COMMIT", nil)
	if err != nil {
		return err
	}
	status := gostr(C.pgmm_result_cmd_status(res))
	C.PQclear(res)
	if strings.HasPrefix(status, "ROLLBACK") {
		return ErrTxRolledBack
	}
	return nil
}

// Rollback implements driver.Tx.
func (tx *Tx) Rollback() error {
	cn := tx.cn
	if err := cn.check(); err != nil {
		return err
	}
	cn.inTx = false
	return cn.simple("ROLLBACK")
}

// ---------------------------------------------------------------- Stmt

// Stmt is a statement kept client-side: every Exec/Query sends its text and
// parameters with pgmm_exec_params ($1, $2, ... placeholders).
type Stmt struct {
	cn     *Conn
	query  string
	closed bool
}

// Close implements driver.Stmt.
func (s *Stmt) Close() error { s.closed = true; return nil }

// NumInput implements driver.Stmt: -1, the server checks the count.
func (s *Stmt) NumInput() int { return -1 }

// Exec implements driver.Stmt.
func (s *Stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

// Query implements driver.Stmt.
func (s *Stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

// ExecContext implements driver.StmtExecContext.
func (s *Stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.closed {
		return nil, errorf("the statement is closed")
	}
	return s.cn.ExecContext(ctx, s.query, args)
}

// QueryContext implements driver.StmtQueryContext.
func (s *Stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.closed {
		return nil, errorf("the statement is closed")
	}
	return s.cn.QueryContext(ctx, s.query, args)
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// ---------------------------------------------------------------- Result

// Result of an Exec.  RowsAffected is the total over the masters for a
// broadcast UPDATE/DELETE.
type Result struct {
	affected int64
}

// LastInsertId is not supported: use INSERT ... RETURNING or NextID.
func (r *Result) LastInsertId() (int64, error) {
	return 0, errorf("LastInsertId is not supported: use INSERT ... RETURNING, or NextID before the INSERT")
}

// RowsAffected implements driver.Result.
func (r *Result) RowsAffected() (int64, error) {
	if r.affected < 0 {
		return 0, errorf("the statement reports no affected-row count")
	}
	return r.affected, nil
}

// ---------------------------------------------------------------- Rows

// Rows reads a text-format PGresult.
type Rows struct {
	res  *C.PGresult
	row  int
	n    int
	cols []string
	oids []uint32
	mods []int
}

func newRows(res *C.PGresult) *Rows {
	r := &Rows{res: res, n: int(C.PQntuples(res))}
	nf := int(C.PQnfields(res))
	r.cols = make([]string, nf)
	r.oids = make([]uint32, nf)
	r.mods = make([]int, nf)
	for i := 0; i < nf; i++ {
		r.cols[i] = gostr(C.PQfname(res, C.int(i)))
		r.oids[i] = uint32(C.PQftype(res, C.int(i)))
		r.mods[i] = int(C.PQfmod(res, C.int(i)))
	}
	runtime.SetFinalizer(r, (*Rows).Close)
	return r
}

// Columns implements driver.Rows.
func (r *Rows) Columns() []string { return r.cols }

// Close implements driver.Rows.
func (r *Rows) Close() error {
	if r.res != nil {
		C.PQclear(r.res)
		r.res = nil
		runtime.SetFinalizer(r, nil)
	}
	return nil
}

// Next implements driver.Rows.
func (r *Rows) Next(dest []driver.Value) error {
	if r.res == nil || r.row >= r.n {
		return io.EOF
	}
	for i := range dest {
		if i >= len(r.cols) {
			break
		}
		ci := C.int(i)
		ri := C.int(r.row)
		if C.PQgetisnull(r.res, ri, ci) != 0 {
			dest[i] = nil
			continue
		}
		p := C.PQgetvalue(r.res, ri, ci)
		l := C.PQgetlength(r.res, ri, ci)
		raw := C.GoBytes(unsafe.Pointer(p), l)
		v, err := decodeText(r.oids[i], raw)
		if err != nil {
			return errorf("column %q: %v", r.cols[i], err)
		}
		dest[i] = v
	}
	r.row++
	return nil
}

// ColumnTypeDatabaseTypeName implements driver.RowsColumnTypeDatabaseTypeName
// (upper-case PostgreSQL name for the common types, else the OID).
func (r *Rows) ColumnTypeDatabaseTypeName(i int) string {
	if n, ok := typeNames[r.oids[i]]; ok {
		return n
	}
	return strconv.FormatUint(uint64(r.oids[i]), 10)
}

// ColumnTypeScanType implements driver.RowsColumnTypeScanType.
func (r *Rows) ColumnTypeScanType(i int) reflect.Type { return scanType(r.oids[i]) }

// ColumnTypePrecisionScale implements driver.RowsColumnTypePrecisionScale
// for numeric(p,s).
func (r *Rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if r.oids[i] != oidNumeric || r.mods[i] < 4 {
		return 0, 0, false
	}
	m := r.mods[i] - 4
	return int64((m >> 16) & 0xffff), int64(m & 0xffff), true
}

// ColumnTypeOID is the column's type OID (pgmm extension).
func (r *Rows) ColumnTypeOID(i int) uint32 { return r.oids[i] }

var (
	_ driver.Driver                         = (*Driver)(nil)
	_ driver.DriverContext                  = (*Driver)(nil)
	_ driver.Connector                      = (*Connector)(nil)
	_ driver.Conn                           = (*Conn)(nil)
	_ driver.ConnBeginTx                    = (*Conn)(nil)
	_ driver.ConnPrepareContext             = (*Conn)(nil)
	_ driver.ExecerContext                  = (*Conn)(nil)
	_ driver.QueryerContext                 = (*Conn)(nil)
	_ driver.Pinger                         = (*Conn)(nil)
	_ driver.SessionResetter                = (*Conn)(nil)
	_ driver.Validator                      = (*Conn)(nil)
	_ driver.Tx                             = (*Tx)(nil)
	_ driver.Stmt                           = (*Stmt)(nil)
	_ driver.StmtExecContext                = (*Stmt)(nil)
	_ driver.StmtQueryContext               = (*Stmt)(nil)
	_ driver.Result                         = (*Result)(nil)
	_ driver.Rows                           = (*Rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*Rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*Rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*Rows)(nil)
)
