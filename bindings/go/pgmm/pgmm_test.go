package pgmm_test

// Tests of the Go binding against real masters.  They run inside a cluster
// (scripts/cluster.sh run ... exports PGMM_NODES_FILE, one NAME<TAB>CONNINFO
// line per master); without PGMM_NODES_FILE every test that needs a
// server is skipped with a message saying so.
//
// TestMain creates a database on every master, installs pgmm there through
// the admin API (Init, AdminConnect, DDL, Reference, Distribute), inserts
// the estados rows through the router, runs the tests, then uninstalls pgmm
// and drops the databases WITH (FORCE).

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"pgmm"
	"pgmm/internal/pqdirect"
)

const shards = 8

type cluster struct {
	db       string
	names    []string
	server   map[string]string // the cluster's own conninfo (dbname=pgmm)
	conninfo map[string]string // this run's database
	home     string
	estados  map[int]string // where each estados row was written
}

var cl *cluster

func (c *cluster) homeConninfo() string { return c.conninfo[c.home] }

func withDB(conninfo, db string) string {
	re := regexp.MustCompile(`\bdbname=\S+`)
	if re.MatchString(conninfo) {
		return re.ReplaceAllString(conninfo, "dbname="+db)
	}
	return conninfo + " dbname=" + db
}

func readNodes(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var nodes [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		i := strings.IndexByte(line, '\t')
		if i < 0 {
			return nil, fmt.Errorf("%s: line without a tab: %q", path, line)
		}
		nodes = append(nodes, [2]string{line[:i], line[i+1:]})
	}
	return nodes, sc.Err()
}

func setup() (*cluster, error) {
	nodes, err := readNodes(os.Getenv("PGMM_NODES_FILE"))
	if err != nil {
		return nil, err
	}
	if len(nodes) < 2 {
		return nil, fmt.Errorf("PGMM_NODES_FILE lists %d masters, the tests need at least 2", len(nodes))
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	c := &cluster{db: "gopgmm_" + hex.EncodeToString(b), server: map[string]string{},
		conninfo: map[string]string{}, estados: map[int]string{}}
	for _, n := range nodes {
		c.names = append(c.names, n[0])
		c.server[n[0]] = n[1]
		c.conninfo[n[0]] = withDB(n[1], c.db)
	}
	c.home = c.names[0]
	for _, n := range c.names {
		if err := pqdirect.Exec(c.server[n], "CREATE DATABASE "+c.db); err != nil {
			return c, err
		}
	}
	var specs []string
	for _, n := range c.names {
		specs = append(specs, n+"="+c.conninfo[n])
	}
	if err := pgmm.Init(specs, 0); err != nil {
		return c, err
	}
	adm, err := pgmm.AdminConnect(c.homeConninfo())
	if err != nil {
		return c, err
	}
	defer adm.Close()
	if err := adm.DDL(`CREATE TABLE estados (id int PRIMARY KEY, nombre text NOT NULL);
		CREATE TABLE expedientes (
			id bigint PRIMARY KEY,
			estado int NOT NULL REFERENCES estados (id),
			titulo text NOT NULL,
			importe numeric(12,2),
			activo boolean NOT NULL DEFAULT true,
			adjunto bytea,
			fecha date,
			creado timestamptz NOT NULL DEFAULT now(),
			ref uuid,
			peso double precision)`); err != nil {
		return c, err
	}
	if err := adm.Reference("estados", ""); err != nil {
		return c, err
	}
	if err := adm.Distribute("expedientes", "id", shards, ""); err != nil {
		return c, err
	}
	// The reference rows, through the router, one statement each (autocommit).
	db, err := sql.Open("pgmm", c.homeConninfo())
	if err != nil {
		return c, err
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return c, err
	}
	defer conn.Close()
	for i, nombre := range []string{"Alta", "Cancelado", "Finalizado"} {
		if _, err := conn.ExecContext(ctx, "INSERT INTO estados (id, nombre) VALUES ($1, $2)", i+1, nombre); err != nil {
			return c, err
		}
		if c.estados[i+1], err = pgmm.LastNode(ctx, conn); err != nil {
			return c, err
		}
	}
	// expedientes has a foreign key to estados: wait until every master has them.
	for _, n := range c.names {
		n := n
		if err := waitFor(30*time.Second, func() bool {
			rows, err := pqdirect.Query(c.conninfo[n], "SELECT count(*) FROM estados")
			return err == nil && rows[0][0] == "3"
		}); err != nil {
			return c, fmt.Errorf("estados did not replicate to %s: %v", n, err)
		}
	}
	return c, nil
}

func teardown(c *cluster) error {
	if c == nil {
		return nil
	}
	var problems []string
	if adm, err := pgmm.AdminConnect(c.homeConninfo()); err == nil {
		if err := adm.Uninstall(); err != nil {
			problems = append(problems, err.Error())
		}
		adm.Close()
	} else if !strings.Contains(err.Error(), "not part of a pgmm cluster") {
		problems = append(problems, err.Error())
	}
	for _, n := range c.names {
		// A subscription left behind would block DROP DATABASE.
		if rows, err := pqdirect.Query(c.conninfo[n], "SELECT subname FROM pg_subscription s JOIN pg_database d "+
			"ON d.oid = s.subdbid WHERE d.datname = current_database()"); err == nil {
			for _, r := range rows {
				for _, f := range []string{"ALTER SUBSCRIPTION %s DISABLE", "ALTER SUBSCRIPTION %s SET (slot_name = NONE)", "DROP SUBSCRIPTION %s"} {
					_ = pqdirect.Exec(c.conninfo[n], fmt.Sprintf(f, r[0]))
				}
			}
		}
		_ = pqdirect.Exec(c.server[n], "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "+
			"WHERE database = '"+c.db+"' AND NOT active")
		if err := pqdirect.Exec(c.server[n], "DROP DATABASE IF EXISTS "+c.db+" WITH (FORCE)"); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func TestMain(m *testing.M) {
	code := 0
	if os.Getenv("PGMM_NODES_FILE") == "" {
		code = m.Run()
	} else {
		c, err := setup()
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgmm_test: setup failed: %v\n", err)
			if terr := teardown(c); terr != nil {
				fmt.Fprintf(os.Stderr, "pgmm_test: cleanup: %v\n", terr)
			}
			os.Exit(1)
		}
		cl = c
		code = m.Run()
		if err := teardown(c); err != nil {
			fmt.Fprintf(os.Stderr, "pgmm_test: cleanup failed: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func need(t *testing.T) *cluster {
	t.Helper()
	if cl == nil {
		t.Skip("PGMM_NODES_FILE is not set: run inside a cluster, e.g. scripts/cluster.sh run -n 3 -- bindings/run-tests.sh")
	}
	return cl
}

func waitFor(timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %v", timeout)
}

func openDB(t *testing.T, extra string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgmm", cl.homeConninfo()+" "+extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sqlConn(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func lastNode(t *testing.T, c *sql.Conn) string {
	t.Helper()
	n, err := pgmm.LastNode(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func nextID(t *testing.T, c *sql.Conn, node string) int64 {
	t.Helper()
	var id int64
	var err error
	if node == "" {
		id, err = pgmm.NextID(context.Background(), c, "expedientes")
	} else {
		id, err = pgmm.NextIDFor(context.Background(), c, "expedientes", node)
	}
	if err != nil {
		t.Fatal(err)
	}
	return id
}

const ownerSQL = `SELECT e.tableoid::regclass::text, s.owner
  FROM public.expedientes e
  JOIN pg_catalog.pg_class c ON c.oid = e.tableoid
  JOIN pgmm.tables t ON t.schema_name = 'public' AND t.table_name = 'expedientes'
  JOIN pgmm.shards s ON s.colocation = t.colocation
   AND s.remainder = substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) from 'remainder (\d+)')::int
 WHERE e.id = %d`

// serverOwner asks the home master (once the row has replicated there)
// which partition holds expedientes row key and which master owns it.
func serverOwner(t *testing.T, key int64) (partition, owner string) {
	t.Helper()
	var rows [][]string
	err := waitFor(30*time.Second, func() bool {
		var err error
		rows, err = pqdirect.Query(cl.conninfo[cl.home], fmt.Sprintf(ownerSQL, key))
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) == 1
	})
	if err != nil {
		t.Fatalf("row %d never reached %s: %v", key, cl.home, err)
	}
	return rows[0][0], rows[0][1]
}

func countOn(t *testing.T, node string, key int64) int {
	t.Helper()
	rows, err := pqdirect.Query(cl.conninfo[node], fmt.Sprintf("SELECT count(*) FROM expedientes WHERE id = %d", key))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(rows[0][0], &n)
	return n
}

func wantSQLState(t *testing.T, err error, state string) *pgmm.Error {
	t.Helper()
	var pe *pgmm.Error
	if !errors.As(err, &pe) {
		t.Fatalf("want a *pgmm.Error with SQLSTATE %s, got %T %v", state, err, err)
	}
	if pe.SQLState != state {
		t.Fatalf("want SQLSTATE %s, got %s: %v", state, pe.SQLState, err)
	}
	if !strings.Contains(err.Error(), state) {
		t.Fatalf("the message does not show the SQLSTATE: %v", err)
	}
	return pe
}

// ---------------------------------------------------------------- connection

func TestDriverRegistered(t *testing.T) {
	found := false
	for _, d := range sql.Drivers() {
		found = found || d == "pgmm"
	}
	if !found {
		t.Fatalf("driver pgmm not registered: %v", sql.Drivers())
	}
	if pgmm.Version() != "0.1.0" {
		t.Fatalf("Version() = %q", pgmm.Version())
	}
}

func TestConnectSeesEveryMaster(t *testing.T) {
	need(t)
	c := sqlConn(t, openDB(t, ""))
	err := c.Raw(func(dc interface{}) error {
		cn := dc.(*pgmm.Conn)
		nodes := cn.Nodes()
		sort.Strings(nodes)
		want := append([]string(nil), cl.names...)
		sort.Strings(want)
		if strings.Join(nodes, ",") != strings.Join(want, ",") {
			return fmt.Errorf("Nodes() = %v, want %v", nodes, want)
		}
		if cn.HomeNode() != cl.home {
			return fmt.Errorf("HomeNode() = %q", cn.HomeNode())
		}
		if cn.MapEpoch() <= 0 || cn.TxStatus() != pgmm.TxIdle {
			return fmt.Errorf("epoch %d, tx status %d", cn.MapEpoch(), cn.TxStatus())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------- routing

func TestReferenceWritesWentToOwner(t *testing.T) {
	need(t)
	adm, err := pgmm.AdminConnect(cl.homeConninfo())
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	st, err := adm.StatusInfo()
	if err != nil {
		t.Fatal(err)
	}
	owner := ""
	for _, tb := range st.Tables {
		if tb.Table == "estados" && tb.Kind == "reference" {
			owner = tb.Owner
		}
	}
	rows, err := pqdirect.Query(cl.conninfo[cl.names[len(cl.names)-1]], "SELECT owner FROM pgmm.tables WHERE table_name = 'estados'")
	if err != nil || len(rows) != 1 || rows[0][0] != owner || owner == "" {
		t.Fatalf("owner: status says %q, catalog %v (%v)", owner, rows, err)
	}
	for id, n := range cl.estados {
		if n != owner {
			t.Errorf("estados %d went to %q, owner is %q", id, n, owner)
		}
	}
	for _, n := range cl.names {
		rows, err := pqdirect.Query(cl.conninfo[n], "SELECT string_agg(nombre, ',' ORDER BY id) FROM estados")
		if err != nil || rows[0][0] != "Alta,Cancelado,Finalizado" {
			t.Errorf("estados on %s: %v %v", n, rows, err)
		}
	}
}

func TestInsertWithNextIDGoesToOwner(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	went := map[int64]string{}
	for i := 0; i < 15; i++ {
		id := nextID(t, c, "")
		res, err := c.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, $2, $3)", id, 1, fmt.Sprintf("next_id %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("RowsAffected = %d, %v", n, err)
		}
		went[id] = lastNode(t, c)
	}
	owners := map[string]bool{}
	for id, node := range went {
		part, owner := serverOwner(t, id)
		if !strings.HasPrefix(part, "expedientes_s") || node != owner {
			t.Errorf("row %d went to %s; the server has it in %s, owned by %s", id, node, part, owner)
		}
		owners[owner] = true
	}
	if len(owners) < 2 {
		t.Errorf("15 keys all owned by %v: routing not exercised", owners)
	}
}

func TestInsertWithoutKey(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	went := map[int64]string{}
	for i := 0; i < 9; i++ {
		var id int64
		if err := c.QueryRowContext(ctx, "INSERT INTO expedientes (estado, titulo) VALUES ($1, $2) RETURNING id", 2, "auto").Scan(&id); err != nil {
			t.Fatal(err)
		}
		went[id] = lastNode(t, c)
	}
	used := map[string]bool{}
	for id, node := range went {
		if _, owner := serverOwner(t, id); owner != node {
			t.Errorf("row %d went to %s, owner %s", id, node, owner)
		}
		used[node] = true
	}
	if len(used) != len(cl.names) {
		t.Errorf("INSERT without key used %v, want every master", used)
	}
}

func TestKeyOwner(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	id := nextID(t, c, "")
	if _, err := c.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, 'ko')", id); err != nil {
		t.Fatal(err)
	}
	node := lastNode(t, c)
	var ko string
	err := c.Raw(func(dc interface{}) (err error) {
		ko, err = dc.(*pgmm.Conn).KeyOwner("expedientes", fmt.Sprint(id))
		return
	})
	if _, owner := serverOwner(t, id); err != nil || ko != node || owner != node {
		t.Fatalf("KeyOwner %q (%v), last node %q, server %q", ko, err, node, owner)
	}
}

func TestReadBackTypes(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	id := nextID(t, c, "")
	creado := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.FixedZone("", -3*3600-30*60))
	fecha := time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
	adj := []byte{0, 1, 0xff, 'b', '\\'}
	ref := "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	titulo := "ñandú \"q\" 'x' \\ 100%"
	_, err := c.ExecContext(ctx, `INSERT INTO expedientes (id, estado, titulo, importe, activo, adjunto, fecha, creado, ref, peso)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, id, int32(3), titulo, "1234.50", false, adj, fecha, creado, ref, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	node := lastNode(t, c)
	oc := sqlConn(t, openDB(t, "pgmm_read=owner"))
	rows, err := oc.QueryContext(ctx, `SELECT id, estado, titulo, importe, activo, adjunto, fecha, creado, ref, peso, NULL::text
		FROM expedientes WHERE id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	if n := lastNode(t, oc); n != node {
		t.Errorf("pgmm_read=owner read ran on %s, the row is on %s", n, node)
	}
	cts, _ := rows.ColumnTypes()
	var gotTypes []string
	for _, ct := range cts {
		gotTypes = append(gotTypes, ct.DatabaseTypeName())
	}
	if strings.Join(gotTypes, ",") != "INT8,INT4,TEXT,NUMERIC,BOOL,BYTEA,DATE,TIMESTAMPTZ,UUID,FLOAT8,TEXT" {
		t.Errorf("column types %v", gotTypes)
	}
	if p, s, ok := cts[3].DecimalSize(); !ok || p != 12 || s != 2 {
		t.Errorf("numeric(12,2) DecimalSize = %d, %d, %v", p, s, ok)
	}
	if cts[0].ScanType().Kind().String() != "int64" || cts[7].ScanType().String() != "time.Time" {
		t.Errorf("scan types %v %v", cts[0].ScanType(), cts[7].ScanType())
	}
	if !rows.Next() {
		t.Fatalf("row %d not found on its owner: %v", id, rows.Err())
	}
	var (
		gid, gestado    int64
		gtitulo, gimp   string
		gactivo         bool
		gadj            []byte
		gfecha, gcreado time.Time
		gref            string
		gpeso           float64
		gnull           sql.NullString
	)
	if err := rows.Scan(&gid, &gestado, &gtitulo, &gimp, &gactivo, &gadj, &gfecha, &gcreado, &gref, &gpeso, &gnull); err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Fatal("more than one row")
	}
	rows.Close()
	if gid != id || gestado != 3 || gtitulo != titulo || gimp != "1234.50" || gactivo || string(gadj) != string(adj) ||
		!gfecha.Equal(fecha) || !gcreado.Equal(creado) || gref != ref || gpeso != 2.5 || gnull.Valid {
		t.Errorf("read back %v %v %q %q %v %v %v %v %q %v %v", gid, gestado, gtitulo, gimp, gactivo, gadj, gfecha, gcreado, gref, gpeso, gnull)
	}
	// numeric scans into float64 too (database/sql converts the text).
	var f float64
	if err := oc.QueryRowContext(ctx, "SELECT importe FROM expedientes WHERE id = $1", id).Scan(&f); err != nil || f != 1234.5 {
		t.Errorf("numeric into float64: %v %v", f, err)
	}
	// The home master has it once replicated (pgmm_read=local, outside a transaction).
	hc := sqlConn(t, openDB(t, ""))
	err = waitFor(30*time.Second, func() bool {
		var s string
		return hc.QueryRowContext(ctx, "SELECT titulo FROM expedientes WHERE id = $1", id).Scan(&s) == nil && s == titulo
	})
	if err != nil || lastNode(t, hc) != cl.home {
		t.Errorf("row on the home master: %v (read ran on %s)", err, lastNode(t, hc))
	}
}

func TestTypeRoundTrip(t *testing.T) {
	need(t)
	ctx := context.Background()
	db := openDB(t, "")
	ts := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	bc := time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC) // 44 BC
	cases := []struct {
		arg  interface{}
		cast string
		want interface{}
	}{
		{nil, "int4", nil},
		{true, "bool", true},
		{int64(math.MinInt64), "int8", int64(math.MinInt64)},
		{int64(-32768), "int2", int64(-32768)},
		{1.5e300, "float8", 1.5e300},
		{math.Inf(-1), "float8", math.Inf(-1)},
		{"", "text", ""},
		{"日本語", "varchar", "日本語"},
		{[]byte{}, "bytea", []byte{}},
		{[]byte("\x00\x01\x02\xfe\xff"), "bytea", []byte("\x00\x01\x02\xfe\xff")},
		{ts, "timestamp", ts},
		{ts, "timestamptz", ts},
		{bc, "timestamptz", bc},
		{"123456789012345678901234567890.5", "numeric", "123456789012345678901234567890.5"},
		{"{1,2,NULL}", "int4[]", "{1,2,NULL}"},
		{`{"a": 1}`, "jsonb", `{"a": 1}`},
	}
	for _, tc := range cases {
		var got interface{}
		err := db.QueryRowContext(ctx, "SELECT $1::"+tc.cast, tc.arg).Scan(&got)
		if err != nil {
			t.Errorf("%v::%s: %v", tc.arg, tc.cast, err)
			continue
		}
		ok := false
		switch w := tc.want.(type) {
		case time.Time:
			g, isT := got.(time.Time)
			ok = isT && g.Equal(w)
		case []byte:
			g, isB := got.([]byte)
			ok = isB && string(g) == string(w)
		default:
			ok = got == tc.want
		}
		if !ok {
			t.Errorf("%v::%s came back as %T %v", tc.arg, tc.cast, got, got)
		}
	}
	var inf, nan interface{}
	if err := db.QueryRowContext(ctx, "SELECT 'infinity'::timestamptz, 'NaN'::float8").Scan(&inf, &nan); err != nil ||
		inf != "infinity" || !math.IsNaN(nan.(float64)) {
		t.Errorf("infinity/NaN: %v %v %v", inf, nan, err)
	}
}

func TestBroadcastRowsAffected(t *testing.T) {
	need(t)
	ctx := context.Background()
	db := openDB(t, "")
	c := sqlConn(t, db)
	tag := fmt.Sprintf("bcast-%d", time.Now().UnixNano())
	n := 0
	for _, node := range cl.names {
		for i := 0; i < 2; i++ {
			if _, err := c.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, $2)", nextID(t, c, node), tag); err != nil {
				t.Fatal(err)
			}
			if ln := lastNode(t, c); ln != node {
				t.Fatalf("NextIDFor(%s) key went to %s", node, ln)
			}
			n++
		}
	}
	// In a transaction a keyless UPDATE needs every master: PM002.
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.ExecContext(ctx, "UPDATE expedientes SET titulo = titulo || '!' WHERE titulo = $1", tag)
	wantSQLState(t, err, pgmm.SQLStateCrossOwner)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	res, err := c.ExecContext(ctx, "UPDATE expedientes SET titulo = titulo || '!' WHERE titulo = $1", tag)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := res.RowsAffected(); got != int64(n) {
		t.Errorf("broadcast UPDATE RowsAffected = %d, want %d", got, n)
	}
	nodes := strings.Split(lastNode(t, c), ",")
	sort.Strings(nodes)
	want := append([]string(nil), cl.names...)
	sort.Strings(want)
	if strings.Join(nodes, ",") != strings.Join(want, ",") {
		t.Errorf("broadcast ran on %v, want %v", nodes, want)
	}
	res, err = db.ExecContext(ctx, "DELETE FROM expedientes WHERE titulo = $1", tag+"!")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := res.RowsAffected(); got != int64(n) {
		t.Errorf("broadcast DELETE RowsAffected = %d, want %d", got, n)
	}
	if _, err := res.LastInsertId(); err == nil {
		t.Error("LastInsertId should be unsupported")
	}
}

// ---------------------------------------------------------------- transactions

func TestTxCommit(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	owner := openDB(t, "pgmm_read=owner")
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	k1 := nextID(t, c, "")
	if _, err := tx.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, 'commit 1')", k1); err != nil {
		t.Fatal(err)
	}
	node := lastNode(t, c)
	k2 := nextID(t, c, "") // inside the bound transaction: a key of the same master
	if _, err := tx.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, 'commit 2')", k2); err != nil {
		t.Fatal(err)
	}
	if ln := lastNode(t, c); ln != node {
		t.Fatalf("second insert ran on %s, transaction bound to %s", ln, node)
	}
	var cnt int
	if err := owner.QueryRowContext(ctx, "SELECT count(*) FROM expedientes WHERE id = $1", k1).Scan(&cnt); err != nil || cnt != 0 {
		t.Fatalf("uncommitted row visible: %d %v", cnt, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// One key per statement: pgmm_read=owner routes "key = value"; an IN
	// list would go to the home master, which may not have the rows yet.
	for _, k := range []int64{k1, k2} {
		if err := owner.QueryRowContext(ctx, "SELECT count(*) FROM expedientes WHERE id = $1", k).Scan(&cnt); err != nil || cnt != 1 {
			t.Fatalf("after commit: row %d: %d rows, %v", k, cnt, err)
		}
	}
	if countOn(t, node, k1) != 1 {
		t.Fatalf("row %d not on %s", k1, node)
	}
}

func TestTxRollback(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	tx, err := c.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	k := nextID(t, c, "")
	if _, err := tx.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, 'rolled back')", k); err != nil {
		t.Fatal(err)
	}
	node := lastNode(t, c)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if countOn(t, node, k) != 0 {
		t.Fatalf("rolled-back row %d is on %s", k, node)
	}
	// A failed transaction: Commit reports that nothing was committed.
	tx, err = c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("1/0 succeeded")
	}
	if err := tx.Commit(); !errors.Is(err, pgmm.ErrTxRolledBack) {
		t.Fatalf("Commit of a failed transaction: %v", err)
	}
}

// ---------------------------------------------------------------- pgmm errors

func TestPM002CrossOwner(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	a, b := cl.names[0], cl.names[1]
	ka, kb := nextID(t, c, a), nextID(t, c, b)
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, 'pm002 a')", ka); err != nil {
		t.Fatal(err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, 'pm002 b')", kb)
	pe := wantSQLState(t, err, "PM002")
	if !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) || !pgmm.IsSQLState(err, pgmm.SQLStateCrossOwner) {
		t.Errorf("PM002 message should name both masters: %v", err)
	}
	if pe.Severity != "ERROR" {
		t.Errorf("severity %q", pe.Severity)
	}
	var st pgmm.TxStatus
	c.Raw(func(dc interface{}) error { st = dc.(*pgmm.Conn).TxStatus(); return nil })
	if st != pgmm.TxInError {
		t.Errorf("transaction status %d, want in error", st)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if countOn(t, a, ka) != 0 || countOn(t, b, kb) != 0 {
		t.Error("rows of the failed transaction exist")
	}
}

func TestPM004DDLRefused(t *testing.T) {
	need(t)
	ctx := context.Background()
	db := openDB(t, "")
	_, err := db.ExecContext(ctx, "CREATE TABLE refused_here (a int)")
	wantSQLState(t, err, pgmm.SQLStateRefused)
	_, err = db.ExecContext(ctx, "SELECT 1; SELECT 2")
	wantSQLState(t, err, "PM004")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.ExecContext(ctx, "DROP TABLE expedientes")
	wantSQLState(t, err, "PM004")
	tx.Rollback()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'refused_here'").Scan(&n); err != nil || n != 0 {
		t.Errorf("refused table exists? %d %v", n, err)
	}
}

func TestServerErrors(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	k := nextID(t, c, "")
	ins := "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, $2, 'dup')"
	if _, err := c.ExecContext(ctx, ins, k, 1); err != nil {
		t.Fatal(err)
	}
	node := lastNode(t, c)
	_, err := c.ExecContext(ctx, ins, k, 1)
	pe := wantSQLState(t, err, "23505")
	if pe.Node != node || !strings.Contains(pe.Detail, fmt.Sprint(k)) || pe.Constraint == "" {
		t.Errorf("unique violation: node %q (want %q) detail %q constraint %q", pe.Node, node, pe.Detail, pe.Constraint)
	}
	_, err = c.ExecContext(ctx, ins, nextID(t, c, ""), 99)
	wantSQLState(t, err, "23503")
	_, err = c.ExecContext(ctx, "SELEC 1")
	wantSQLState(t, err, "42601")
	_, err = c.ExecContext(ctx, ins, "abc", 1) // invalid key: refused before sending
	wantSQLState(t, err, "22P02")
}

// ---------------------------------------------------------------- bad input

func TestBadConninfo(t *testing.T) {
	need(t)
	ctx := context.Background()
	db, err := sql.Open("pgmm", "garbage")
	if err != nil {
		t.Fatal(err) // sql.Open does not connect
	}
	defer db.Close()
	err = db.PingContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "cannot connect") || !strings.Contains(err.Error(), "garbage") {
		t.Errorf("garbage conninfo: %v", err)
	}
	for conninfo, want := range map[string]string{
		cl.homeConninfo() + " pgmm_bogus=1":                                      "pgmm_bogus",
		strings.Replace(cl.server[cl.home], "dbname=pgmm", "dbname=postgres", 1): "not part of a pgmm cluster",
		"host=127.0.0.1 port=1 connect_timeout=3":                                "cannot connect",
		"host=x\x00": "NUL",
	} {
		if _, err := pgmm.Open(conninfo); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q): %v, want an error containing %q", conninfo, err, want)
		}
	}
	if _, err := pgmm.AdminConnect("garbage"); err == nil || !strings.Contains(err.Error(), "admin connect failed") {
		t.Errorf("AdminConnect(garbage): %v", err)
	}
	if err := pgmm.Init(nil, 0); err == nil {
		t.Error("Init(nil) succeeded")
	}
	if err := pgmm.Init([]string{"solo=host=127.0.0.1 port=1"}, 0); err == nil || !strings.Contains(err.Error(), "init failed") {
		t.Errorf("Init with one master: %v", err)
	}
}

func TestNilAndBadArguments(t *testing.T) {
	need(t)
	ctx := context.Background()
	db := openDB(t, "")
	c := sqlConn(t, db)
	var s sql.NullString
	if err := c.QueryRowContext(ctx, "SELECT $1::text", nil).Scan(&s); err != nil || s.Valid {
		t.Errorf("nil parameter: %v %v", s, err)
	}
	if _, err := c.ExecContext(ctx, "SELECT $1::text", "a\x00b"); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("NUL in a parameter: %v", err)
	}
	if _, err := c.ExecContext(ctx, "SELECT 1\x00"); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("NUL in the query: %v", err)
	}
	if _, err := c.ExecContext(ctx, "SELECT $1::int", sql.Named("x", 1)); err == nil || !strings.Contains(err.Error(), "named parameters") {
		t.Errorf("named parameter: %v", err)
	}
	if _, err := c.ExecContext(ctx, "SELECT $1::int", struct{}{}); err == nil {
		t.Error("struct parameter accepted")
	}
	if _, err := c.ExecContext(ctx, "SELECT $1::int, $2::int", 1); err == nil {
		t.Error("missing parameter accepted")
	}
	if _, err := pgmm.NextID(ctx, c, ""); err == nil {
		t.Error("NextID with an empty table name succeeded")
	}
	if _, err := pgmm.NextID(ctx, c, "no_such_table"); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("NextID(no_such_table): %v", err)
	}
	if _, err := pgmm.NextID(ctx, nil, "expedientes"); err == nil {
		t.Error("NextID(nil conn) succeeded")
	}
	var nilAdmin *pgmm.Admin
	if err := nilAdmin.DDL("SELECT 1"); err == nil || nilAdmin.Close() != nil {
		t.Errorf("nil *Admin: %v", err)
	}
	// A statement that still works after all that.
	var one int
	if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatal(err)
	}
}

func TestClosedConnection(t *testing.T) {
	need(t)
	ctx := context.Background()
	cn, err := pgmm.Open(cl.homeConninfo())
	if err != nil {
		t.Fatal(err)
	}
	if err := cn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cn.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := cn.ExecContext(ctx, "SELECT 1", nil); err != driver.ErrBadConn {
		t.Errorf("Exec on a closed Conn: %v", err)
	}
	if _, err := cn.Prepare("SELECT 1"); err != driver.ErrBadConn {
		t.Errorf("Prepare on a closed Conn: %v", err)
	}
	if _, err := cn.NextID("expedientes"); err != pgmm.ErrClosed {
		t.Errorf("NextID on a closed Conn: %v", err)
	}
	if cn.LastNode() != "" || cn.TxStatus() != pgmm.TxUnknown || cn.IsValid() {
		t.Error("a closed Conn still reports state")
	}
	// database/sql's view of a closed connection / DB.
	db := openDB(t, "")
	c := sqlConn(t, db)
	c.Close()
	if _, err := c.ExecContext(ctx, "SELECT 1"); err != sql.ErrConnDone {
		t.Errorf("Exec on a closed *sql.Conn: %v", err)
	}
	db.Close()
	if _, err := db.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Error("Exec on a closed *sql.DB succeeded")
	}
	adm, err := pgmm.AdminConnect(cl.homeConninfo())
	if err != nil {
		t.Fatal(err)
	}
	adm.Close()
	if _, err := adm.Status(true); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Status on a closed Admin: %v", err)
	}
}

func TestPreparedStatement(t *testing.T) {
	need(t)
	ctx := context.Background()
	c := sqlConn(t, openDB(t, ""))
	st, err := c.PrepareContext(ctx, "INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, $2)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, node := range cl.names {
		k := nextID(t, c, node)
		if _, err := st.ExecContext(ctx, k, "prepared"); err != nil {
			t.Fatal(err)
		}
		if ln := lastNode(t, c); ln != node {
			t.Errorf("prepared insert of a %s key ran on %s", node, ln)
		}
	}
}

// ---------------------------------------------------------------- admin

func TestAdminStatusVerify(t *testing.T) {
	need(t)
	adm, err := pgmm.AdminConnect(cl.homeConninfo())
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	var notices []string
	if err := adm.SetNotice(func(m string) { notices = append(notices, m) }); err != nil {
		t.Fatal(err)
	}
	st, err := adm.StatusInfo()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Masters) != len(cl.names) {
		t.Errorf("%d masters in status", len(st.Masters))
	}
	for _, m := range st.Masters {
		if !m.Up {
			t.Errorf("master %s down", m.Name)
		}
	}
	total := 0
	for _, s := range st.Shards {
		total += s.Count
	}
	var dist bool
	for _, tb := range st.Tables {
		dist = dist || (tb.Table == "expedientes" && tb.Kind == "distributed" && tb.Key == "id" && tb.Shards == shards)
	}
	if !dist || total != shards || len(st.Subscriptions) != len(cl.names)*(len(cl.names)-1) {
		t.Errorf("status: distributed %v, %d shards, %d subscriptions", dist, total, len(st.Subscriptions))
	}
	text, err := adm.Status(false)
	if err != nil || !strings.Contains(text, fmt.Sprintf("masters: %d", len(cl.names))) {
		t.Errorf("text status: %v\n%s", err, text)
	}
	var report string
	err = waitFor(60*time.Second, func() bool {
		var n int
		n, report, err = adm.Verify()
		return err == nil && n == 0
	})
	if err != nil || !strings.Contains(report, "identical") {
		t.Errorf("verify: %v\n%s", err, report)
	}
	if n, err := adm.Recover(); err != nil || n != 0 {
		t.Errorf("recover: %d %v", n, err)
	}
	if err := adm.DDL("CREATE TABLE estados (id int)"); err == nil || !strings.Contains(err.Error(), "ddl failed") {
		t.Errorf("DDL of an existing table: %v", err)
	}
	if err := adm.Reference("", ""); err == nil {
		t.Error("Reference(\"\") succeeded")
	}
	// A second reference table, owned by another master than the home one.
	if err := adm.DDL("CREATE TABLE notas_go (id int PRIMARY KEY, texto text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(notices, "\n"), fmt.Sprintf("applied on %d masters", len(cl.names))) {
		t.Errorf("notices: %q", notices)
	}
	last := cl.names[len(cl.names)-1]
	if err := adm.Reference("notas_go", last); err != nil {
		t.Fatal(err)
	}
	if err := adm.SetNotice(nil); err != nil {
		t.Fatal(err)
	}
	before := len(notices)
	if err := adm.Distribute("no_such_table", "id", 0, ""); err == nil || !strings.Contains(err.Error(), "distribute no_such_table failed") {
		t.Errorf("Distribute(no_such_table): %v", err)
	}
	if len(notices) != before {
		t.Errorf("notices after SetNotice(nil): %q", notices[before:])
	}
	c := sqlConn(t, openDB(t, ""))
	if _, err := c.ExecContext(context.Background(), "INSERT INTO notas_go (id, texto) VALUES ($1, $2)", 1, "hola"); err != nil {
		t.Fatal(err)
	}
	if n := lastNode(t, c); n != last {
		t.Errorf("write to notas_go ran on %s, owner %s", n, last)
	}
}

// Issue #7: NextID failing because no master is reachable carries PM005
// (pgmm_error_sqlstate), so IsSQLState(err, SQLStateNodeDown) holds.  The
// masters stay up: the test database refuses new connections and this
// client's sessions (found by application_name) are ended, so every
// (re)connection fails.
func TestNextIDMasterDownIsNodeDown(t *testing.T) {
	c := need(t)
	app := fmt.Sprintf("pgmm_go_down_%d", time.Now().UnixNano()%1000000000)
	cn, err := pgmm.Open(c.homeConninfo() + " application_name=" + app)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	// Misuse keeps its own SQLSTATE: an unknown table is 42P01.
	if _, err := cn.NextID("no_such_table"); !pgmm.IsSQLState(err, "42P01") {
		t.Fatalf("NextID(no_such_table): want SQLSTATE 42P01, got %v", err)
	}
	defer func() {
		for _, n := range c.names {
			_ = pqdirect.Exec(c.server[n], "ALTER DATABASE "+c.db+" ALLOW_CONNECTIONS true")
		}
	}()
	for _, n := range c.names {
		if err := pqdirect.Exec(c.server[n], "ALTER DATABASE "+c.db+" ALLOW_CONNECTIONS false"); err != nil {
			t.Fatal(err)
		}
		if _, err := pqdirect.Query(c.server[n], "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "+
			"WHERE application_name = '"+app+"'"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	_, err = cn.NextID("expedientes")
	if err == nil {
		t.Fatal("NextID succeeded with every master refusing this client")
	}
	wantSQLState(t, err, pgmm.SQLStateNodeDown)
	if !pgmm.IsSQLState(err, pgmm.SQLStateNodeDown) {
		t.Fatalf("IsSQLState(PM005) is false for %v", err)
	}
}

// Issue #7: a failed Open carries the SQLSTATE pgmm_connect left
// (pgmm_error_sqlstate): a bad pgmm option 22023, nobody listening 08001, a
// database without the pgmm catalog the server's 42P01.
func TestOpenErrorSQLState(t *testing.T) {
	c := need(t)
	for conninfo, state := range map[string]string{
		c.homeConninfo() + " pgmm_bogus=1":                                     "22023",
		"host=127.0.0.1 port=1 connect_timeout=3":                              "08001",
		strings.Replace(c.server[c.home], "dbname=pgmm", "dbname=postgres", 1): "42P01",
	} {
		_, err := pgmm.Open(conninfo)
		if !pgmm.IsSQLState(err, state) {
			t.Errorf("Open(%q): want SQLSTATE %s, got %v", conninfo, state, err)
		}
	}
}
