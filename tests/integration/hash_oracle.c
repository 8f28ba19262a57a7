/*-------------------------------------------------------------------------
 *
 * hash_oracle.c
 *	  Check lib/pghash.c against a live PostgreSQL server.
 *
 * For every supported key type (and a few type modifiers that change the
 * hash) this creates tables PARTITION BY HASH (k) with MODULUS 64 and 7 in
 * the session's temporary schema, loads >= 10,000 generated keys with COPY (the server's
 * text input, like a literal or a text-format parameter), and compares the
 * partition the server chose for each key with the client's remainder.
 * It also reads every stored key back in binary format and checks that
 * pgmm_key_hash_binary agrees, and, where the type's extended hash function
 * is SQL-callable, compares the full 64-bit hash.
 *
 * A second pass feeds tricky inputs ("probes") one at a time: spellings
 * only some server versions accept, values at the edges of each type,
 * malformed input.  The client may refuse a key the server accepts (the
 * caller then gets an error instead of a route), and may accept a key the
 * server refuses (the write then fails on the server); what it must never
 * do is accept a key and route it somewhere else.
 *
 * Usage: hash_oracle CONNINFO [-v]
 * Prints "hash_oracle: <type> N keys, M mismatches" per type; exits 1 on
 * any mismatch, 2 on a setup failure.
 *
 * Build: cc -O2 -Ilib lib/pghash.c tests/integration/hash_oracle.c \
 *           $(pkg-config --cflags --libs libpq) -o hash_oracle
 *
 *-------------------------------------------------------------------------
 */
#include "pghash.h"

#include <libpq-fe.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The session's temporary schema: concurrent runs cannot collide, and
 * nothing is left behind if the program dies half way.
 */
#define SCHEMA		"pg_temp"
#define NKEYS		10000		/* random keys per type, on top of edge values */
#define SHOW_MAX	10			/* mismatches printed per type */

static bool verbose = false;


/* ----------------------------------------------------------------------
 * Small utilities
 * ----------------------------------------------------------------------
 */

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "hash_oracle: out of memory\n");
		exit(2);
	}
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
	{
		fprintf(stderr, "hash_oracle: out of memory\n");
		exit(2);
	}
	return p;
}

/* splitmix64: deterministic keys, so a failure can be reproduced */
typedef struct rng
{
	uint64_t	s;
} rng;

static uint64_t
rnd(rng *r)
{
	uint64_t	z = (r->s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t
rnd_below(rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static int64_t
rnd_range(rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t) rnd_below(r, (uint64_t) (hi - lo) + 1);
}

typedef struct keylist
{
	char	  **v;
	size_t	   *len;
	size_t		n,
				cap;
} keylist;

static void
add_key(keylist *kl, const char *s, size_t len)
{
	if (kl->n == kl->cap)
	{
		kl->cap = kl->cap ? kl->cap * 2 : 1024;
		kl->v = xrealloc(kl->v, kl->cap * sizeof(char *));
		kl->len = xrealloc(kl->len, kl->cap * sizeof(size_t));
	}
	kl->v[kl->n] = xmalloc(len + 1);
	memcpy(kl->v[kl->n], s, len);
	kl->v[kl->n][len] = '\0';
	kl->len[kl->n] = len;
	kl->n++;
}

static void
add_keyf(keylist *kl, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
add_keyf(keylist *kl, const char *fmt,...)
{
	char		buf[4096];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= sizeof(buf))
	{
		fprintf(stderr, "hash_oracle: key too long for add_keyf\n");
		exit(2);
	}
	add_key(kl, buf, (size_t) n);
}

static void
free_keys(keylist *kl)
{
	size_t		i;

	for (i = 0; i < kl->n; i++)
		free(kl->v[i]);
	free(kl->v);
	free(kl->len);
	memset(kl, 0, sizeof(*kl));
}

/* A printable rendering of a key for reports. */
static const char *
printable(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t		i,
				o = 0;

	for (i = 0; i < len && o + 8 < buflen; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '\\')
			o += (size_t) snprintf(buf + o, buflen - o, "\\\\");
		else if (c < 0x20 || c == 0x7F)
			o += (size_t) snprintf(buf + o, buflen - o, "\\x%02x", c);
		else
			buf[o++] = (char) c;
	}
	if (i < len)
		o += (size_t) snprintf(buf + o, buflen - o, "...(%zu bytes)", len);
	buf[o] = '\0';
	return buf;
}


/* ----------------------------------------------------------------------
 * Key generators: edge values first, then pseudo-random values in the
 * spellings clients send.
 * ----------------------------------------------------------------------
 */

static const char *const blanks[] = {"", "", "", "", " ", "  ", "\t", "\n"};

static void
gen_int(keylist *kl, rng *r, int bits)
{
	int64_t		lo = (bits == 64) ? INT64_MIN : -(INT64_C(1) << (bits - 1));
	int64_t		hi = (bits == 64) ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1;
	int			i,
				k;

	add_keyf(kl, "%" PRId64, lo);
	add_keyf(kl, "%" PRId64, hi);
	add_keyf(kl, "%" PRId64, lo + 1);
	add_keyf(kl, "%" PRId64, hi - 1);
	for (i = -300; i <= 300; i++)
		add_keyf(kl, "%d", i);
	for (k = 1; k < bits - 1; k++)
	{
		int64_t		p = INT64_C(1) << k;

		add_keyf(kl, "%" PRId64, p);
		add_keyf(kl, "%" PRId64, p - 1);
		add_keyf(kl, "%" PRId64, -p);
		add_keyf(kl, "%" PRId64, -p + 1);
	}
	/* spellings: blanks, '+', leading zeros, '-0' */
	add_key(kl, "-0", 2);
	add_key(kl, "+0", 2);
	add_key(kl, "000", 3);
	add_key(kl, " +17 ", 5);
	add_key(kl, "\t-0042\n", 7);
	for (i = 0; i < NKEYS; i++)
	{
		int64_t		v;
		int			shape = (int) rnd_below(r, 4);

		if (shape == 0)
			v = rnd_range(r, -1000, 1000);
		else if (shape == 1 && bits > 16)
			v = rnd_range(r, -100000000, 100000000);
		else
			v = (int64_t) rnd(r);
		if (bits < 64)
			v = lo + (int64_t) ((uint64_t) v % (uint64_t) (hi - lo + 1));
		switch (rnd_below(r, 8))
		{
			case 0:
				add_keyf(kl, "%s%" PRId64 "%s", blanks[rnd_below(r, 8)], v,
						 blanks[rnd_below(r, 8)]);
				break;
			case 1:
				if (v >= 0)
					add_keyf(kl, "+%" PRId64, v);
				else
					add_keyf(kl, "-%0*" PRIu64, (int) rnd_range(r, 1, 25),
							 (uint64_t) 0 - (uint64_t) v);
				break;
			default:
				add_keyf(kl, "%" PRId64, v);
				break;
		}
	}
}

static void
gen_int2(keylist *kl, rng *r)
{
	gen_int(kl, r, 16);
}

static void
gen_int4(keylist *kl, rng *r)
{
	gen_int(kl, r, 32);
}

static void
gen_int8(keylist *kl, rng *r)
{
	gen_int(kl, r, 64);
}

static void
gen_bool(keylist *kl, rng *r)
{
	static const char *const sp[] = {
		"t", "f", "true", "false", "TRUE", "False", "tr", "tru", "fa", "fal",
		"fals", "y", "ye", "yes", "n", "no", "on", "of", "off", "ON", "Off",
		"1", "0", " t", "f ", "\ttrue\n", "YES", "No"
	};
	int			i;

	for (i = 0; i < NKEYS; i++)
	{
		const char *s = sp[rnd_below(r, sizeof(sp) / sizeof(sp[0]))];

		add_key(kl, s, strlen(s));
	}
}

/* A random UTF-8 string: ASCII, 2-, 3- and 4-byte characters. */
static size_t
rand_string(rng *r, char *buf, size_t maxchars, bool ascii_only)
{
	static const char *const mb[] = {
		"\xc3\xa9", "\xc3\x9f", "\xc3\xb1", "\xce\xbb", "\xd0\x96",
		"\xe4\xb8\xad", "\xe6\x96\x87", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xf0\x9f\x90\x98"
	};
	size_t		n = (size_t) rnd_below(r, maxchars + 1),
				o = 0,
				i;

	for (i = 0; i < n; i++)
	{
		uint64_t	k = rnd_below(r, 100);

		if (!ascii_only && k < 15)
		{
			const char *m = mb[rnd_below(r, sizeof(mb) / sizeof(mb[0]))];

			memcpy(buf + o, m, strlen(m));
			o += strlen(m);
		}
		else if (k < 20)
			buf[o++] = " \t\\\n\r'\"%_,;"[rnd_below(r, 11)];
		else
			buf[o++] = (char) rnd_range(r, 0x21, 0x7E);
	}
	buf[o] = '\0';
	return o;
}

static void
gen_string_common(keylist *kl, rng *r, size_t maxchars)
{
	char		buf[8192];
	size_t		i,
				n;

	add_key(kl, "", 0);
	add_key(kl, " ", 1);
	add_key(kl, "   ", 3);
	add_key(kl, "a", 1);
	add_key(kl, "a ", 2);
	add_key(kl, " a", 2);
	add_key(kl, "\\", 1);
	add_key(kl, "emoji \xf0\x9f\x98\x80", 10);
	/* every length across several 12-byte lookup3 blocks */
	for (n = 0; n <= 40 && n <= maxchars; n++)
	{
		memset(buf, 'x', n);
		add_key(kl, buf, n);
		if (n > 0)
		{
			buf[n - 1] = ' ';
			add_key(kl, buf, n);
		}
	}
	for (i = 0; i < NKEYS; i++)
	{
		size_t		len;

		if (maxchars > 100 && rnd_below(r, 200) == 0)
			len = rand_string(r, buf, 2000, false);
		else
			len = rand_string(r, buf, maxchars < 40 ? maxchars : 40, false);
		/* trailing blanks matter for text, not for char(n) */
		if (rnd_below(r, 6) == 0 && len + 3 < sizeof(buf))
		{
			size_t		tb = (size_t) rnd_range(r, 1, 3);

			memset(buf + len, ' ', tb);
			len += tb;
		}
		add_key(kl, buf, len);
	}
}

static void
gen_text(keylist *kl, rng *r)
{
	gen_string_common(kl, r, 100000);
}

/* varchar(10): at most 10 characters, maybe followed by blanks to cut */
static void
gen_varchar10(keylist *kl, rng *r)
{
	char		buf[256];
	int			i;

	add_key(kl, "", 0);
	add_key(kl, "abcdefghij", 10);
	add_key(kl, "abcdefghij   ", 13);
	add_key(kl, "abcdefghi  ", 11);
	add_key(kl, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 ", 21);
	for (i = 0; i < NKEYS; i++)
	{
		size_t		len = rand_string(r, buf, 10, false);

		/* rand_string may produce fewer; pad with blanks sometimes */
		if (rnd_below(r, 3) == 0)
		{
			size_t		tb = (size_t) rnd_range(r, 1, 5);

			memset(buf + len, ' ', tb);
			len += tb;
		}
		add_key(kl, buf, len);
	}
}

/* char(12): at most 12 characters */
static void
gen_char12(keylist *kl, rng *r)
{
	char		buf[256];
	int			i;

	add_key(kl, "", 0);
	add_key(kl, "abcdefghijkl", 12);
	add_key(kl, "abcdefghijkl    ", 16);
	for (i = 0; i < NKEYS; i++)
	{
		size_t		len = rand_string(r, buf, 12, false);

		if (rnd_below(r, 3) == 0)
		{
			size_t		tb = (size_t) rnd_range(r, 1, 5);

			memset(buf + len, ' ', tb);
			len += tb;
		}
		add_key(kl, buf, len);
	}
}

static void
gen_uuid(keylist *kl, rng *r)
{
	int			i,
				j;

	add_key(kl, "00000000-0000-0000-0000-000000000000", 36);
	add_key(kl, "ffffffff-ffff-ffff-ffff-ffffffffffff", 36);
	for (i = 0; i < NKEYS; i++)
	{
		unsigned char u[16];
		char		hex[33],
					buf[64];
		int			shape = (int) rnd_below(r, 6);
		size_t		o = 0;

		for (j = 0; j < 16; j++)
			u[j] = (unsigned char) rnd(r);
		for (j = 0; j < 16; j++)
			snprintf(hex + 2 * j, 3, (shape == 1) ? "%02X" : "%02x", u[j]);
		switch (shape)
		{
			case 2:				/* no hyphens */
				add_key(kl, hex, 32);
				break;
			case 3:				/* braces */
				add_keyf(kl, "{%.8s-%.4s-%.4s-%.4s-%.12s}", hex, hex + 8,
						 hex + 12, hex + 16, hex + 20);
				break;
			case 4:				/* a hyphen after every group of four */
				for (j = 0; j < 8; j++)
				{
					memcpy(buf + o, hex + 4 * j, 4);
					o += 4;
					if (j < 7)
						buf[o++] = '-';
				}
				add_key(kl, buf, o);
				break;
			default:
				add_keyf(kl, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
						 hex + 12, hex + 16, hex + 20);
				break;
		}
	}
}

static void
gen_bytea(keylist *kl, rng *r)
{
	char		buf[8192];
	int			i;

	add_key(kl, "\\x", 2);
	add_key(kl, "", 0);
	add_key(kl, "\\x00", 4);
	add_key(kl, "\\\\", 2);
	add_key(kl, "\\000", 4);
	for (i = 0; i < NKEYS; i++)
	{
		size_t		n = (rnd_below(r, 100) == 0) ? (size_t) rnd_below(r, 2000) :
			(size_t) rnd_below(r, 48),
					o = 0,
					j;

		if (rnd_below(r, 4) != 0)
		{
			/* hex format, sometimes upper case, sometimes with blanks */
			bool		upper = rnd_below(r, 4) == 0;

			o += (size_t) snprintf(buf, sizeof(buf), "\\x");
			for (j = 0; j < n; j++)
			{
				o += (size_t) snprintf(buf + o, sizeof(buf) - o,
									   upper ? "%02X" : "%02x",
									   (unsigned) rnd_below(r, 256));
				if (rnd_below(r, 16) == 0)
					buf[o++] = " \n\t"[rnd_below(r, 3)];
			}
		}
		else
		{
			/* escape format: plain bytes, \\ and \ooo */
			for (j = 0; j < n && o + 5 < sizeof(buf); j++)
			{
				unsigned	c = (unsigned) rnd_below(r, 256);

				if (c == '\\')
					o += (size_t) snprintf(buf + o, sizeof(buf) - o, "\\\\");
				else if (c < 0x20 || c >= 0x7F || rnd_below(r, 5) == 0)
					o += (size_t) snprintf(buf + o, sizeof(buf) - o, "\\%03o", c);
				else
					buf[o++] = (char) c;
			}
		}
		add_key(kl, buf, o);
	}
}

/* y/m/d of a Julian day (j2date) */
static void
j2ymd(int64_t jd, int64_t *y, int *m, int *d)
{
	uint64_t	julian = (uint64_t) jd + 32044;
	uint64_t	quad = julian / 146097;
	uint64_t	extra = (julian - quad * 146097) * 4 + 3;
	int64_t		yy;

	julian += 60 + quad * 3 + extra / 146097;
	quad = julian / 1461;
	julian -= quad * 1461;
	yy = (int64_t) (julian * 4 / 1461);
	julian = ((yy != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123;
	yy += (int64_t) quad * 4;
	*y = yy - 4800;
	quad = julian * 2141 / 65536;
	*d = (int) (julian - 7834 * quad / 256);
	*m = (int) ((quad + 10) % 12 + 1);
}

/* ISO date text for a Julian day, with BC for years <= 0 */
static int
fmt_date(char *buf, size_t n, int64_t jd, char sep)
{
	int64_t		y;
	int			m,
				d;

	j2ymd(jd, &y, &m, &d);
	if (y <= 0)
		return snprintf(buf, n, "%04" PRId64 "%c%02d%c%02d BC", 1 - y, sep, m, sep, d);
	return snprintf(buf, n, "%04" PRId64 "%c%02d%c%02d", y, sep, m, sep, d);
}

#define JD_MIN		0				/* 4714-11-24 BC */
#define JD_DATE_END	2147483494		/* 5874898-01-01 */
#define JD_TS_END	109203528		/* 294277-01-01 */

static void
gen_date(keylist *kl, rng *r)
{
	static const char *const fixed[] = {
		"2000-01-01", "1999-12-31", "1970-01-01", "2024-02-29", "2000-02-29",
		"1900-02-28", "1600-02-29", "0001-01-01", "0001-12-31 BC",
		"0005-02-29 BC", "4714-11-24 BC", "4713-01-01 BC", "5874897-12-31",
		"infinity", "-infinity", "epoch", "20240115", "2024/01/15",
		"2024.01.15", " 2024-1-5 ", "2024-01-15 23:59:59", "2024-01-15T10:00:00Z",
		"2024-01-15 BC", "2024-01-15 AD", "2024-01-15 24:00:00", "INFINITY",
		"Epoch", "1996-02-29 10:00:00+05:30", "002024-01-15"
	};
	char		buf[128];
	size_t		i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_key(kl, fixed[i], strlen(fixed[i]));
	for (i = 0; i < NKEYS; i++)
	{
		int64_t		jd;
		int			n;

		switch (rnd_below(r, 4))
		{
			case 0:
				jd = rnd_range(r, JD_MIN, JD_DATE_END - 1);
				break;
			case 1:
				jd = rnd_range(r, JD_MIN, 1721426 + 100);	/* around year 1 */
				break;
			default:
				jd = rnd_range(r, 2415021, 2488070);	/* 1900..2100 */
				break;
		}
		n = fmt_date(buf, sizeof(buf), jd, rnd_below(r, 10) == 0 ? '/' : '-');
		add_key(kl, buf, (size_t) n);
	}
}

/*
 * A timestamp in text: date, ' ' or 'T', hh:mm:ss, a fraction of 0-9
 * digits (7+ digits exercise the server's rounding), and for tz an offset.
 * BC goes last.
 */
static void
gen_timestamp_common(keylist *kl, rng *r, bool tz)
{
	static const char *const fixed_ts[] = {
		"2000-01-01 00:00:00", "1999-12-31 23:59:59.999999",
		"2024-02-29 12:00:00", "2024-12-31 24:00:00", "2024-06-30 23:59:60",
		"1970-01-01 00:00:00", "4714-11-24 00:00:00 BC",
		"294276-12-31 23:59:59.999999", "infinity", "-infinity", "epoch",
		"2024-01-15 10:00", "2024-01-15", "2024-01-15 10:00:00.", "2024-01-15 10:30.5",
		"2024-01-15 10:00:00.1234565", "2024-01-15 10:00:00.1234575",
		"2024-01-15 23:59:59.9999995", "2024-01-15 10:00:00.00000050",
		"2024-01-15 10:00:00.000000500000000000000001",
		"2024-01-15 10:00:00.12345649999999999999",
		"0001-01-01 00:00:00 BC", "20240115 10:00:00", "2024-01-15 1:2:3"
	};
	static const char *const fixed_tz[] = {
		"2000-01-01 00:00:00+00", "2000-01-01 00:00:00Z", "2000-01-01 00:00:00 UTC",
		"2000-01-01 05:30:00+05:30", "1999-12-31 19:00:00-05", "2024-01-01 10:00:00+0200",
		"2024-01-01 10:00:00 +02:00", "2024-01-01 10:00:00+02:00:30",
		"2024-01-01 10:00:00-15:59", "2024-01-01 10:00:00+15", "2024-01-01 10:00:00 GMT",
		"2024-01-01 10:00:00 zulu", "2024-01-01T10:00:00.5Z", "2024-01-01 10:00:00+530",
		"4714-11-24 00:00:00+00 BC", "4714-11-23 23:00:00-01 BC",
		"294276-12-31 23:59:59.999999+00", "294277-01-01 09:00:00+10",
		"infinity", "-infinity", "epoch", "2024-01-15+02", "2024-01-15 10:00:00.1234565+01"
	};
	char		buf[256];
	size_t		i;

	if (tz)
		for (i = 0; i < sizeof(fixed_tz) / sizeof(fixed_tz[0]); i++)
			add_key(kl, fixed_tz[i], strlen(fixed_tz[i]));
	else
		for (i = 0; i < sizeof(fixed_ts) / sizeof(fixed_ts[0]); i++)
			add_key(kl, fixed_ts[i], strlen(fixed_ts[i]));

	for (i = 0; i < NKEYS; i++)
	{
		int64_t		jd,
					y;
		int			m,
					d,
					o,
					nfrac,
					k;
		bool		bc;

		switch (rnd_below(r, 4))
		{
			case 0:
				/* stay a day inside the range so any offset is fine */
				jd = rnd_range(r, JD_MIN + 1, JD_TS_END - 2);
				break;
			case 1:
				jd = rnd_range(r, 1721426 - 400, 1721426 + 400);
				break;
			default:
				jd = rnd_range(r, 2415021, 2488070);
				break;
		}
		j2ymd(jd, &y, &m, &d);
		bc = (y <= 0);
		o = snprintf(buf, sizeof(buf), "%04" PRId64 "-%02d-%02d%c%02d:%02d:%02d",
					 bc ? 1 - y : y, m, d, rnd_below(r, 3) == 0 ? 'T' : ' ',
					 (int) rnd_below(r, 24), (int) rnd_below(r, 60),
					 (int) rnd_below(r, 60));
		nfrac = (int) rnd_below(r, 10);
		if (nfrac > 0)
		{
			buf[o++] = '.';
			for (k = 0; k < nfrac; k++)
				buf[o++] = (char) ('0' + rnd_below(r, 10));
			/* sometimes end in an exact half to test rint's tie */
			if (nfrac == 7 && rnd_below(r, 2) == 0)
				buf[o - 1] = '5';
		}
		if (tz)
		{
			int			hh = (int) rnd_below(r, 15),
						mm = (int) rnd_below(r, 4) * 15;
			char		sign = rnd_below(r, 2) ? '+' : '-';

			switch (rnd_below(r, 6))
			{
				case 0:
					o += snprintf(buf + o, sizeof(buf) - (size_t) o, "Z");
					break;
				case 1:
					o += snprintf(buf + o, sizeof(buf) - (size_t) o, "%c%02d", sign, hh);
					break;
				case 2:
					o += snprintf(buf + o, sizeof(buf) - (size_t) o, "%c%02d%02d", sign, hh, mm);
					break;
				case 3:
					o += snprintf(buf + o, sizeof(buf) - (size_t) o, " %c%02d:%02d", sign, hh, mm);
					break;
				case 4:
					o += snprintf(buf + o, sizeof(buf) - (size_t) o, " UTC");
					break;
				default:
					o += snprintf(buf + o, sizeof(buf) - (size_t) o, "%c%02d:%02d", sign, hh, mm);
					break;
			}
		}
		else if (rnd_below(r, 10) == 0)
			o += snprintf(buf + o, sizeof(buf) - (size_t) o, "+%02d", (int) rnd_below(r, 15));	/* ignored */
		if (bc)
			o += snprintf(buf + o, sizeof(buf) - (size_t) o, " BC");
		add_key(kl, buf, (size_t) o);
	}
}

static void
gen_timestamp(keylist *kl, rng *r)
{
	gen_timestamp_common(kl, r, false);
}

static void
gen_timestamptz(keylist *kl, rng *r)
{
	gen_timestamp_common(kl, r, true);
}

/* Decimal text of random shape; maxint/maxfrac bound the digit counts. */
static size_t
rand_decimal(rng *r, char *buf, int maxint, int maxfrac)
{
	size_t		o = 0;
	int			nint = (int) rnd_below(r, (uint64_t) maxint + 1),
				nfrac = (int) rnd_below(r, (uint64_t) maxfrac + 1),
				k;

	if (rnd_below(r, 2))
		buf[o++] = '-';
	else if (rnd_below(r, 8) == 0)
		buf[o++] = '+';
	if (nint == 0 && nfrac == 0)
		nint = 1;
	for (k = 0; k < nint; k++)
		buf[o++] = (char) ('0' + (rnd_below(r, 4) == 0 ? 0 : rnd_below(r, 10)));
	if (nfrac > 0 || rnd_below(r, 10) == 0)
	{
		buf[o++] = '.';
		for (k = 0; k < nfrac; k++)
			buf[o++] = (char) ('0' + (rnd_below(r, 4) == 0 ? 0 : rnd_below(r, 10)));
	}
	buf[o] = '\0';
	return o;
}

static void
gen_numeric(keylist *kl, rng *r)
{
	static const char *const fixed[] = {
		"0", "-0", "0.000", "0e5", "00000", ".0", "NaN", "nan", "Infinity",
		"-Infinity", "inf", "-inf", "+Infinity", "1", "-1", "10", "100",
		"1000", "10000", "10000.0001", "0.0001", "-0.0001", "1e-20", "1E+20",
		"3.14159265358979323846", "123456789012345678901234567890", "99999999",
		".5", "5.", " 42.5 ", "1e1000", "1e-1000", "1.5e-3", "12345e-2",
		"1e131071", "1e-16383", "9999.9999", "0.00000001", "1e-16000"
	};
	char		buf[4096];
	size_t		i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_key(kl, fixed[i], strlen(fixed[i]));
	for (i = 0; i < NKEYS; i++)
	{
		size_t		n;

		switch (rnd_below(r, 6))
		{
			case 0:
				n = rand_decimal(r, buf, 200, 200);
				break;
			case 1:
				n = rand_decimal(r, buf, 12, 12);
				n += (size_t) snprintf(buf + n, sizeof(buf) - n, "e%d",
									   (int) rnd_range(r, -400, 400));
				break;
			case 2:
				if (rnd_below(r, 50) == 0)
					n = rand_decimal(r, buf, 1500, 1500);
				else
					n = rand_decimal(r, buf, 30, 30);
				break;
			default:
				n = rand_decimal(r, buf, 9, 4);
				break;
		}
		add_key(kl, buf, n);
	}
}

/* numeric(12,3): at most 9 integer digits after rounding to 3 decimals */
static void
gen_numeric_12_3(keylist *kl, rng *r)
{
	static const char *const fixed[] = {
		"0.0005", "-0.0005", "0.00049", "999999999.9994", "-999999999.9994",
		"0.9995", "1.0005", "NaN", "0", "12.3456789", "1e-10", "5e-4"
	};
	char		buf[128];
	size_t		i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_key(kl, fixed[i], strlen(fixed[i]));
	for (i = 0; i < NKEYS; i++)
	{
		size_t		n = rand_decimal(r, buf, (int) rnd_below(r, 9), 7);

		add_key(kl, buf, n);
	}
}

/* numeric(5,-2): rounds to hundreds, |v| < 10^7 */
static void
gen_numeric_5_m2(keylist *kl, rng *r)
{
	static const char *const fixed[] = {
		"149", "150", "-150", "49.999", "50", "9999949", "-9999949", "0.5",
		"NaN"
	};
	char		buf[128];
	size_t		i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_key(kl, fixed[i], strlen(fixed[i]));
	for (i = 0; i < NKEYS; i++)
	{
		size_t		n = rand_decimal(r, buf, (int) rnd_below(r, 7), 4);

		add_key(kl, buf, n);
	}
}


/* ----------------------------------------------------------------------
 * Probes: inputs checked one by one, accept/reject and route.
 * ----------------------------------------------------------------------
 */

static const char *const probes_int[] = {
	"0", "-0", "+0", " 42 ", "\t42\n", "0042", "-2147483648", "2147483647",
	"2147483648", "-2147483649", "32767", "32768", "-32768", "-32769",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808",
	"-9223372036854775809", "1_000", "1__000", "_1000", "1000_", "0x1F",
	"0X1f", "-0x80000000", "0x", "0o17", "0b101", "0b", "0x_1F", "0b_1",
	"0o_7", "1e3", "1.0", "", " ", "abc", "12abc", "99999999999999999999x",
	"--1", "+-1", "- 1", "1 2", "0x7FFFFFFFFFFFFFFF", "0x8000000000000000",
	"-0x8000000000000000", "0x7fff", "-0x8000", "0b1111111111111111",
	"1_2_3", "0x1_F", NULL
};

static const char *const probes_bool[] = {
	"t", "f", "true", "false", "TRUE", "False", "tr", "tru", "fa", "y", "ye",
	"yes", "n", "no", "on", "of", "off", "o", "1", "0", " t ", "t\n", "yes ",
	"tx", "2", "", "on ", "OFF", "truex", "nn", "01", " ", "yess", NULL
};

static const char *const probes_text[] = {
	"", " ", "a", "\xc3\xa9", "\\", "a\\b", "\t", "x ", NULL
};

static const char *const probes_uuid[] = {
	"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
	"a0eebc999c0b4ef8bb6d6bb9bd380a11",
	"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
	"{a0eebc999c0b4ef8bb6d6bb9bd380a11}",
	"a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
	"a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11",
	" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ",
	"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
	"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
	"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
	"a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
	"a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
	"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
	"g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	"", "{}", NULL
};

static const char *const probes_bytea[] = {
	"\\x", "\\x00", "\\xDEADbeef", "\\x de ad", "\\x0", "\\xzz", "\\X00",
	"abc", "a\\\\b", "\\001\\377", "\\400", "\\", "\\x\n00", "\\x0 0",
	"\\x00 ", " \\x00", "\\12", "\\1234", "a\\", "\\\\\\", "", NULL
};

static const char *const probes_date[] = {
	"2024-01-15", " 2024-01-15 ", "2024-1-5", "2024/01/15", "2024.01.15",
	"20240115", "240115", "2024-02-29", "2023-02-29", "2024-13-01",
	"2024-00-10", "2024-01-32", "2024-01-00", "0001-01-01", "0000-01-01",
	"0001-01-01 BC", "0000-01-01 BC", "4713-01-01 BC", "4714-11-24 BC",
	"4714-11-23 BC", "5874897-12-31", "5874898-01-01", "infinity",
	"-infinity", "+infinity", "epoch", "today", "now", "tomorrow",
	"2024-01-15 10:00:00", "2024-01-15T10:00:00Z", "2024-01-15 24:00:00",
	"2024-01-15 25:00:00", "2024-01-15+05", "Jan 15 2024", "01/15/2024",
	"15.01.2024", "24-01-15", "2024-015", "2024-001-15", "J2460325",
	"2024-01-15 BC", "2024-01-15 AD", "2024-01-15 bc bc", "2024-01-15 ad bc",
	"2024-01-15 allballs", "2024-01-15 10:00 PST",
	"2024-01-15 10:00:00 Europe/Madrid", "2024-01-15 10:00:00.1234567",
	"2024--01--15", "2024-01-15-", "2024-01-15 T 10:00", "2024-01-15T",
	"20240115T103000", "2024-01-15 10:30.5", "2024-01-15 10:", "",
	"2024-01-15 10:00:00+16", "2024-01-15 10:00:00+15:60", "2024-01-15 x",
	"2024-01-15, 10:00", "2024-01-15 (10:00)", "epoch 2024-01-15",
	"2147483647-01-01", "99999999999-01-01", "2024-99999999999-01",
	"2024-01-15 10:00:00.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
	"2024-01-15 10:00:00.00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
	"0005-02-29 BC", "0004-02-29 BC", "1900-02-29", "2000-02-29", NULL
};

static const char *const probes_timestamp[] = {
	"2024-01-15 10:00:00", "2024-01-15T10:00:00", "2024-01-15t10:00:00",
	"2024-01-15 10:00", "2024-01-15", "2024-01-15 10:00:00.5",
	"2024-01-15 10:00:00.123456", "2024-01-15 10:00:00.1234565",
	"2024-01-15 10:00:00.1234575", "2024-01-15 10:00:00.9999995",
	"2024-01-15 23:59:59.9999995", "2024-01-15 23:59:60",
	"2024-01-15 23:59:60.5", "2024-12-31 24:00:00", "2024-01-15 24:00:01",
	"2024-01-15 10:60:00", "2024-01-15 10:00:61", "2024-01-15 10:00:00+02",
	"2024-01-15 10:00:00 -05:30", "2024-01-15 10:00:00Z",
	"2024-01-15 10:00:00 UTC", "2024-01-15 10:00:00+16",
	"2024-01-15 10:00:00+15:59", "2024-01-15 10:00:00+05:60",
	"2024-01-15 10:00:00+0530", "2024-01-15 10:00:00+530",
	"2024-01-15 10:00:00+05:30:45", "2024-01-15 10:00:00+5",
	"2024-01-15 10:00:00-", "2024-01-15 10:00:00+02 BC",
	"294276-12-31 23:59:59.999999", "294277-01-01 00:00:00",
	"4714-11-24 00:00:00 BC", "4714-11-23 23:59:59 BC", "infinity",
	"-infinity", "+infinity", "epoch", "now", "today", "allballs",
	"2024-01-15 10:00:00.", "2024-01-15 10:30.5", "2024-01-15 10:",
	"2024-01-15 10::30", "2024-01-15 10:00:00.5.5", "2024-01-15 10:00:00:00",
	"2024-01-15 1:2:3", "2024-01-15 010:00:00",
	"2024-01-15 10:00:00.12345678901234567890",
	"2024-01-15 10:00:00.0000005", "2024-01-15 10:00:00.0000015",
	"2024-01-15 10:00:00.000000500000000000001",
	"2024-01-15 10:00:00.00000049999999999999999999",
	"2024-01-15 10:00:00.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
	"2024-01-15 10:00:00.00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
	"2024-01-15 10:00:00 America/New_York", "2024-01-15 10:00:00 EST",
	"2024-01-15 10:00:00 +02:00", "2024-01-15 10:00:00+ 02",
	"2024-01-15 10:00 am", "2024-01-15 10:00:00 UTC+2",
	"2024-01-15 10:00:00+02:00:00:00", "2024-01-15 10:00:00+02.5",
	"2024-01-15 10:00:00+02-30", "2024-01-15 10:00:00+02:-30",
	"2024-01-15 10:00:00+02:", "2024-01-15 10:00:00 z", "2024-01-15 10:00:00 Zulu",
	"2024-01-15 10:00:00 gmt", "2024-01-15 10:00:00 UT",
	"2024-01-15 10:00:00+00 +01", "2024-01-15 10:00:00 Z Z",
	"20240115 103000", "20240115T103000", "2024-01-15 T10:00",
	"2024-01-15 10:00:00,5", "2024-01-15 24:00:00.000001",
	"1999-12-31 23:59:59.999999-05:30", "", " ", "x", NULL
};

static const char *const probes_numeric[] = {
	"0", "-0", "0.000", "0e5", "0e-20000", "1e-20000", "1e131071", "1e131072",
	"1e-16383", "1e-16384", "NaN", "nan", "+NaN", "-NaN", "Infinity",
	"-Infinity", "+inf", "inf", "-inf", "infinity", "Inf ", " 12.5 ", "12.",
	".5", ".", "-.5", "1.2.3", "1e", "1e+", "1e5", "1E-5", "1e 5", "1_000.5",
	"1_000._5", "1._5", "1_.5", "1.5_5", "1e1_0", "0x1F", "-0x1F",
	"0xFFFFFFFFFFFFFFFF", "0x10000000000000000", "0b1010", "0o777", "0x",
	"0x_F", "12abc", "", "  ", "1.5e3x", "1e2147483647", "1e1073741823",
	"1e1073741824", "0e1073741823", "-1e-1073741823", "NaNx", "Infinityx",
	"infin", "1e-05", "000123.45000", "1e+0", "+.5e+2", "99999999999999999999999999999999999999999",
	"0.00000000000000000000000000000000000000000000000000000000000001", NULL
};

static const char *const probes_numeric_12_3[] = {
	"0.0005", "-0.0005", "0.00049", "999999999.9995", "999999999.9994",
	"1e9", "-1e9", "NaN", "Infinity", "-inf", "0.99949", "99999.99950",
	"1e-10", "123456789.123456", "0x1F", NULL
};

static const char *const probes_numeric_5_m2[] = {
	"149", "150", "-150", "9999949", "9999950", "-9999950", "0.5", "49.999",
	"50", "NaN", "Infinity", "1e7", "99999.5", NULL
};

static const char *const probes_varchar10[] = {
	"abc", "abcdefghij", "abcdefghijk", "abcdefghij   ", "abcdefghijk  ",
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 ",
	"a         b", "", "          ", "           ", NULL
};

static const char *const probes_char12[] = {
	"abc", "abcdefghijkl", "abcdefghijklm", "abcdefghijkl   ",
	"abcdefghijklm  ", "", "            ", "              ", NULL
};


/* ----------------------------------------------------------------------
 * The types under test
 * ----------------------------------------------------------------------
 */

typedef struct oracle_type
{
	const char *label;
	const char *sqltype;
	pgmm_keytype type;
	void		(*gen) (keylist *, rng *);
	const char *hashexpr;		/* SQL for the extended hash of column k */
	const char *const *probes;
} oracle_type;

#define SEEDSQL "8816678312871386365"

/*
 * timestamptz hashes with hashint8extended of its microseconds since
 * 2000-01-01 UTC.  SQL offers no cast that keeps the raw value for every
 * stored value (k::timestamp refuses a timestamptz(p) rounded one past the
 * end of the range, and extract(epoch FROM k) loses a microsecond there),
 * so rebuild it from the exact interval since 2000-01-01.
 */
#define TSTZ_HASH \
	"hashint8extended(CASE WHEN k = 'infinity' THEN 9223372036854775807 " \
	"WHEN k = '-infinity' THEN -9223372036854775808 " \
	"ELSE (extract(epoch FROM k - timestamptz '2000-01-01 00:00:00+00') " \
	"* 1000000)::int8 END, " SEEDSQL ")"

static const oracle_type types[] = {
	{"bool", "bool", PGMM_KEY_BOOL, gen_bool,
	"hashcharextended((k::int)::\"char\", " SEEDSQL ")", probes_bool},
	{"int2", "int2", PGMM_KEY_INT2, gen_int2,
	"hashint2extended(k, " SEEDSQL ")", probes_int},
	{"int4", "int4", PGMM_KEY_INT4, gen_int4,
	"hashint4extended(k, " SEEDSQL ")", probes_int},
	{"int8", "int8", PGMM_KEY_INT8, gen_int8,
	"hashint8extended(k, " SEEDSQL ")", probes_int},
	{"text", "text", PGMM_KEY_TEXT, gen_text,
	"hashtextextended(k, " SEEDSQL ")", probes_text},
	{"varchar", "varchar", PGMM_KEY_VARCHAR, gen_text,
	"hashtextextended(k::text, " SEEDSQL ")", probes_text},
	{"bpchar", "bpchar", PGMM_KEY_BPCHAR, gen_text,
	"hashbpcharextended(k, " SEEDSQL ")", probes_text},
	{"uuid", "uuid", PGMM_KEY_UUID, gen_uuid,
	"uuid_hash_extended(k, " SEEDSQL ")", probes_uuid},
	{"bytea", "bytea", PGMM_KEY_BYTEA, gen_bytea, NULL, probes_bytea},
	{"date", "date", PGMM_KEY_DATE, gen_date,
		"hashint4extended(CASE WHEN k = 'infinity' THEN 2147483647 "
		"WHEN k = '-infinity' THEN -2147483648 "
	"ELSE k - date '2000-01-01' END, " SEEDSQL ")", probes_date},
	{"timestamp", "timestamp", PGMM_KEY_TIMESTAMP, gen_timestamp,
	"timestamp_hash_extended(k, " SEEDSQL ")", probes_timestamp},
	{"timestamptz", "timestamptz", PGMM_KEY_TIMESTAMPTZ, gen_timestamptz,
	TSTZ_HASH, probes_timestamp},
	{"numeric", "numeric", PGMM_KEY_NUMERIC, gen_numeric,
	"hash_numeric_extended(k, " SEEDSQL ")", probes_numeric},
	/* type modifiers change the stored value, hence the hash */
	{"numeric(12,3)", "numeric(12,3)", PGMM_KEY_NUMERIC, gen_numeric_12_3,
	"hash_numeric_extended(k, " SEEDSQL ")", probes_numeric_12_3},
	{"numeric(5,-2)", "numeric(5,-2)", PGMM_KEY_NUMERIC, gen_numeric_5_m2,
	"hash_numeric_extended(k, " SEEDSQL ")", probes_numeric_5_m2},
	{"timestamp(0)", "timestamp(0)", PGMM_KEY_TIMESTAMP, gen_timestamp,
	"timestamp_hash_extended(k, " SEEDSQL ")", probes_timestamp},
	{"timestamptz(3)", "timestamptz(3)", PGMM_KEY_TIMESTAMPTZ, gen_timestamptz,
	TSTZ_HASH, probes_timestamp},
	{"varchar(10)", "varchar(10)", PGMM_KEY_VARCHAR, gen_varchar10,
	"hashtextextended(k::text, " SEEDSQL ")", probes_varchar10},
	{"char(12)", "char(12)", PGMM_KEY_BPCHAR, gen_char12,
	"hashbpcharextended(k, " SEEDSQL ")", probes_char12},
};


/* ----------------------------------------------------------------------
 * Server plumbing
 * ----------------------------------------------------------------------
 */

static PGconn *conn;

static void
die_res(const char *what, PGresult *res)
{
	fprintf(stderr, "hash_oracle: %s: %s", what,
			res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	exit(2);
}

static void
exec_ok(const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		PQresultStatus(res) != PGRES_TUPLES_OK)
		die_res(sql, res);
	PQclear(res);
}

static void
execf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void
execf(const char *fmt,...)
{
	char		sql[2048];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	exec_ok(sql);
}

/* Partitioned table s.<name> (id, k) with one leaf per remainder */
static void
create_table(const char *name, const char *sqltype, int modulus)
{
	execf("DROP TABLE IF EXISTS " SCHEMA ".%s", name);
	execf("CREATE TABLE " SCHEMA ".%s (id int4 NOT NULL, k %s) PARTITION BY HASH (k)",
		  name, sqltype);
	execf("DO $$BEGIN FOR r IN 0..%d LOOP "
		  "EXECUTE format('CREATE TABLE " SCHEMA ".%s_%%s PARTITION OF " SCHEMA ".%s "
		  "FOR VALUES WITH (MODULUS %d, REMAINDER %%s)', r, r); END LOOP; END$$",
		  modulus - 1, name, name, modulus);
}

static int32_t
column_typmod(const char *table)
{
	char		sql[512];
	PGresult   *res;
	int32_t		typmod;

	snprintf(sql, sizeof(sql),
			 "SELECT atttypmod FROM pg_attribute WHERE attrelid = '" SCHEMA ".%s'::regclass AND attname = 'k'",
			 table);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		die_res(sql, res);
	typmod = (int32_t) atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return typmod;
}

/* COPY text-format escaping of one key */
static size_t
copy_escape(const char *s, size_t len, char *out)
{
	size_t		i,
				o = 0;

	for (i = 0; i < len; i++)
	{
		switch (s[i])
		{
			case '\\':
				out[o++] = '\\';
				out[o++] = '\\';
				break;
			case '\n':
				out[o++] = '\\';
				out[o++] = 'n';
				break;
			case '\r':
				out[o++] = '\\';
				out[o++] = 'r';
				break;
			case '\t':
				out[o++] = '\\';
				out[o++] = 't';
				break;
			default:
				out[o++] = s[i];
		}
	}
	return o;
}

/* Load the keys flagged in 'load' with COPY; false if the server refused. */
static bool
copy_keys(const char *table, const keylist *kl, const bool *load,
		  char *errbuf, size_t errlen)
{
	char		sql[256];
	PGresult   *res;
	size_t		i;
	char	   *line = NULL;
	size_t		linecap = 0;
	bool		ok;

	snprintf(sql, sizeof(sql), "COPY " SCHEMA ".%s (id, k) FROM STDIN", table);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		die_res(sql, res);
	PQclear(res);
	for (i = 0; i < kl->n; i++)
	{
		size_t		need = 2 * kl->len[i] + 32,
					o;

		if (!load[i])
			continue;
		if (need > linecap)
		{
			linecap = need;
			line = xrealloc(line, linecap);
		}
		o = (size_t) snprintf(line, linecap, "%zu\t", i);
		o += copy_escape(kl->v[i], kl->len[i], line + o);
		line[o++] = '\n';
		if (PQputCopyData(conn, line, (int) o) != 1)
			die_res("PQputCopyData", NULL);
	}
	free(line);
	if (PQputCopyEnd(conn, NULL) != 1)
		die_res("PQputCopyEnd", NULL);
	res = PQgetResult(conn);
	ok = (PQresultStatus(res) == PGRES_COMMAND_OK);
	if (!ok)
		snprintf(errbuf, errlen, "%s", PQresultErrorMessage(res));
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	return ok;
}

/* The remainder is the suffix of the leaf partition's name. */
static int
leaf_remainder(const char *relname)
{
	const char *u = strrchr(relname, '_');

	return u ? atoi(u + 1) : -1;
}


/* ----------------------------------------------------------------------
 * One type
 * ----------------------------------------------------------------------
 */

typedef struct client_result
{
	bool		ok;
	uint64_t	hash;
	char		err[256];
} client_result;

static int
report_mismatch(int *shown, const char *label, const keylist *kl, size_t i,
				const char *fmt,...) __attribute__((format(printf, 5, 6)));

static int
report_mismatch(int *shown, const char *label, const keylist *kl, size_t i,
				const char *fmt,...)
{
	char		pb[512],
				msg[512];
	va_list		ap;

	if ((*shown)++ >= SHOW_MAX && !verbose)
		return 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("  MISMATCH %s key '%s': %s\n", label,
		   printable(kl->v[i], kl->len[i], pb, sizeof(pb)), msg);
	return 1;
}

static long
run_type(int idx, const oracle_type *ot)
{
	keylist		kl = {0};
	rng			r;
	char		t64[64],
				t7[64],
				sql[1024],
				errbuf[1024];
	client_result *cr;
	bool	   *load,
			   *bad;
	int		   *srv64,
			   *srv7;
	int32_t		typmod;
	size_t		i,
				nkeys,
				nbad = 0,
				refused_both = 0;
	int			shown = 0,
				pass;
	PGresult   *res;

	r.s = UINT64_C(0x5EED0000) + (uint64_t) idx;
	ot->gen(&kl, &r);
	nkeys = kl.n;

	snprintf(t64, sizeof(t64), "k%02d_m64", idx);
	snprintf(t7, sizeof(t7), "k%02d_m7", idx);
	create_table(t64, ot->sqltype, 64);
	create_table(t7, ot->sqltype, 7);
	typmod = column_typmod(t64);

	cr = xmalloc(nkeys * sizeof(*cr));
	load = xmalloc(nkeys * sizeof(bool));
	bad = xmalloc(nkeys * sizeof(bool));
	srv64 = xmalloc(nkeys * sizeof(int));
	srv7 = xmalloc(nkeys * sizeof(int));
	for (i = 0; i < nkeys; i++)
	{
		cr[i].ok = pgmm_key_hash_text_typmod(ot->type, typmod, kl.v[i], kl.len[i],
											 &cr[i].hash, cr[i].err,
											 sizeof(cr[i].err)) == 0;
		load[i] = cr[i].ok;
		bad[i] = false;
		srv64[i] = srv7[i] = -1;
	}

	/*
	 * Keys the client refuses: the generators only make valid keys, so ask
	 * the server whether it takes them; if it does, that is a failure.
	 */
	for (i = 0; i < nkeys; i++)
	{
		const char *pv[1];
		int			pl[1],
					pf[1] = {0};

		if (cr[i].ok)
			continue;
		pv[0] = kl.v[i];
		pl[0] = (int) kl.len[i];
		snprintf(sql, sizeof(sql), "SELECT $1::%s", ot->sqltype);
		res = PQexecParams(conn, sql, 1, NULL, pv, pl, pf, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			bad[i] = report_mismatch(&shown, ot->label, &kl, i,
									 "client refused a key the server accepts: %s",
									 cr[i].err);
		else
			refused_both++;
		PQclear(res);
	}

	/* Load; if the server refuses a key we accepted, find it row by row. */
	for (pass = 0; pass < 2; pass++)
	{
		const char *tab = pass ? t7 : t64;

		if (!copy_keys(tab, &kl, load, errbuf, sizeof(errbuf)))
		{
			if (verbose)
				printf("  COPY into %s failed (%s), retrying row by row\n", tab, errbuf);
			for (i = 0; i < nkeys; i++)
			{
				const char *pv[2];
				char		idbuf[32];
				int			pl[2],
							pf[2] = {0, 0};

				if (!load[i])
					continue;
				snprintf(idbuf, sizeof(idbuf), "%zu", i);
				pv[0] = idbuf;
				pl[0] = (int) strlen(idbuf);
				pv[1] = kl.v[i];
				pl[1] = (int) kl.len[i];
				snprintf(sql, sizeof(sql), "INSERT INTO " SCHEMA ".%s (id, k) VALUES ($1, $2)", tab);
				res = PQexecParams(conn, sql, 2, NULL, pv, pl, pf, 0);
				if (PQresultStatus(res) != PGRES_COMMAND_OK)
				{
					if (!bad[i])
						bad[i] = report_mismatch(&shown, ot->label, &kl, i,
												 "client accepted a key the server refuses: %s",
												 PQresultErrorMessage(res));
					load[i] = false;
				}
				PQclear(res);
			}
		}
	}

	/* Where did the server put each key? */
	for (pass = 0; pass < 2; pass++)
	{
		int		   *dst = pass ? srv7 : srv64;
		int			row;

		snprintf(sql, sizeof(sql), "SELECT id, tableoid::regclass::text FROM " SCHEMA ".%s",
				 pass ? t7 : t64);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			die_res(sql, res);
		for (row = 0; row < PQntuples(res); row++)
		{
			size_t		id = (size_t) atol(PQgetvalue(res, row, 0));

			if (id < nkeys)
				dst[id] = leaf_remainder(PQgetvalue(res, row, 1));
		}
		PQclear(res);
	}
	for (i = 0; i < nkeys; i++)
	{
		uint32_t	c64,
					c7;

		if (!load[i] || bad[i])
			continue;
		c64 = pgmm_hash_remainder(cr[i].hash, 64);
		c7 = pgmm_hash_remainder(cr[i].hash, 7);
		if ((int) c64 != srv64[i] || (int) c7 != srv7[i])
			bad[i] = report_mismatch(&shown, ot->label, &kl, i,
									 "server remainders %d/%d (mod 64/7), client %u/%u",
									 srv64[i], srv7[i], c64, c7);
	}

	/* The stored values in binary send format must hash the same. */
	snprintf(sql, sizeof(sql), "SELECT id, k FROM " SCHEMA ".%s", t64);
	res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die_res(sql, res);
	for (int row = 0; row < PQntuples(res); row++)
	{
		const char *idp = PQgetvalue(res, row, 0);
		size_t		id = ((size_t) (unsigned char) idp[0] << 24) |
			((size_t) (unsigned char) idp[1] << 16) |
			((size_t) (unsigned char) idp[2] << 8) | (unsigned char) idp[3];
		uint64_t	h;
		char		err[256];

		if (id >= nkeys || bad[id])
			continue;
		if (pgmm_key_hash_binary_typmod(ot->type, typmod, 0, PQgetvalue(res, row, 1),
										(size_t) PQgetlength(res, row, 1), &h,
										err, sizeof(err)) != 0)
		{
			/*
			 * Refusing is right if the server would refuse the same bytes
			 * as a parameter (a timestamp(0) rounded past the last valid
			 * value is stored, but cannot be sent back).
			 */
			const char *pv[1] = {PQgetvalue(res, row, 1)};
			int			pl[1] = {PQgetlength(res, row, 1)},
						pf[1] = {1};
			Oid			ptypes[1] = {pgmm_keytype_oid(ot->type)};
			PGresult   *r2;

			snprintf(sql, sizeof(sql), "SELECT $1::%s", ot->sqltype);
			r2 = PQexecParams(conn, sql, 1, ptypes, pv, pl, pf, 0);
			if (PQresultStatus(r2) == PGRES_TUPLES_OK)
				bad[id] = report_mismatch(&shown, ot->label, &kl, id,
										  "binary form refused: %s", err);
			PQclear(r2);
		}
		else if (h != cr[id].hash)
			bad[id] = report_mismatch(&shown, ot->label, &kl, id,
									  "binary form hashes to %" PRId64 ", text to %" PRId64,
									  (int64_t) h, (int64_t) cr[id].hash);
	}
	PQclear(res);

	/* And the full 64-bit hash, where the server lets SQL call it. */
	if (ot->hashexpr != NULL)
	{
		snprintf(sql, sizeof(sql), "SELECT id, %s FROM " SCHEMA ".%s", ot->hashexpr, t64);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			die_res(sql, res);
		for (int row = 0; row < PQntuples(res); row++)
		{
			size_t		id = (size_t) atol(PQgetvalue(res, row, 0));
			int64_t		sh = strtoll(PQgetvalue(res, row, 1), NULL, 10);

			if (id >= nkeys || bad[id])
				continue;
			if ((uint64_t) sh != cr[id].hash)
				bad[id] = report_mismatch(&shown, ot->label, &kl, id,
										  "server hash %" PRId64 ", client %" PRId64,
										  sh, (int64_t) cr[id].hash);
		}
		PQclear(res);
	}

	for (i = 0; i < nkeys; i++)
		if (bad[i])
			nbad++;
	printf("hash_oracle: %s %zu keys, %zu mismatches\n", ot->label, nkeys, nbad);
	if (refused_both > 0 && verbose)
		printf("  (%zu generated keys refused by client and server alike)\n", refused_both);

	execf("DROP TABLE " SCHEMA ".%s", t64);
	execf("DROP TABLE " SCHEMA ".%s", t7);
	free(cr);
	free(load);
	free(bad);
	free(srv64);
	free(srv7);
	free_keys(&kl);
	return (long) nbad;
}

/*
 * Probes: one INSERT per input.  Client and server must agree on the
 * partition whenever both accept; disagreement on acceptance is reported.
 */
static long
run_probes(int idx, const oracle_type *ot)
{
	char		t64[64],
				sql[1024],
				pb[512];
	int32_t		typmod;
	int			n = 0,
				agree = 0,
				client_only = 0,
				server_only = 0,
				wrong = 0,
				i;

	snprintf(t64, sizeof(t64), "p%02d_m64", idx);
	create_table(t64, ot->sqltype, 64);
	typmod = column_typmod(t64);
	snprintf(sql, sizeof(sql),
			 "INSERT INTO " SCHEMA ".%s (id, k) VALUES (-1, $1) RETURNING tableoid::regclass::text, %s",
			 t64, ot->hashexpr ? ot->hashexpr : "0");

	for (i = 0; ot->probes[i] != NULL; i++)
	{
		const char *v = ot->probes[i];
		const char *pv[1] = {v};
		int			pl[1] = {(int) strlen(v)},
					pf[1] = {0};
		uint64_t	h = 0;
		char		err[256];
		bool		cok;
		PGresult   *res;

		n++;
		cok = pgmm_key_hash_text_typmod(ot->type, typmod, v, strlen(v), &h,
										err, sizeof(err)) == 0;
		res = PQexecParams(conn, sql, 1, NULL, pv, pl, pf, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
		{
			int			sr = leaf_remainder(PQgetvalue(res, 0, 0));
			int64_t		sh = strtoll(PQgetvalue(res, 0, 1), NULL, 10);

			if (!cok)
			{
				server_only++;
				if (verbose)
					printf("  probe %s '%s': refused by client (%s), server takes it\n",
						   ot->label, printable(v, strlen(v), pb, sizeof(pb)), err);
			}
			else if ((int) pgmm_hash_remainder(h, 64) != sr ||
					 (ot->hashexpr && (uint64_t) sh != h))
			{
				wrong++;
				printf("  WRONG probe %s '%s': server r64=%d hash=%" PRId64 ", client r64=%u hash=%" PRId64 "\n",
					   ot->label, printable(v, strlen(v), pb, sizeof(pb)), sr, sh,
					   pgmm_hash_remainder(h, 64), (int64_t) h);
			}
			else
				agree++;
		}
		else
		{
			if (cok)
			{
				client_only++;
				if (verbose)
					printf("  probe %s '%s': accepted by client only; server: %s",
						   ot->label, printable(v, strlen(v), pb, sizeof(pb)),
						   PQresultErrorMessage(res));
			}
			else
			{
				agree++;
				if (verbose)
					printf("  probe %s '%s': both refuse; client: %s\n",
						   ot->label, printable(v, strlen(v), pb, sizeof(pb)), err);
			}
		}
		PQclear(res);
		execf("DELETE FROM " SCHEMA ".%s", t64);
	}
	printf("hash_oracle: %s probes: %d inputs, %d agree, %d refused by client only, "
		   "%d accepted by client only, %d wrong\n",
		   ot->label, n, agree, server_only, client_only, wrong);
	execf("DROP TABLE " SCHEMA ".%s", t64);
	return wrong;
}

/* A SQL NULL key lands in remainder 0, whatever the modulus. */
static long
check_null_key(void)
{
	PGresult   *res;
	long		bad = 0;

	create_table("null_m7", "int4", 7);
	res = PQexec(conn, "INSERT INTO " SCHEMA ".null_m7 VALUES (1, NULL) RETURNING tableoid::regclass::text");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die_res("insert NULL key", res);
	if (leaf_remainder(PQgetvalue(res, 0, 0)) != PGMM_NULL_KEY_REMAINDER)
	{
		printf("  MISMATCH NULL key went to %s\n", PQgetvalue(res, 0, 0));
		bad = 1;
	}
	PQclear(res);
	printf("hash_oracle: NULL key 1 keys, %ld mismatches\n", bad);
	exec_ok("DROP TABLE " SCHEMA ".null_m7");
	return bad;
}

int
main(int argc, char **argv)
{
	long		mismatches = 0;
	const char *conninfo = NULL;
	int			i;
	PGresult   *res;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (conninfo == NULL)
			conninfo = argv[i];
		else
			conninfo = NULL, i = argc;
	}
	if (conninfo == NULL)
	{
		fprintf(stderr, "usage: hash_oracle CONNINFO [-v]\n");
		return 2;
	}
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "hash_oracle: cannot connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 2;
	}
	res = PQexec(conn, "SELECT current_setting('server_version'), current_setting('server_encoding')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die_res("version", res);
	printf("hash_oracle: server %s, encoding %s\n", PQgetvalue(res, 0, 0),
		   PQgetvalue(res, 0, 1));

	/*
	 * The generated text keys are UTF-8 and must reach the server
	 * unconverted; timestamptz::timestamp in the hash expressions must not
	 * shift the value.
	 */
	if (strcmp(PQgetvalue(res, 0, 1), "UTF8") != 0 &&
		strcmp(PQgetvalue(res, 0, 1), "SQL_ASCII") != 0)
	{
		fprintf(stderr, "hash_oracle: needs a UTF8 (or SQL_ASCII) database\n");
		PQclear(res);
		PQfinish(conn);
		return 2;
	}
	PQclear(res);
	exec_ok("SET client_encoding = 'UTF8'");
	exec_ok("SET TimeZone = 'UTC'");
	exec_ok("SET client_min_messages = warning");

	for (i = 0; i < (int) (sizeof(types) / sizeof(types[0])); i++)
	{
		mismatches += run_type(i, &types[i]);
		mismatches += run_probes(i, &types[i]);
		fflush(stdout);
	}
	mismatches += check_null_key();

	PQfinish(conn);
	printf("hash_oracle: %s\n", mismatches ? "FAILED" : "all keys routed as the server routes them");
	return mismatches ? 1 : 0;
}
