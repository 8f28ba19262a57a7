package pgmm

import (
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Type OIDs the driver converts (pg_type.oid).
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOid         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidUnknown     = 705
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

var typeNames = map[uint32]string{
	oidBool: "BOOL", oidBytea: "BYTEA", oidChar: "CHAR", oidName: "NAME", oidInt8: "INT8",
	oidInt2: "INT2", oidInt4: "INT4", oidText: "TEXT", oidOid: "OID", oidJSON: "JSON",
	oidFloat4: "FLOAT4", oidFloat8: "FLOAT8", oidUnknown: "UNKNOWN", oidBpchar: "BPCHAR",
	oidVarchar: "VARCHAR", oidDate: "DATE", oidTime: "TIME", oidTimestamp: "TIMESTAMP",
	oidTimestamptz: "TIMESTAMPTZ", oidInterval: "INTERVAL", oidTimetz: "TIMETZ",
	oidNumeric: "NUMERIC", oidUUID: "UUID", oidJSONB: "JSONB",
	1000: "_BOOL", 1005: "_INT2", 1007: "_INT4", 1009: "_TEXT", 1016: "_INT8",
	1015: "_VARCHAR", 1021: "_FLOAT4", 1022: "_FLOAT8", 1231: "_NUMERIC", 2951: "_UUID",
}

var (
	typeInt64   = reflect.TypeOf(int64(0))
	typeFloat64 = reflect.TypeOf(float64(0))
	typeBool    = reflect.TypeOf(false)
	typeBytes   = reflect.TypeOf([]byte(nil))
	typeString  = reflect.TypeOf("")
	typeTime    = reflect.TypeOf(time.Time{})
)

// scanType is the Go type decodeText returns for a column of type oid
// (when the value is representable; "infinity" dates come back as string).
func scanType(oid uint32) reflect.Type {
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidOid:
		return typeInt64
	case oidFloat4, oidFloat8:
		return typeFloat64
	case oidBool:
		return typeBool
	case oidBytea:
		return typeBytes
	case oidDate, oidTimestamp, oidTimestamptz:
		return typeTime
	}
	return typeString
}

// encodeParam turns one driver.Value into its wire form: text format for
// everything but []byte, which goes in binary format (for bytea that is the
// raw bytes; the server infers every parameter's type from the statement).
// null reports SQL NULL.
func encodeParam(v driver.Value) (val []byte, binary bool, null bool, err error) {
	switch x := v.(type) {
	case nil:
		return nil, false, true, nil
	case int64:
		return []byte(strconv.FormatInt(x, 10)), false, false, nil
	case float64:
		return []byte(formatFloat(x)), false, false, nil
	case bool:
		if x {
			return []byte("true"), false, false, nil
		}
		return []byte("false"), false, false, nil
	case []byte:
		if x == nil {
			return nil, false, true, nil
		}
		return x, true, false, nil
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return nil, false, false, errorf("a string parameter cannot contain NUL (0x00) bytes")
		}
		return []byte(x), false, false, nil
	case time.Time:
		return []byte(formatTime(x)), false, false, nil
	}
	return nil, false, false, errorf("cannot send a parameter of type %T (supported: nil, int64, float64, bool, []byte, string, time.Time)", v)
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// formatTime: ISO 8601 with the numeric offset, microsecond-or-finer
// fraction, years <= 0 as BC (PostgreSQL has no year 0).
func formatTime(t time.Time) string {
	y := t.Year()
	bc := ""
	if y <= 0 {
		y = 1 - y
		bc = " BC"
	}
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	s := fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", y, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	s += fmt.Sprintf("%c%02d:%02d", sign, off/3600, (off%3600)/60)
	if sec := off % 60; sec != 0 {
		s += fmt.Sprintf(":%02d", sec)
	}
	return s + bc
}

// decodeText converts a text-format value of a column of type oid into the
// driver.Value documented in doc.go.
func decodeText(oid uint32, s []byte) (driver.Value, error) {
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidOid:
		return strconv.ParseInt(string(s), 10, 64)
	case oidFloat4, oidFloat8:
		return strconv.ParseFloat(string(s), 64)
	case oidBool:
		return len(s) == 1 && s[0] == 't', nil
	case oidBytea:
		return decodeBytea(s)
	case oidDate, oidTimestamp, oidTimestamptz:
		if t, ok := parseTime(oid, string(s)); ok {
			return t, nil
		}
		return string(s), nil // infinity, -infinity, out of range: keep the text
	}
	return string(s), nil
}

func decodeBytea(s []byte) ([]byte, error) {
	if len(s) >= 2 && s[0] == '\\' && s[1] == 'x' {
		out := make([]byte, hex.DecodedLen(len(s)-2))
		if _, err := hex.Decode(out, s[2:]); err != nil {
			return nil, errorf("bad bytea value: %v", err)
		}
		return out, nil
	}
	// escape format (bytea_output = escape)
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			out = append(out, '\\')
			i += 2
			continue
		}
		if i+4 > len(s) {
			return nil, errorf("bad bytea escape at %d", i)
		}
		n, err := strconv.ParseUint(string(s[i+1:i+4]), 8, 8)
		if err != nil {
			return nil, errorf("bad bytea escape at %d", i)
		}
		out = append(out, byte(n))
		i += 4
	}
	return out, nil
}

// parseTime reads PostgreSQL's ISO output (DateStyle ISO): "2006-01-02",
// "2006-01-02 15:04:05[.ffffff]" and, for timestamptz, a "+HH[:MM[:SS]]"
// offset; " BC" suffix for years before 1.  Timestamps without time zone
// come back in UTC.
func parseTime(oid uint32, s string) (time.Time, bool) {
	bc := strings.HasSuffix(s, " BC")
	if bc {
		s = strings.TrimSuffix(s, " BC")
	}
	if len(s) < 10 {
		return time.Time{}, false
	}
	// The year may have more than 4 digits.
	dash := strings.IndexByte(s, '-')
	if dash < 4 || len(s) < dash+6 {
		return time.Time{}, false
	}
	year, err1 := strconv.Atoi(s[:dash])
	month, err2 := strconv.Atoi(s[dash+1 : dash+3])
	day, err3 := strconv.Atoi(s[dash+4 : dash+6])
	if err1 != nil || err2 != nil || err3 != nil || s[dash+3] != '-' {
		return time.Time{}, false
	}
	if bc {
		year = 1 - year
	}
	rest := s[dash+6:]
	var hour, min, sec, nsec int
	loc := time.UTC
	if rest != "" {
		if rest[0] != ' ' || len(rest) < 9 || rest[3] != ':' || rest[6] != ':' {
			return time.Time{}, false
		}
		var e1, e2, e3 error
		hour, e1 = strconv.Atoi(rest[1:3])
		min, e2 = strconv.Atoi(rest[4:6])
		sec, e3 = strconv.Atoi(rest[7:9])
		if e1 != nil || e2 != nil || e3 != nil {
			return time.Time{}, false
		}
		rest = rest[9:]
		if strings.HasPrefix(rest, ".") {
			i := 1
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			frac := rest[1:i]
			if len(frac) > 9 {
				frac = frac[:9]
			}
			f, err := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
			if err != nil {
				return time.Time{}, false
			}
			nsec = f
			rest = rest[i:]
		}
		if rest != "" {
			if oid != oidTimestamptz || (rest[0] != '+' && rest[0] != '-') {
				return time.Time{}, false
			}
			sign := 1
			if rest[0] == '-' {
				sign = -1
			}
			parts := strings.Split(rest[1:], ":")
			off := 0
			for i, p := range parts {
				if i > 2 || len(p) != 2 {
					return time.Time{}, false
				}
				n, err := strconv.Atoi(p)
				if err != nil {
					return time.Time{}, false
				}
				off += n * []int{3600, 60, 1}[i]
			}
			if off != 0 {
				loc = time.FixedZone("", sign*off)
			}
		}
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc), true
}
