package pgmm

// Unit tests of the value conversions: no server needed.

import (
	"database/sql/driver"
	"math"
	"testing"
	"time"
)

func TestEncodeParam(t *testing.T) {
	cases := []struct {
		in     driver.Value
		want   string
		binary bool
		null   bool
	}{
		{nil, "", false, true},
		{int64(-42), "-42", false, false},
		{1.5, "1.5", false, false},
		{math.NaN(), "NaN", false, false},
		{math.Inf(1), "Infinity", false, false},
		{true, "true", false, false},
		{"héllo", "héllo", false, false},
		{[]byte{0, 1}, "\x00\x01", true, false},
		{[]byte(nil), "", false, true},
		{time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.FixedZone("", -(3*3600+30*60))), "2024-01-02 03:04:05.6-03:30", false, false},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3208)), "1900-01-01 00:00:00+00:53:28", false, false},
		{time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC), "0044-03-15 00:00:00+00:00 BC", false, false},
	}
	for _, c := range cases {
		v, bin, null, err := encodeParam(c.in)
		if err != nil || string(v) != c.want || bin != c.binary || null != c.null {
			t.Errorf("encodeParam(%#v) = %q %v %v %v", c.in, v, bin, null, err)
		}
	}
	if _, _, _, err := encodeParam("a\x00b"); err == nil {
		t.Error("NUL accepted")
	}
	if _, _, _, err := encodeParam(struct{}{}); err == nil {
		t.Error("struct accepted")
	}
}

func TestDecodeText(t *testing.T) {
	check := func(oid uint32, in string, want driver.Value) {
		t.Helper()
		got, err := decodeText(oid, []byte(in))
		if err != nil {
			t.Errorf("decodeText(%d, %q): %v", oid, in, err)
			return
		}
		switch w := want.(type) {
		case time.Time:
			g, ok := got.(time.Time)
			if !ok || !g.Equal(w) {
				t.Errorf("decodeText(%d, %q) = %v, want %v", oid, in, got, w)
			}
			if _, off := g.Zone(); ok {
				if _, woff := w.Zone(); off != woff {
					t.Errorf("decodeText(%d, %q) offset %d, want %d", oid, in, off, woff)
				}
			}
		case []byte:
			if g, ok := got.([]byte); !ok || string(g) != string(w) {
				t.Errorf("decodeText(%d, %q) = %v, want %v", oid, in, got, w)
			}
		default:
			if got != want {
				t.Errorf("decodeText(%d, %q) = %#v, want %#v", oid, in, got, want)
			}
		}
	}
	check(oidInt8, "-9223372036854775808", int64(math.MinInt64))
	check(oidInt2, "7", int64(7))
	check(oidFloat8, "-Infinity", math.Inf(-1))
	check(oidFloat4, "1.5", 1.5)
	check(oidBool, "t", true)
	check(oidBool, "f", false)
	check(oidBytea, `\x00ff`, []byte{0, 0xff})
	check(oidBytea, `a\\b\000\377`, []byte{'a', '\\', 'b', 0, 0xff})
	check(oidNumeric, "1234.50", "1234.50")
	check(oidText, "x", "x")
	check(oidUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
	check(oidDate, "2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC))
	check(oidDate, "0044-03-15 BC", time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC))
	check(oidDate, "infinity", "infinity")
	check(oidTimestamp, "2020-01-02 03:04:05.000006", time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC))
	check(oidTimestamptz, "2024-01-02 03:04:05.5+05:30", time.Date(2024, 1, 2, 3, 4, 5, 5e8, time.FixedZone("", 5*3600+30*60)))
	check(oidTimestamptz, "1900-01-01 00:00:00+00:53:28", time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3208)))
	check(oidTimestamptz, "2024-01-02 03:04:05-08", time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -8*3600)))
	check(oidTimestamptz, "12345-01-02 03:04:05+00", time.Date(12345, 1, 2, 3, 4, 5, 0, time.UTC))
	check(oidTimestamptz, "-infinity", "-infinity")
	if _, err := decodeText(oidInt4, []byte("x")); err == nil {
		t.Error("bad int accepted")
	}
	if _, err := decodeText(oidBytea, []byte(`\xzz`)); err == nil {
		t.Error("bad bytea accepted")
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 12, 31, 23, 59, 59, 999999000, time.FixedZone("", 9*3600)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-100, 6, 1, 12, 0, 0, 0, time.FixedZone("", -3600)),
	} {
		s := formatTime(tm)
		// PostgreSQL prints "+09" where we send "+09:00"; both parse.
		got, ok := parseTime(oidTimestamptz, s)
		if !ok || !got.Equal(tm) {
			t.Errorf("%v -> %q -> %v %v", tm, s, got, ok)
		}
	}
}
