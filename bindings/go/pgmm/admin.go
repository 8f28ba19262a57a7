package pgmm

/*
#include <stdlib.h>
#include <stdint.h>
#include <pgmm.h>

void pgmm_go_set_notice(PGMMadmin *a, uintptr_t handle);
void pgmm_go_clear_notice(PGMMadmin *a);
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"runtime/cgo"
	"strings"
	"unsafe"
)

// Init installs a new cluster on the masters given as "NAME=CONNINFO"
// strings (at least 2): pgmm_admin_init.  stride: allocator stride (0: the
// default, 10).
func Init(nodes []string, stride int) error {
	if len(nodes) == 0 {
		return errorf("init: no masters given (need at least 2 \"NAME=CONNINFO\" strings)")
	}
	for _, n := range nodes {
		if strings.IndexByte(n, 0) >= 0 {
			return errorf("init: a node string cannot contain NUL (0x00) bytes")
		}
	}
	if ok, msg := adminInit(nodes, stride); !ok {
		return errorf("init failed: %s", strings.TrimSpace(msg))
	}
	return nil
}

// Admin is a handle for admin operations (pgmm_admin_*) on the cluster
// reached through one master.  Not safe for concurrent use.
type Admin struct {
	a      *C.PGMMadmin
	notice cgo.Handle
}

// AdminConnect connects to the cluster through any one master.
func AdminConnect(conninfo string) (*Admin, error) {
	cs, err := cstr(conninfo, "conninfo")
	if err != nil {
		return nil, err
	}
	defer cfree(cs)
	a := C.pgmm_admin_connect(cs)
	if a == nil {
		return nil, errorf("admin connect: out of memory")
	}
	if C.pgmm_admin_ok(a) == 0 {
		msg := strings.TrimSpace(gostr(C.pgmm_admin_error(a)))
		C.pgmm_admin_finish(a)
		return nil, errorf("admin connect failed: %s", msg)
	}
	adm := &Admin{a: a}
	runtime.SetFinalizer(adm, (*Admin).Close)
	return adm, nil
}

// Close releases the handle; closing twice (or a nil *Admin) is allowed.
func (adm *Admin) Close() error {
	if adm == nil || adm.a == nil {
		return nil
	}
	C.pgmm_admin_finish(adm.a)
	adm.a = nil
	if adm.notice != 0 {
		adm.notice.Delete()
		adm.notice = 0
	}
	runtime.SetFinalizer(adm, nil)
	return nil
}

func (adm *Admin) handle() (*C.PGMMadmin, error) {
	if adm == nil || adm.a == nil {
		return nil, errorf("the admin handle is closed")
	}
	return adm.a, nil
}

func (adm *Admin) fail(what string) error {
	msg := strings.TrimSpace(gostr(C.pgmm_admin_error(adm.a)))
	if msg == "" {
		msg = "unknown error"
	}
	return errorf("%s failed: %s", what, msg)
}

// SetNotice sends the progress messages of admin operations to fn (nil:
// silent).  fn runs on the calling goroutine, during the operation.
func (adm *Admin) SetNotice(fn func(message string)) error {
	a, err := adm.handle()
	if err != nil {
		return err
	}
	if adm.notice != 0 {
		C.pgmm_go_clear_notice(a)
		adm.notice.Delete()
		adm.notice = 0
	}
	if fn != nil {
		adm.notice = cgo.NewHandle(fn)
		C.pgmm_go_set_notice(a, C.uintptr_t(adm.notice))
	}
	return nil
}

// DDL applies sql on every master in one two-phase commit.
func (adm *Admin) DDL(sql string) error {
	a, err := adm.handle()
	if err != nil {
		return err
	}
	cs, err := cstr(sql, "sql")
	if err != nil {
		return err
	}
	defer cfree(cs)
	if C.pgmm_admin_ddl(a, cs) != 0 {
		return adm.fail("ddl")
	}
	return nil
}

// optional returns NULL for "".
func optional(s, what string) (*C.char, error) {
	if s == "" {
		return nil, nil
	}
	return cstr(s, what)
}

// Reference makes table a reference table written on owner ("": the master
// this handle connected through).
func (adm *Admin) Reference(table, owner string) error {
	a, err := adm.handle()
	if err != nil {
		return err
	}
	if table == "" {
		return errorf("reference: the table name is empty")
	}
	ct, err := cstr(table, "table")
	if err != nil {
		return err
	}
	defer cfree(ct)
	co, err := optional(owner, "owner")
	if err != nil {
		return err
	}
	defer cfree(co)
	if C.pgmm_admin_reference(a, ct, co) != 0 {
		return adm.fail("reference " + table)
	}
	return nil
}

// Distribute hash-distributes table by column into shards partitions (0:
// the default, 16), or colocated with another distributed table
// (colocateWith, "" for none).
func (adm *Admin) Distribute(table, column string, shards int, colocateWith string) error {
	a, err := adm.handle()
	if err != nil {
		return err
	}
	if table == "" || column == "" {
		return errorf("distribute: the table and column names must not be empty")
	}
	ct, err := cstr(table, "table")
	if err != nil {
		return err
	}
	defer cfree(ct)
	cc, err := cstr(column, "column")
	if err != nil {
		return err
	}
	defer cfree(cc)
	cw, err := optional(colocateWith, "colocateWith")
	if err != nil {
		return err
	}
	defer cfree(cw)
	if C.pgmm_admin_distribute(a, ct, cc, C.int(shards), cw) != 0 {
		return adm.fail("distribute " + table)
	}
	return nil
}

// Status returns the cluster status report: JSON text when asJSON, else
// the human-readable text of `pgmm status`.
func (adm *Admin) Status(asJSON bool) (string, error) {
	a, err := adm.handle()
	if err != nil {
		return "", err
	}
	j := C.int(0)
	if asJSON {
		j = 1
	}
	p := C.pgmm_admin_status(a, j)
	if p == nil {
		return "", adm.fail("status")
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p), nil
}

// ClusterStatus is the decoded JSON status.
type ClusterStatus struct {
	Masters []struct {
		Name     string  `json:"name"`
		Slot     int     `json:"slot"`
		Up       bool    `json:"up"`
		Epoch    *int64  `json:"epoch"`
		Version  string  `json:"version"`
		Address  string  `json:"address"`
		Error    *string `json:"error"`
		Prepared string  `json:"prepared"`
	} `json:"masters"`
	Tables []struct {
		Schema     string `json:"schema"`
		Table      string `json:"table"`
		Kind       string `json:"kind"`
		Owner      string `json:"owner,omitempty"`
		Key        string `json:"key,omitempty"`
		KeyType    string `json:"key_type,omitempty"`
		Colocation int    `json:"colocation,omitempty"`
		Shards     int    `json:"shards,omitempty"`
	} `json:"tables"`
	Shards []struct {
		Colocation int    `json:"colocation"`
		Owner      string `json:"owner"`
		Count      int    `json:"count"`
	} `json:"shards"`
	Subscriptions []struct {
		Name        string  `json:"name"`
		Subscriber  string  `json:"subscriber"`
		Publisher   string  `json:"publisher"`
		State       string  `json:"state"`
		Worker      bool    `json:"worker"`
		ApplyErrors int64   `json:"apply_errors"`
		SyncErrors  int64   `json:"sync_errors"`
		LagBytes    int64   `json:"lag_bytes"`
		LagSeconds  float64 `json:"lag_seconds"`
	} `json:"subscriptions"`
}

// StatusInfo returns the JSON status decoded.
func (adm *Admin) StatusInfo() (*ClusterStatus, error) {
	s, err := adm.Status(true)
	if err != nil {
		return nil, err
	}
	var st ClusterStatus
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, errorf("status: cannot decode the JSON report: %v", err)
	}
	return &st, nil
}

// Verify compares every pgmm table across masters: diverged is the number
// of differences (0: identical everywhere), report the text report.
func (adm *Admin) Verify() (diverged int, report string, err error) {
	a, err := adm.handle()
	if err != nil {
		return 0, "", err
	}
	var n C.int
	p := C.pgmm_admin_verify(a, &n)
	if p == nil {
		return 0, "", adm.fail("verify")
	}
	defer C.free(unsafe.Pointer(p))
	return int(n), C.GoString(p), nil
}

// Recover finishes or undoes two-phase transactions a failed master left
// prepared; it returns how many were resolved.
func (adm *Admin) Recover() (int, error) {
	a, err := adm.handle()
	if err != nil {
		return 0, err
	}
	var n C.int
	if C.pgmm_admin_recover(a, &n) != 0 {
		return 0, adm.fail("recover")
	}
	return int(n), nil
}

// Uninstall removes pgmm (subscriptions, publication, catalog) from every
// master; tables and rows stay.
func (adm *Admin) Uninstall() error {
	a, err := adm.handle()
	if err != nil {
		return err
	}
	if C.pgmm_admin_uninstall(a) != 0 {
		return adm.fail("uninstall")
	}
	return nil
}
