/*-------------------------------------------------------------------------
 *
 * pghash.c
 *	  PostgreSQL's hash-partition routing, reproduced bit for bit.
 *
 * The server routes a row of a table PARTITION BY HASH (k) with the key
 * type's "extended" hash support function and a fixed seed.  To send a
 * write straight to the master that owns the row, the client has to compute
 * the very same 64-bit value from the key as the application hands it over:
 * as text (a literal or a text-format parameter) or in binary send format.
 *
 * The file has two halves.  The hash functions themselves are small: Bob
 * Jenkins' lookup3 with PostgreSQL's seeding (src/common/hashfn.c) and the
 * per-type wrappers of src/backend/access/hash/hashfunc.c and friends.  The
 * delicate half is the parsers, which must turn a key into exactly the
 * datum the server's input function would build: two spellings of one
 * value must give one hash, and a spelling the server might read
 * differently from us must be refused rather than guessed.  Whatever cannot
 * be decided without the server (its TimeZone, its DateStyle, 'now') is an
 * error the caller can act on, never a silent misroute.
 *
 * Byte order: the server hashes the in-memory image of its data (lookup3
 * reads native 32-bit words, numeric digits are native int16s), so a
 * big-endian server computes other hashes.  We reproduce little-endian
 * servers (x86-64, arm64, ...) whatever the client's byte order.
 *
 * Text keys are hashed as the bytes the client sends; that equals the
 * server's bytes when client_encoding equals server_encoding (UTF8 for
 * both, normally).
 *
 * Pure logic: no allocation, no global mutable state, thread-safe.
 *
 *-------------------------------------------------------------------------
 */
#include "pghash.h"

#include <float.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED				PGMM_HASH_PARTITION_SEED

/* Longest key we accept: a PostgreSQL datum cannot exceed 1 GB. */
#define MAX_KEY_LEN			((size_t) 0x3FFFFFFB)

/* Calendar constants of src/include/datatype/timestamp.h */
#define POSTGRES_EPOCH_JDATE	2451545		/* date2j(2000, 1, 1) */
#define UNIX_EPOCH_JDATE		2440588		/* date2j(1970, 1, 1) */
#define DATE_END_JULIAN			2147483494	/* date2j(5874898, 1, 1) */
#define USECS_PER_SEC			INT64_C(1000000)
#define USECS_PER_DAY			INT64_C(86400000000)
#define MIN_TIMESTAMP			INT64_C(-211813488000000000)
#define END_TIMESTAMP			INT64_C(9223371331200000000)

/* Built-in type OIDs */
#define BOOLOID			16
#define BYTEAOID		17
#define INT8OID			20
#define INT2OID			21
#define INT4OID			23
#define TEXTOID			25
#define BPCHAROID		1042
#define VARCHAROID		1043
#define DATEOID			1082
#define TIMESTAMPOID	1114
#define TIMESTAMPTZOID	1184
#define NUMERICOID		1700
#define UUIDOID			2950

/* numeric's external sign words and limits (numeric.c) */
#define NUMERIC_POS			0x0000
#define NUMERIC_NEG			0x4000
#define NUMERIC_NAN			0xC000
#define NUMERIC_PINF		0xD000
#define NUMERIC_NINF		0xF000
#define NUMERIC_DSCALE_MAX	0x3FFF
#define NUMERIC_WEIGHT_MIN	(-32768)
#define NUMERIC_WEIGHT_MAX	32767
#define NBASE				10000

#define VARHDRSZ			4


/* ----------------------------------------------------------------------
 * Error reporting
 * ----------------------------------------------------------------------
 */

static int
report(char *err, size_t errlen, int code, const char *fmt,...)
	__attribute__((format(printf, 4, 5)));

/* Write a message into err (if the caller gave room for one); return code
 * (a PGMM_HASH_E* value, negative). */
static int
report(char *err, size_t errlen, int code, const char *fmt,...)
{
	if (err != NULL && errlen > 0)
	{
		va_list		ap;

		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

#define SHOW_BYTES 64

/*
 * A printable, bounded copy of a key for error messages: keys can be huge
 * or hold control bytes, and the message must stay one readable line.
 */
static const char *
show(char *buf, const char *val, size_t len)
{
	size_t		n = len,
				i;
	char	   *o = buf;

	if (n > SHOW_BYTES)
	{
		n = SHOW_BYTES;
		/* do not cut a UTF-8 character in half */
		while (n > 0 && ((unsigned char) val[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) val[i];

		*o++ = (c < 0x20 || c == 0x7F) ? '?' : (char) c;
	}
	if (n < len)
	{
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = '\0';
	return buf;
}

#define SHOWBUF_SIZE (SHOW_BYTES + 4)


/* ----------------------------------------------------------------------
 * Character classes of the C locale, which is what the server's input
 * functions effectively see for the ASCII bytes that matter here.
 * ----------------------------------------------------------------------
 */

static inline bool
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alpha(unsigned char c)
{
	unsigned char l = c | 0x20;

	return l >= 'a' && l <= 'z';
}

static inline bool
is_punct(unsigned char c)
{
	return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
		(c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

static inline int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Does [p, p+n) equal the lower-case word, ignoring ASCII case? */
static bool
word_eq(const unsigned char *p, size_t n, const char *word)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char c = p[i];

		if (word[i] == '\0')
			return false;
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		if (c != (unsigned char) word[i])
			return false;
	}
	return word[n] == '\0';
}


/* ----------------------------------------------------------------------
 * lookup3, as PostgreSQL seeds and finishes it
 * ----------------------------------------------------------------------
 */

typedef struct l3state
{
	uint32_t	a,
				b,
				c;
} l3state;

static inline uint32_t
rotl32(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

/* lookup3's reversible mixing of three words */
static inline void
l3_mix(l3state *s)
{
	uint32_t	a = s->a,
				b = s->b,
				c = s->c;

	a -= c;
	a ^= rotl32(c, 4);
	c += b;
	b -= a;
	b ^= rotl32(a, 6);
	a += c;
	c -= b;
	c ^= rotl32(b, 8);
	b += a;
	a -= c;
	a ^= rotl32(c, 16);
	c += b;
	b -= a;
	b ^= rotl32(a, 19);
	a += c;
	c -= b;
	c ^= rotl32(b, 4);
	b += a;
	s->a = a;
	s->b = b;
	s->c = c;
}

/* lookup3's final avalanche */
static inline void
l3_final(l3state *s)
{
	uint32_t	a = s->a,
				b = s->b,
				c = s->c;

	c ^= b;
	c -= rotl32(b, 14);
	a ^= c;
	a -= rotl32(c, 11);
	b ^= a;
	b -= rotl32(a, 25);
	c ^= b;
	c -= rotl32(b, 16);
	a ^= c;
	a -= rotl32(c, 4);
	b ^= a;
	b -= rotl32(a, 14);
	c ^= b;
	c -= rotl32(b, 24);
	s->a = a;
	s->b = b;
	s->c = c;
}

/*
 * Initial state for a key of len bytes.  A non-zero seed is folded in as
 * if it were one extra 12-byte block (high word into a, low word into b).
 */
static inline void
l3_init(l3state *s, uint32_t len, uint64_t seed)
{
	s->a = s->b = s->c = UINT32_C(0x9e3779b9) + len + UINT32_C(3923095);
	if (seed != 0)
	{
		s->a += (uint32_t) (seed >> 32);
		s->b += (uint32_t) seed;
		l3_mix(s);
	}
}

static inline uint32_t
load_le32(const unsigned char *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/*
 * Incremental hashing.  The server hashes one contiguous buffer, but some
 * keys (bytea, numeric) only exist in their hashed form after decoding;
 * decoding them in pieces keeps us free of allocation.  The total length
 * must be known up front because lookup3 mixes it into the initial state.
 */
typedef struct hashstream
{
	l3state		st;
	unsigned char pend[12];		/* bytes not yet folded in */
	unsigned int npend;
} hashstream;

static void
hs_init(hashstream *hs, size_t len, uint64_t seed)
{
	l3_init(&hs->st, (uint32_t) len, seed);
	hs->npend = 0;
}

static inline void
hs_block(hashstream *hs, const unsigned char *k)
{
	hs->st.a += load_le32(k);
	hs->st.b += load_le32(k + 4);
	hs->st.c += load_le32(k + 8);
	l3_mix(&hs->st);
}

static void
hs_feed(hashstream *hs, const unsigned char *p, size_t n)
{
	if (hs->npend > 0)
	{
		size_t		take = 12 - hs->npend;

		if (take > n)
			take = n;
		memcpy(hs->pend + hs->npend, p, take);
		hs->npend += (unsigned int) take;
		p += take;
		n -= take;
		if (hs->npend < 12)
			return;
		hs_block(hs, hs->pend);
		hs->npend = 0;
	}
	while (n >= 12)
	{
		hs_block(hs, p);
		p += 12;
		n -= 12;
	}
	memcpy(hs->pend, p, n);
	hs->npend = (unsigned int) n;
}

static uint64_t
hs_finish(hashstream *hs)
{
	const unsigned char *k = hs->pend;
	l3state    *s = &hs->st;

	/*
	 * The last 0..11 bytes go in little-endian order: bytes 0-3 into a,
	 * 4-7 into b, 8-10 into c shifted up one byte (c's low byte is
	 * lookup3's slot for the length, unused by this variant).
	 */
	switch (hs->npend)
	{
		case 11:
			s->c += (uint32_t) k[10] << 24;
			/* FALLTHROUGH */
		case 10:
			s->c += (uint32_t) k[9] << 16;
			/* FALLTHROUGH */
		case 9:
			s->c += (uint32_t) k[8] << 8;
			/* FALLTHROUGH */
		case 8:
			s->b += (uint32_t) k[7] << 24;
			/* FALLTHROUGH */
		case 7:
			s->b += (uint32_t) k[6] << 16;
			/* FALLTHROUGH */
		case 6:
			s->b += (uint32_t) k[5] << 8;
			/* FALLTHROUGH */
		case 5:
			s->b += k[4];
			/* FALLTHROUGH */
		case 4:
			s->a += (uint32_t) k[3] << 24;
			/* FALLTHROUGH */
		case 3:
			s->a += (uint32_t) k[2] << 16;
			/* FALLTHROUGH */
		case 2:
			s->a += (uint32_t) k[1] << 8;
			/* FALLTHROUGH */
		case 1:
			s->a += k[0];
			break;
		default:
			break;
	}
	l3_final(s);
	return ((uint64_t) s->b << 32) | s->c;
}

uint64_t
pgmm_hash_bytes_extended(const unsigned char *k, size_t len, uint64_t seed)
{
	hashstream	hs;

	hs_init(&hs, len, seed);
	if (len > 0)
		hs_feed(&hs, k, len);
	return hs_finish(&hs);
}

uint64_t
pgmm_hash_uint32_extended(uint32_t k, uint64_t seed)
{
	l3state		s;

	l3_init(&s, 4, seed);
	s.a += k;
	l3_final(&s);
	return ((uint64_t) s.b << 32) | s.c;
}

uint32_t
pgmm_hash_remainder(uint64_t hash, uint32_t modulus)
{
	/* modulus 0 is a caller bug; answer 0 rather than trap on it */
	if (modulus == 0)
		return 0;
	return (uint32_t) ((hash + PGMM_HASH_PARTITION_ADD) % modulus);
}


/* ----------------------------------------------------------------------
 * Per-type hashes of finished datums
 * ----------------------------------------------------------------------
 */

/* hashint2extended, hashint4extended, hashcharextended, date */
static inline uint64_t
hash_int4(int32_t v)
{
	return pgmm_hash_uint32_extended((uint32_t) v, SEED);
}

/*
 * hashint8extended: fold the high half into the low half so that a value
 * within int4 range hashes as it does as an int4 (cross-type hash joins).
 */
static inline uint64_t
hash_int8(int64_t v)
{
	uint32_t	lo = (uint32_t) v;
	uint32_t	hi = (uint32_t) ((uint64_t) v >> 32);

	lo ^= (v >= 0) ? hi : ~hi;
	return pgmm_hash_uint32_extended(lo, SEED);
}

/* hashtextextended with a deterministic collation, hashvarlenaextended */
static inline uint64_t
hash_bytes(const char *p, size_t len)
{
	return pgmm_hash_bytes_extended((const unsigned char *) p, len, SEED);
}

/* hashbpcharextended: trailing blanks are not significant for char(n) */
static uint64_t
hash_bpchar(const char *p, size_t len)
{
	while (len > 0 && p[len - 1] == ' ')
		len--;
	return hash_bytes(p, len);
}


/* ----------------------------------------------------------------------
 * Type names and OIDs
 * ----------------------------------------------------------------------
 */

typedef struct keytype_info
{
	pgmm_keytype type;
	const char *typname;		/* pg_type.typname */
	unsigned int oid;
	const char *errname;		/* as the input function names it */
} keytype_info;

static const keytype_info keytypes[] = {
	{PGMM_KEY_INVALID, NULL, 0, NULL},
	{PGMM_KEY_BOOL, "bool", BOOLOID, "boolean"},
	{PGMM_KEY_INT2, "int2", INT2OID, "smallint"},
	{PGMM_KEY_INT4, "int4", INT4OID, "integer"},
	{PGMM_KEY_INT8, "int8", INT8OID, "bigint"},
	{PGMM_KEY_TEXT, "text", TEXTOID, "text"},
	{PGMM_KEY_VARCHAR, "varchar", VARCHAROID, "character varying"},
	{PGMM_KEY_BPCHAR, "bpchar", BPCHAROID, "character"},
	{PGMM_KEY_UUID, "uuid", UUIDOID, "uuid"},
	{PGMM_KEY_BYTEA, "bytea", BYTEAOID, "bytea"},
	{PGMM_KEY_DATE, "date", DATEOID, "date"},
	{PGMM_KEY_TIMESTAMP, "timestamp", TIMESTAMPOID, "timestamp"},
	{PGMM_KEY_TIMESTAMPTZ, "timestamptz", TIMESTAMPTZOID,
	"timestamp with time zone"},
	{PGMM_KEY_NUMERIC, "numeric", NUMERICOID, "numeric"},
};

#define N_KEYTYPES ((int) (sizeof(keytypes) / sizeof(keytypes[0])))

/* SQL spellings besides the typnames */
static const struct
{
	const char *name;
	pgmm_keytype type;
}			keytype_aliases[] = {
	{"boolean", PGMM_KEY_BOOL},
	{"smallint", PGMM_KEY_INT2},
	{"integer", PGMM_KEY_INT4},
	{"int", PGMM_KEY_INT4},
	{"bigint", PGMM_KEY_INT8},
	{"character varying", PGMM_KEY_VARCHAR},
	{"character", PGMM_KEY_BPCHAR},
	/*
	 * Not "char": that SQL spelling means character(1), but the typname
	 * "char" is the internal one-byte type, which hashes differently.
	 */
	{"timestamp without time zone", PGMM_KEY_TIMESTAMP},
	{"timestamp with time zone", PGMM_KEY_TIMESTAMPTZ},
	{"decimal", PGMM_KEY_NUMERIC},
};

static inline bool
valid_keytype(pgmm_keytype t)
{
	return (int) t > 0 && (int) t < N_KEYTYPES;
}

pgmm_keytype
pgmm_keytype_from_name(const char *name)
{
	char		norm[64];
	size_t		n = 0;
	const unsigned char *p;
	int			i;
	bool		pending_space = false;

	if (name == NULL)
		return PGMM_KEY_INVALID;

	/*
	 * Lower-case and collapse blanks, so "Character  Varying" matches.  A
	 * type modifier ("numeric(10,2)") is deliberately not understood here:
	 * it changes the hash, so the caller must pass it separately.
	 */
	for (p = (const unsigned char *) name; *p; p++)
	{
		unsigned char c = *p;

		if (is_space(c))
		{
			pending_space = (n > 0);
			continue;
		}
		if (n + 2 >= sizeof(norm))
			return PGMM_KEY_INVALID;
		if (pending_space)
			norm[n++] = ' ';
		pending_space = false;
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		norm[n++] = (char) c;
	}
	norm[n] = '\0';

	p = (const unsigned char *) norm;
	if (strncmp(norm, "pg_catalog.", 11) == 0)
		p += 11;

	for (i = 1; i < N_KEYTYPES; i++)
		if (strcmp((const char *) p, keytypes[i].typname) == 0)
			return keytypes[i].type;
	for (i = 0; i < (int) (sizeof(keytype_aliases) / sizeof(keytype_aliases[0])); i++)
		if (strcmp((const char *) p, keytype_aliases[i].name) == 0)
			return keytype_aliases[i].type;
	return PGMM_KEY_INVALID;
}

const char *
pgmm_keytype_name(pgmm_keytype t)
{
	return valid_keytype(t) ? keytypes[t].typname : NULL;
}

unsigned int
pgmm_keytype_oid(pgmm_keytype t)
{
	return valid_keytype(t) ? keytypes[t].oid : 0;
}

pgmm_keytype
pgmm_keytype_from_oid(unsigned int oid)
{
	int			i;

	for (i = 1; i < N_KEYTYPES; i++)
		if (keytypes[i].oid == oid)
			return keytypes[i].type;
	return PGMM_KEY_INVALID;
}


/* ----------------------------------------------------------------------
 * Integers: pg_strtoint16/32/64 (PostgreSQL 16+ syntax, a superset of 15's:
 * 0x/0o/0b prefixes and '_' separators)
 * ----------------------------------------------------------------------
 */

typedef enum parse_status
{
	PARSE_OK = 0,
	PARSE_SYNTAX,
	PARSE_RANGE
} parse_status;

static parse_status
parse_int(const char *s, size_t len, int64_t minval, int64_t maxval,
		  int64_t *out)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;
	const unsigned char *first;
	uint64_t	acc = 0;
	uint64_t	negmax = (uint64_t) (-(minval + 1)) + 1;	/* |minval| */
	uint64_t	limit;
	unsigned int base = 10;
	bool		neg = false;

	if (p < end && *p == '-')
	{
		neg = true;
		p++;
	}

	/*
	 * Fast path: plain decimal digits to the end, the form nearly every
	 * key has.  Nineteen digits cannot overflow the accumulator.
	 */
	if (p < end && (size_t) (end - p) <= 18 && is_digit(*p))
	{
		const unsigned char *q = p;

		while (q < end && is_digit(*q))
			acc = acc * 10 + (unsigned int) (*q++ - '0');
		if (q == end)
			goto done;
		acc = 0;
	}

	/* General path: blanks, sign, 0x/0o/0b, '_' separators */
	p = (const unsigned char *) s;
	neg = false;
	while (p < end && is_space(*p))
		p++;
	if (p < end && (*p == '-' || *p == '+'))
		neg = (*p++ == '-');

	if (end - p >= 2 && p[0] == '0')
	{
		unsigned char x = p[1] | 0x20;

		if (x == 'x')
			base = 16;
		else if (x == 'o')
			base = 8;
		else if (x == 'b')
			base = 2;
		if (base != 10)
			p += 2;
	}

	/*
	 * Like the server, give up as soon as the magnitude cannot fit, before
	 * looking at what follows.
	 */
	limit = negmax / base;
	first = p;
	while (p < end)
	{
		int			d;

		if (*p == '_')
		{
			/* only between digits (right after a base prefix is fine) */
			if (base == 10 && p == first)
				return PARSE_SYNTAX;
			p++;
			if (p >= end)
				return PARSE_SYNTAX;
			d = hex_value(*p);
			if (d < 0 || (unsigned int) d >= base)
				return PARSE_SYNTAX;
			continue;
		}
		d = hex_value(*p);
		if (d < 0 || (unsigned int) d >= base)
			break;
		if (acc > limit)
			return PARSE_RANGE;
		acc = acc * base + (unsigned int) d;
		p++;
	}
	if (p == first)
		return PARSE_SYNTAX;
	while (p < end && is_space(*p))
		p++;
	if (p != end)
		return PARSE_SYNTAX;

done:
	if (neg)
	{
		if (acc > negmax)
			return PARSE_RANGE;
		*out = (acc == negmax) ? minval : -(int64_t) acc;
	}
	else
	{
		if (acc > (uint64_t) maxval)
			return PARSE_RANGE;
		*out = (int64_t) acc;
	}
	return PARSE_OK;
}

static int
text_int(pgmm_keytype t, const char *val, size_t len, uint64_t *hash,
		 char *err, size_t errlen)
{
	int64_t		minval,
				maxval,
				v = 0;
	parse_status st;
	char		sb[SHOWBUF_SIZE];

	switch (t)
	{
		case PGMM_KEY_INT2:
			minval = INT16_MIN;
			maxval = INT16_MAX;
			break;
		case PGMM_KEY_INT4:
			minval = INT32_MIN;
			maxval = INT32_MAX;
			break;
		default:
			minval = INT64_MIN;
			maxval = INT64_MAX;
			break;
	}
	st = parse_int(val, len, minval, maxval, &v);
	if (st == PARSE_SYNTAX)
		return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid input syntax for type %s: \"%s\"",
					  keytypes[t].errname, show(sb, val, len));
	if (st == PARSE_RANGE)
		return report(err, errlen, PGMM_HASH_ERANGE, "value \"%s\" is out of range for type %s",
					  show(sb, val, len), keytypes[t].errname);
	*hash = (t == PGMM_KEY_INT8) ? hash_int8(v) : hash_int4((int32_t) v);
	return 0;
}


/* ----------------------------------------------------------------------
 * bool (boolin / parse_bool_with_len)
 * ----------------------------------------------------------------------
 */

/* Is [p, p+n) a non-empty prefix of word (ASCII case ignored)? */
static bool
prefix_of(const unsigned char *p, size_t n, const char *word)
{
	size_t		i;

	if (n == 0 || n > strlen(word))
		return false;
	for (i = 0; i < n; i++)
	{
		unsigned char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		if (c != (unsigned char) word[i])
			return false;
	}
	return true;
}

static int
text_bool(const char *val, size_t len, uint64_t *hash, char *err,
		  size_t errlen)
{
	const unsigned char *p = (const unsigned char *) val;
	size_t		n = len;
	int			result = -1;
	char		sb[SHOWBUF_SIZE];

	while (n > 0 && is_space(*p))
	{
		p++;
		n--;
	}
	while (n > 0 && is_space(p[n - 1]))
		n--;

	/*
	 * true/false/yes/no and their unique prefixes, on/off (at least two
	 * letters, "o" alone is ambiguous), 1 and 0.
	 */
	if (n > 0)
	{
		switch (*p | 0x20)
		{
			case 't':
				if (prefix_of(p, n, "true"))
					result = 1;
				break;
			case 'f':
				if (prefix_of(p, n, "false"))
					result = 0;
				break;
			case 'y':
				if (prefix_of(p, n, "yes"))
					result = 1;
				break;
			case 'n':
				if (prefix_of(p, n, "no"))
					result = 0;
				break;
			case 'o':
				if (n >= 2 && prefix_of(p, n, "on"))
					result = 1;
				else if (n >= 2 && prefix_of(p, n, "off"))
					result = 0;
				break;
			default:
				if (n == 1 && *p == '1')
					result = 1;
				else if (n == 1 && *p == '0')
					result = 0;
				break;
		}
	}
	if (result < 0)
		return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid input syntax for type boolean: \"%s\"",
					  show(sb, val, len));
	*hash = hash_int4(result);
	return 0;
}


/* ----------------------------------------------------------------------
 * numeric
 *
 * hash_numeric_extended hashes the base-10000 digits (native int16s) that
 * remain after stripping leading and trailing zero digits, then XORs in the
 * weight (exponent of the first digit); sign and display scale do not
 * count.  NaN and the infinities hash to the seed, zero to seed - 1.
 *
 * A numeric may have ~150,000 decimal digits, so instead of building the
 * digit array we walk the decimal digits of the input twice: once to find
 * the first and last significant digits (which fixes the weight and the
 * hashed length), once to feed the base-10000 digits to the hash.  The
 * same walk serves the text form, the binary form (base-10000 digits) and
 * the typmod rounding numeric(p,s) applies.
 * ----------------------------------------------------------------------
 */

/* A run of decimal digits in decreasing powers of ten. */
typedef struct numsrc
{
	const unsigned char *txt;	/* text: digits, maybe with '.' and '_' */
	const unsigned char *bin;	/* or binary: big-endian int16 NBASE digits */
	int64_t		ndig;			/* number of decimal digits */
	int64_t		p0;				/* power of ten of digit 0 */
} numsrc;

typedef struct numcursor
{
	const numsrc *src;
	const unsigned char *tp;
	int64_t		idx;
} numcursor;

static void
numcursor_init(numcursor *c, const numsrc *src)
{
	c->src = src;
	c->tp = src->txt;
	c->idx = 0;
}

/* The next decimal digit; the caller never reads past src->ndig. */
static inline int
numcursor_next(numcursor *c)
{
	if (c->src->bin != NULL)
	{
		static const int div[4] = {1000, 100, 10, 1};
		int64_t		i = c->idx++;
		const unsigned char *d = c->src->bin + 2 * (i >> 2);
		int			v = (d[0] << 8) | d[1];

		return (v / div[i & 3]) % 10;
	}
	while (!is_digit(*c->tp))
		c->tp++;				/* skip '.' and '_' */
	c->idx++;
	return *c->tp++ - '0';
}

/* floor(x / 4) for any sign: the base-10000 group of a power of ten */
static inline int64_t
group_of(int64_t power)
{
	return (power >= 0) ? power / 4 : -((-power + 3) / 4);
}

typedef struct numopts
{
	bool		truncate;		/* drop digits below 10^-trunc_scale */
	int64_t		trunc_scale;
	bool		round;			/* round half away from zero at 10^-scale */
	int64_t		scale;
	int64_t		maxdigits;		/* integer digits allowed (with round) */
	int			precision;		/* for the message */
} numopts;

typedef enum numresult
{
	NUM_OK = 0,
	NUM_FIELD_OVERFLOW,			/* does not fit numeric(p,s) */
	NUM_FORMAT_OVERFLOW			/* weight beyond int16 */
} numresult;

/* Appends one NBASE digit to the hash, as the native (LE) int16 it is. */
static inline void
feed_nbase_digit(hashstream *hs, int v)
{
	unsigned char b[2];

	b[0] = (unsigned char) (v & 0xFF);
	b[1] = (unsigned char) (v >> 8);
	hs_feed(hs, b, 2);
}

static numresult
numeric_hash_digits(const numsrc *src, const numopts *o, uint64_t *hash)
{
	numcursor	cur;
	int64_t		keep = src->ndig - 1;	/* last index kept */
	int64_t		round_idx = -2;			/* index deciding a round-up */
	int64_t		first_nz = -1,
				last_nz = -1,
				last_non9 = -1,
				scan_to,
				first,
				last,
				q = 0,
				i,
				weight,
				last_group,
				cur_group;
	bool		roundup = false;
	int			cur_value;
	hashstream	hs;

	/*
	 * Index of the digit at power 10^k is p0 - k.  Binary input is first
	 * truncated to its dscale (numeric_recv), then typmod rounding looks at
	 * the first dropped digit, if the truncation left it in place.
	 */
	if (o->truncate && src->p0 + o->trunc_scale < keep)
		keep = src->p0 + o->trunc_scale;
	if (o->round)
	{
		int64_t		rkeep = src->p0 + o->scale;

		if (rkeep < keep)
		{
			round_idx = rkeep + 1;
			keep = rkeep;
		}
	}
	if (keep < -2)
		keep = -2;				/* nothing kept; keeps arithmetic small */

	scan_to = keep;
	if (round_idx > scan_to)
		scan_to = round_idx;
	numcursor_init(&cur, src);
	for (i = 0; i <= scan_to && i < src->ndig; i++)
	{
		int			d = numcursor_next(&cur);

		if (i <= keep)
		{
			if (d != 0)
			{
				if (first_nz < 0)
					first_nz = i;
				last_nz = i;
			}
			if (d != 9)
				last_non9 = i;
		}
		else if (i == round_idx)
			roundup = (d >= 5);
	}

	if (roundup)
	{
		/*
		 * Add one unit at index keep: the trailing nines become zeros and
		 * the digit before them goes up by one; if all kept digits are
		 * nines (or none is kept), a new leading 1 appears at index
		 * last_non9 == -1, i.e. at power p0 + 1.
		 */
		q = last_non9;
		if (q < 0)
			q = -1;
		first = (first_nz >= 0 && first_nz < q) ? first_nz : q;
		last = q;
	}
	else
	{
		if (first_nz < 0)
		{
			*hash = SEED - 1;	/* zero */
			return NUM_OK;
		}
		first = first_nz;
		last = last_nz;
	}

	weight = group_of(src->p0 - first);
	last_group = group_of(src->p0 - last);
	if (o->round && (src->p0 - first) + 1 > o->maxdigits)
		return NUM_FIELD_OVERFLOW;
	if (weight < NUMERIC_WEIGHT_MIN || weight > NUMERIC_WEIGHT_MAX)
		return NUM_FORMAT_OVERFLOW;

	hs_init(&hs, (size_t) (weight - last_group + 1) * 2, SEED);
	cur_group = weight;
	cur_value = 0;
	numcursor_init(&cur, src);
	for (i = 0; i < first; i++)
		(void) numcursor_next(&cur);
	for (i = first; i <= last; i++)
	{
		int64_t		power = src->p0 - i;
		int64_t		g = group_of(power);
		int			d;
		static const int mul[4] = {1, 10, 100, 1000};

		if (i < 0)
			d = 1;				/* the carry out of the top */
		else
		{
			d = numcursor_next(&cur);
			if (roundup && i == q)
				d++;
		}
		if (g != cur_group)
		{
			feed_nbase_digit(&hs, cur_value);
			cur_group = g;
			cur_value = 0;
		}
		cur_value += d * mul[power - 4 * g];
	}
	feed_nbase_digit(&hs, cur_value);

	*hash = hs_finish(&hs) ^ (uint64_t) weight;
	return NUM_OK;
}

/* Decode a numeric typmod; false if it carries no constraint. */
static bool
numeric_typmod_opts(int32_t typmod, numopts *o)
{
	int32_t		t;

	if (typmod < VARHDRSZ)
		return false;
	t = typmod - VARHDRSZ;
	o->round = true;
	o->precision = (t >> 16) & 0xFFFF;
	/* the scale is an 11-bit two's complement number (PostgreSQL 15+) */
	o->scale = ((t & 0x7FF) ^ 1024) - 1024;
	o->maxdigits = o->precision - o->scale;
	return true;
}

static int
numeric_result(numresult r, const numopts *o, const char *val, size_t len,
			   char *err, size_t errlen)
{
	char		sb[SHOWBUF_SIZE];

	if (r == NUM_FIELD_OVERFLOW)
		return report(err, errlen, PGMM_HASH_ERANGE,
					  "numeric field overflow: \"%s\" does not fit numeric(%d,%d)",
					  show(sb, val, len), o->precision, (int) o->scale);
	return report(err, errlen, PGMM_HASH_ERANGE, "value overflows numeric format: \"%s\"",
				  show(sb, val, len));
}

/* The decimal digits of an unsigned integer, written into buf[0..). */
static int
u64_to_digits(uint64_t v, unsigned char *buf)
{
	unsigned char tmp[24];
	int			n = 0,
				i;

	do
	{
		tmp[n++] = (unsigned char) ('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

static int
text_numeric(int32_t typmod, const char *val, size_t len, uint64_t *hash,
			 char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *) val;
	const unsigned char *end = p + len;
	const unsigned char *numstart;
	const unsigned char *mant;
	unsigned char intbuf[24];
	numopts		o;
	numsrc		src;
	numresult	r;
	bool		neg = false;
	int64_t		nint = 0,
				nfrac = 0,
				exponent = 0,
				dscale;
	char		sb[SHOWBUF_SIZE];

	memset(&o, 0, sizeof(o));
	(void) numeric_typmod_opts(typmod, &o);

	while (p < end && is_space(*p))
		p++;
	numstart = p;
	if (p < end && (*p == '+' || *p == '-'))
		neg = (*p++ == '-');
	(void) neg;					/* the sign is not hashed */

	if (p == end || (!is_digit(*p) && *p != '.'))
	{
		/* NaN (unsigned), [+-]Infinity, [+-]inf */
		size_t		rest = (size_t) (end - p);
		bool		nan = false;

		if ((size_t) (end - numstart) >= 3 &&
			word_eq(numstart, 3, "nan"))
		{
			p = numstart + 3;
			nan = true;
		}
		else if (rest >= 8 && word_eq(p, 8, "infinity"))
			p += 8;
		else if (rest >= 3 && word_eq(p, 3, "inf"))
			p += 3;
		else
			goto syntax;
		while (p < end && is_space(*p))
			p++;
		if (p != end)
			goto syntax;
		if (!nan && o.round)
			return report(err, errlen, PGMM_HASH_ERANGE,
						  "numeric field overflow: numeric(%d,%d) cannot hold an infinite value",
						  o.precision, (int) o.scale);
		*hash = SEED;
		return 0;
	}

	if (end - p >= 2 && p[0] == '0' &&
		((p[1] | 0x20) == 'x' || (p[1] | 0x20) == 'o' || (p[1] | 0x20) == 'b'))
	{
		/*
		 * PostgreSQL 16+ reads 0x/0o/0b integers.  Their decimal digits
		 * need big-number arithmetic, which we spare ourselves beyond 64
		 * bits: such keys are refused, not guessed.
		 */
		unsigned int base = ((p[1] | 0x20) == 'x') ? 16 :
			((p[1] | 0x20) == 'o') ? 8 : 2;
		const unsigned char *first;
		uint64_t	acc = 0;

		p += 2;
		first = p;
		while (p < end)
		{
			int			d = hex_value(*p);

			if (*p == '_')
			{
				p++;
				if (p >= end || (d = hex_value(*p)) < 0 || (unsigned int) d >= base)
					goto syntax;
				continue;
			}
			if (d < 0 || (unsigned int) d >= base)
				break;
			if (acc > (UINT64_MAX - (unsigned int) d) / base)
				return report(err, errlen, PGMM_HASH_ESYNTAX,
							  "numeric key \"%s\" is not supported: non-decimal literals beyond 64 bits",
							  show(sb, val, len));
			acc = acc * base + (unsigned int) d;
			p++;
		}
		if (p == first)
			goto syntax;
		while (p < end && is_space(*p))
			p++;
		if (p != end)
			goto syntax;
		src.txt = intbuf;
		src.bin = NULL;
		src.ndig = u64_to_digits(acc, intbuf);
		src.p0 = src.ndig - 1;
		r = numeric_hash_digits(&src, &o, hash);
		if (r != NUM_OK)
			return numeric_result(r, &o, val, len, err, errlen);
		return 0;
	}

	/* Decimal: digits, at most one '.', '_' between digits, exponent */
	mant = p;
	{
		bool		have_dp = false;

		if (*p == '.')
		{
			have_dp = true;
			p++;
		}
		if (p == end || !is_digit(*p))
			goto syntax;
		while (p < end)
		{
			if (is_digit(*p))
			{
				if (have_dp)
					nfrac++;
				else
					nint++;
				p++;
			}
			else if (*p == '.')
			{
				if (have_dp)
					goto syntax;
				have_dp = true;
				p++;
				if (p < end && *p == '_')
					goto syntax;
			}
			else if (*p == '_')
			{
				p++;
				if (p == end || !is_digit(*p))
					goto syntax;
			}
			else
				break;
		}
	}
	src.txt = mant;
	src.bin = NULL;
	src.ndig = nint + nfrac;

	if (p < end && (*p | 0x20) == 'e')
	{
		bool		eneg = false;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = (*p++ == '-');
		if (p == end || !is_digit(*p))
			goto syntax;
		while (p < end)
		{
			if (is_digit(*p))
			{
				exponent = exponent * 10 + (*p++ - '0');
				if (exponent > INT32_MAX / 2)
					return report(err, errlen, PGMM_HASH_ERANGE,
								  "value overflows numeric format: \"%s\"",
								  show(sb, val, len));
			}
			else if (*p == '_')
			{
				p++;
				if (p == end || !is_digit(*p))
					goto syntax;
			}
			else
				break;
		}
		if (eneg)
			exponent = -exponent;
	}
	while (p < end && is_space(*p))
		p++;
	if (p != end)
		goto syntax;

	src.p0 = nint - 1 + exponent;
	dscale = nfrac - exponent;
	if (dscale < 0)
		dscale = 0;

	r = numeric_hash_digits(&src, &o, hash);
	if (r == NUM_OK && !o.round && dscale > NUMERIC_DSCALE_MAX)
		r = NUM_FORMAT_OVERFLOW;
	if (r != NUM_OK)
		return numeric_result(r, &o, val, len, err, errlen);
	return 0;

syntax:
	return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid input syntax for type numeric: \"%s\"",
				  show(sb, val, len));
}

static inline unsigned int
load_be16(const unsigned char *p)
{
	return ((unsigned int) p[0] << 8) | p[1];
}

static inline uint32_t
load_be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

static inline uint64_t
load_be64(const unsigned char *p)
{
	return ((uint64_t) load_be32(p) << 32) | load_be32(p + 4);
}

/* numeric_recv: int16 ndigits, weight, sign, dscale, then the digits */
static int
binary_numeric(int32_t typmod, const unsigned char *p, size_t len,
			   uint64_t *hash, char *err, size_t errlen)
{
	unsigned int ndigits,
				sign,
				dscale,
				i;
	int			weight;
	numopts		o;
	numsrc		src;
	numresult	r;

	if (len < 8)
		return report(err, errlen, PGMM_HASH_ESYNTAX,
					  "invalid binary numeric: %zu bytes, need at least 8", len);
	ndigits = load_be16(p);
	weight = (int16_t) load_be16(p + 2);
	sign = load_be16(p + 4);
	dscale = load_be16(p + 6);
	if (len != 8 + 2 * (size_t) ndigits)
		return report(err, errlen, PGMM_HASH_ESYNTAX,
					  "invalid binary numeric: %zu bytes for %u digits", len, ndigits);
	if (sign != NUMERIC_POS && sign != NUMERIC_NEG && sign != NUMERIC_NAN &&
		sign != NUMERIC_PINF && sign != NUMERIC_NINF)
		return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid sign in external \"numeric\" value");
	if (dscale > NUMERIC_DSCALE_MAX)
		return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid scale in external \"numeric\" value");
	for (i = 0; i < ndigits; i++)
		if (load_be16(p + 8 + 2 * i) >= NBASE)
			return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid digit in external \"numeric\" value");

	memset(&o, 0, sizeof(o));
	(void) numeric_typmod_opts(typmod, &o);
	if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF)
	{
		if (sign != NUMERIC_NAN && o.round)
			return report(err, errlen, PGMM_HASH_ERANGE,
						  "numeric field overflow: numeric(%d,%d) cannot hold an infinite value",
						  o.precision, (int) o.scale);
		*hash = SEED;
		return 0;
	}

	o.truncate = true;
	o.trunc_scale = dscale;
	src.txt = NULL;
	src.bin = p + 8;
	src.ndig = 4 * (int64_t) ndigits;
	src.p0 = 4 * (int64_t) weight + 3;
	r = numeric_hash_digits(&src, &o, hash);
	if (r == NUM_FIELD_OVERFLOW)
		return report(err, errlen, PGMM_HASH_ERANGE,
					  "numeric field overflow: binary value does not fit numeric(%d,%d)",
					  o.precision, (int) o.scale);
	if (r == NUM_FORMAT_OVERFLOW)
		return report(err, errlen, PGMM_HASH_ERANGE, "value overflows numeric format");
	return 0;
}

/* An integer parameter for a numeric key: exact conversion. */
static int
int_as_numeric(int32_t typmod, int64_t v, uint64_t *hash, char *err,
			   size_t errlen)
{
	unsigned char buf[24];
	uint64_t	mag = (v < 0) ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
	numopts		o;
	numsrc		src;
	numresult	r;

	memset(&o, 0, sizeof(o));
	(void) numeric_typmod_opts(typmod, &o);
	src.txt = buf;
	src.bin = NULL;
	src.ndig = u64_to_digits(mag, buf);
	src.p0 = src.ndig - 1;
	r = numeric_hash_digits(&src, &o, hash);
	if (r != NUM_OK)
		return numeric_result(r, &o, (const char *) buf, (size_t) src.ndig,
							  err, errlen);
	return 0;
}


/* ----------------------------------------------------------------------
 * uuid (string_to_uuid): 32 hex digits, optionally in braces, with an
 * optional '-' after any group of four digits.  No blanks anywhere.
 * ----------------------------------------------------------------------
 */

static int
text_uuid(const char *val, size_t len, uint64_t *hash, char *err,
		  size_t errlen)
{
	const unsigned char *p = (const unsigned char *) val;
	const unsigned char *end = p + len;
	unsigned char u[16];
	bool		braces = false;
	int			i;
	char		sb[SHOWBUF_SIZE];

	if (p < end && *p == '{')
	{
		braces = true;
		p++;
	}
	for (i = 0; i < 16; i++)
	{
		int			hi,
					lo;

		if (end - p < 2 || (hi = hex_value(p[0])) < 0 || (lo = hex_value(p[1])) < 0)
			goto syntax;
		u[i] = (unsigned char) ((hi << 4) | lo);
		p += 2;
		if (p < end && *p == '-' && (i % 2) == 1 && i < 15)
			p++;
	}
	if (braces)
	{
		if (p == end || *p != '}')
			goto syntax;
		p++;
	}
	if (p != end)
		goto syntax;
	*hash = pgmm_hash_bytes_extended(u, 16, SEED);
	return 0;

syntax:
	return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid input syntax for type uuid: \"%s\"",
				  show(sb, val, len));
}


/* ----------------------------------------------------------------------
 * bytea (byteain): "\x" + hex pairs (blanks allowed between pairs), or the
 * traditional escape format (\\ and \ooo octal escapes, other bytes as is).
 * Decoded twice, to learn the length and then to hash, so a large value
 * never needs a buffer.
 * ----------------------------------------------------------------------
 */

static inline bool
is_hex_blank(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static inline bool
is_octal_escape(const unsigned char *p, const unsigned char *end)
{
	return end - p >= 4 && p[1] >= '0' && p[1] <= '3' &&
		p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7';
}

static int
text_bytea(const char *val, size_t len, uint64_t *hash, char *err,
		   size_t errlen)
{
	const unsigned char *start = (const unsigned char *) val;
	const unsigned char *end = start + len;
	const unsigned char *p;
	unsigned char buf[256];
	size_t		nbytes = 0,
				nb = 0;
	hashstream	hs;
	bool		hex = (len >= 2 && start[0] == '\\' && start[1] == 'x');

	/* pass 1: validate and count */
	if (hex)
	{
		for (p = start + 2; p < end;)
		{
			if (is_hex_blank(*p))
			{
				p++;
				continue;
			}
			if (hex_value(*p) < 0)
				goto badhex;
			if (p + 1 >= end)
				return report(err, errlen, PGMM_HASH_ESYNTAX,
							  "invalid hexadecimal data: odd number of digits");
			p++;
			if (hex_value(*p) < 0)
				goto badhex;
			p++;
			nbytes++;
		}
	}
	else
	{
		for (p = start; p < end; nbytes++)
		{
			if (*p != '\\')
				p++;
			else if (is_octal_escape(p, end))
				p += 4;
			else if (end - p >= 2 && p[1] == '\\')
				p += 2;
			else
				return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid input syntax for type bytea");
		}
	}

	/* pass 2: decode and hash */
	hs_init(&hs, nbytes, SEED);
	if (hex)
	{
		for (p = start + 2; p < end;)
		{
			if (is_hex_blank(*p))
			{
				p++;
				continue;
			}
			buf[nb++] = (unsigned char) ((hex_value(p[0]) << 4) | hex_value(p[1]));
			p += 2;
			if (nb == sizeof(buf))
			{
				hs_feed(&hs, buf, nb);
				nb = 0;
			}
		}
	}
	else
	{
		for (p = start; p < end;)
		{
			if (*p != '\\')
				buf[nb++] = *p++;
			else if (is_octal_escape(p, end))
			{
				buf[nb++] = (unsigned char) (((p[1] - '0') << 6) |
											 ((p[2] - '0') << 3) | (p[3] - '0'));
				p += 4;
			}
			else
			{
				buf[nb++] = '\\';
				p += 2;
			}
			if (nb == sizeof(buf))
			{
				hs_feed(&hs, buf, nb);
				nb = 0;
			}
		}
	}
	if (nb > 0)
		hs_feed(&hs, buf, nb);
	*hash = hs_finish(&hs);
	return 0;

badhex:
	if (*p < 0x20 || *p >= 0x7F)
		return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid hexadecimal digit: byte 0x%02x",
					  (unsigned int) *p);
	return report(err, errlen, PGMM_HASH_ESYNTAX, "invalid hexadecimal digit: \"%c\"", *p);
}


/* ----------------------------------------------------------------------
 * text, varchar, char(n)
 * ----------------------------------------------------------------------
 */

/*
 * Byte length of the first nchars UTF-8 characters of [p, p+len), or len
 * if there are fewer.  Character limits of varchar(n)/char(n) count
 * characters of the server encoding, which we take to be UTF8.
 */
static size_t
utf8_clip(const unsigned char *p, size_t len, size_t nchars)
{
	size_t		i,
				seen = 0;

	for (i = 0; i < len; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
		{
			if (seen == nchars)
				return i;
			seen++;
		}
	}
	return len;
}

static int
text_string(pgmm_keytype t, int32_t typmod, bool strip_trailing_blanks,
			const char *val, size_t len, uint64_t *hash, char *err,
			size_t errlen)
{
	if (memchr(val, '\0', len) != NULL)
		return report(err, errlen, PGMM_HASH_ESYNTAX,
					  "invalid byte sequence for encoding \"UTF8\": 0x00");

	/*
	 * A value for a char(n)/varchar(n) column is coerced to n characters
	 * before it is stored and routed: excess trailing blanks are cut, any
	 * other excess is an error.
	 */
	if ((t == PGMM_KEY_VARCHAR || t == PGMM_KEY_BPCHAR) && typmod >= VARHDRSZ)
	{
		size_t		maxchars = (size_t) (typmod - VARHDRSZ);
		size_t		clip = utf8_clip((const unsigned char *) val, len, maxchars);
		size_t		i;

		for (i = clip; i < len; i++)
			if (val[i] != ' ')
				return report(err, errlen, PGMM_HASH_ETOOLONG, "value too long for type %s(%zu)",
							  keytypes[t].errname, maxchars);
		len = clip;
	}

	if (t == PGMM_KEY_BPCHAR || strip_trailing_blanks)
		*hash = hash_bpchar(val, len);
	else
		*hash = hash_bytes(val, len);
	return 0;
}


/* ----------------------------------------------------------------------
 * date, timestamp, timestamptz
 *
 * The server's date/time input (ParseDateTime + DecodeDateTime) takes a
 * zoo of forms, several of which depend on session settings the client
 * does not know: DateStyle decides what 01/02/03 means, TimeZone what a
 * timestamptz without offset means, timezone_abbreviations what EST
 * means.  We accept the forms whose meaning is fixed: ISO 8601 dates with
 * a year of three or more digits (or compact YYYYMMDD), an optional time
 * after a blank or 'T', an optional numeric offset or Z/UTC/GMT, BC/AD,
 * and the special values epoch and [+-]infinity.  Tokenising follows the
 * server closely, so that malformed input fails here as it would there;
 * any other form is refused with a message saying so.
 * ----------------------------------------------------------------------
 */

typedef enum dtkind
{
	DT_DATE,
	DT_TIMESTAMP,
	DT_TIMESTAMPTZ
} dtkind;

typedef enum dterr
{
	DTE_OK = 0,
	DTE_BAD_FORMAT,				/* the server says: invalid input syntax */
	DTE_FIELD_OVERFLOW,			/* date/time field value out of range */
	DTE_TZDISP_OVERFLOW,		/* time zone displacement out of range */
	DTE_AMBIGUOUS,				/* meaning depends on DateStyle */
	DTE_UNSUPPORTED,			/* a form we do not interpret */
	DTE_NEEDS_SERVER			/* now, today, tomorrow, yesterday */
} dterr;

typedef enum dtspecial
{
	DTS_NONE = 0,
	DTS_EPOCH,
	DTS_LATE,					/* infinity */
	DTS_EARLY					/* -infinity */
} dtspecial;

typedef struct dtvalue
{
	dtspecial	special;
	int64_t		year,			/* astronomical: 1 BC is 0 */
				mon,
				mday;
	int64_t		hour,
				min,
				sec;
	int64_t		fsec;			/* microseconds */
	bool		have_tz;
	int64_t		tz;				/* seconds WEST of UTC, as the server keeps it */
} dtvalue;

typedef enum dttoken_type
{
	TK_NUMBER,
	TK_DATE,
	TK_TIME,
	TK_STRING,
	TK_TZ,
	TK_SPECIAL
} dttoken_type;

typedef struct dttoken
{
	dttoken_type type;
	const unsigned char *s;		/* the token (for TZ/SPECIAL: after sign) */
	size_t		len;
	unsigned char sign;			/* TZ/SPECIAL: '+' or '-' */
} dttoken;

#define MAXDATEFIELDS	25

/* The keywords of the server's datetktbl: they end a word early. */
static const char *const date_keywords[] = {
	"ad", "allballs", "am", "apr", "april", "at", "aug", "august", "bc", "d",
	"dec", "december", "dow", "doy", "dst", "epoch", "feb", "february", "fri",
	"friday", "h", "infinity", "isodow", "isoyear", "j", "jan", "january",
	"jd", "jul", "julian", "july", "jun", "june", "m", "mar", "march", "may",
	"mm", "mon", "monday", "nov", "november", "now", "oct", "october", "on",
	"pm", "s", "sat", "saturday", "sep", "sept", "september", "sun",
	"sunday", "t", "thu", "thur", "thurs", "thursday", "today", "tomorrow",
	"tue", "tues", "tuesday", "wed", "wednesday", "weds", "y", "yesterday",
};

static bool
is_date_keyword(const unsigned char *p, size_t n)
{
	size_t		i;

	for (i = 0; i < sizeof(date_keywords) / sizeof(date_keywords[0]); i++)
		if (word_eq(p, n, date_keywords[i]))
			return true;
	return false;
}

static inline bool
is_alnum(unsigned char c)
{
	return is_digit(c) || is_alpha(c);
}

/*
 * Split like ParseDateTime, including its work-buffer limit (the server
 * rejects input whose fields do not fit MAXDATELEN-ish bytes).
 */
static dterr
dt_tokenize(const unsigned char *p, const unsigned char *end, size_t bufsize,
			dttoken *tok, int *ntok)
{
	size_t		off = 0;
	int			n = 0;

	while (p < end)
	{
		const unsigned char *fs = p;
		dttoken    *t;
		size_t		count;

		if (is_space(*p))
		{
			p++;
			continue;
		}
		if (!is_digit(*p) && *p != '.' && !is_alpha(*p) && *p != '+' &&
			*p != '-')
		{
			if (is_punct(*p))
			{
				p++;			/* other punctuation just delimits */
				continue;
			}
			return DTE_BAD_FORMAT;
		}
		if (n >= MAXDATEFIELDS)
			return DTE_BAD_FORMAT;
		t = &tok[n];
		t->sign = 0;

		if (is_digit(*p))
		{
			while (p < end && is_digit(*p))
				p++;
			if (p < end && *p == ':')
			{
				t->type = TK_TIME;
				while (p < end && (is_digit(*p) || *p == ':' || *p == '.'))
					p++;
			}
			else if (p < end && (*p == '-' || *p == '/' || *p == '.'))
			{
				unsigned char delim = *p++;

				if (p < end && is_digit(*p))
				{
					t->type = (delim == '.') ? TK_NUMBER : TK_DATE;
					while (p < end && is_digit(*p))
						p++;
					if (p < end && *p == delim)
					{
						t->type = TK_DATE;
						while (p < end && (is_digit(*p) || *p == delim))
							p++;
					}
				}
				else
				{
					/* a month name inside a date: 2024-jan-15 */
					t->type = TK_DATE;
					while (p < end && (is_alnum(*p) || *p == delim))
						p++;
				}
			}
			else
				t->type = TK_NUMBER;
			t->s = fs;
			count = (size_t) (p - fs);
		}
		else if (*p == '.')
		{
			p++;
			while (p < end && is_digit(*p))
				p++;
			t->type = TK_NUMBER;
			t->s = fs;
			count = (size_t) (p - fs);
		}
		else if (is_alpha(*p))
		{
			bool		is_date = false;

			while (p < end && is_alpha(*p))
				p++;
			if (p < end && (*p == '-' || *p == '/' || *p == '.'))
				is_date = true;
			else if (p < end && (*p == '+' || is_digit(*p)))
				is_date = !is_date_keyword(fs, (size_t) (p - fs));
			if (is_date)
			{
				/* a zone name such as America/New_York or UTC+2 */
				do
					p++;
				while (p < end && (*p == '+' || *p == '-' || *p == '/' ||
								   *p == '_' || *p == '.' || *p == ':' ||
								   is_alnum(*p)));
				t->type = TK_DATE;
			}
			else
				t->type = TK_STRING;
			t->s = fs;
			count = (size_t) (p - fs);
		}
		else
		{
			/* sign: numeric time zone, or -infinity/+infinity */
			const unsigned char *body;

			t->sign = *p++;
			while (p < end && is_space(*p))
				p++;
			body = p;
			if (p < end && is_digit(*p))
			{
				t->type = TK_TZ;
				while (p < end && (is_digit(*p) || *p == ':' || *p == '.' ||
								   *p == '-'))
					p++;
			}
			else if (p < end && is_alpha(*p))
			{
				t->type = TK_SPECIAL;
				while (p < end && is_alpha(*p))
					p++;
			}
			else
				return DTE_BAD_FORMAT;
			t->s = body;
			count = 1 + (size_t) (p - body);
		}
		if (t->type != TK_TZ && t->type != TK_SPECIAL)
			t->len = count;
		else
			t->len = count - 1;

		/* every field and its terminating NUL must fit the work buffer */
		if (off + count > bufsize - 1)
			return DTE_BAD_FORMAT;
		off += count + 1;
		n++;
	}
	*ntok = n;
	return DTE_OK;
}

/*
 * strtol() on a bounded span: optional sign, decimal digits.  With no
 * digits the value is 0 and *endp is p (the start, before any sign), as
 * strtol does.  *range is set when the value exceeds limit.
 */
static int64_t
span_strtol(const unsigned char *p, const unsigned char *end,
			const unsigned char **endp, int64_t limit, bool *range)
{
	const unsigned char *q = p;
	bool		neg = false;
	int64_t		v = 0;

	*range = false;
	if (q < end && (*q == '+' || *q == '-'))
		neg = (*q++ == '-');
	if (q == end || !is_digit(*q))
	{
		*endp = p;
		return 0;
	}
	while (q < end && is_digit(*q))
	{
		if (v <= limit)
			v = v * 10 + (*q - '0');
		q++;
	}
	if (v > limit)
		*range = true;
	*endp = q;
	return neg ? -v : v;
}

/*
 * rint() for 0 <= x < 2^52 in the default rounding mode (to nearest, ties
 * to even), without libm: the difference x - trunc(x) is exact there.
 */
static int64_t
round_half_even(double x)
{
	int64_t		i = (int64_t) x;
	double		r = x - (double) i;

	if (r > 0.5 || (r == 0.5 && (i & 1) != 0))
		i++;
	return i;
}

/*
 * rint(strtod(".<digits>") * 1e6), the server's fractional-second
 * rounding, computed without strtod's dependence on the locale's decimal
 * point.  Up to 15 significant digits the quotient of two exact doubles is
 * the correctly rounded value strtod returns; beyond that we let strtod
 * read the digits with an exponent, which no locale changes.
 */
static int64_t
frac_usec(const unsigned char *d, size_t n)
{
	static const double pow10[16] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
		1e13, 1e14, 1e15
	};
	double		frac;

	while (n > 0 && d[n - 1] == '0')
		n--;					/* trailing zeros do not change the value */
	if (n == 0)
		return 0;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
	if (0)
#else
	if (n <= 15)
#endif
	{
		uint64_t	m = 0;
		size_t		i;

		for (i = 0; i < n; i++)
			m = m * 10 + (uint64_t) (d[i] - '0');
		frac = (double) m / pow10[n];
	}
	else
	{
		/*
		 * Digits past the 120th cannot move the result across a rounding
		 * boundary of a double in [1e-7, 1) (those have < 80 decimals), and
		 * below 1e-7 the result is 0 anyway; a sticky 5 stands in for them.
		 */
		char		buf[136];
		size_t		k = (n > 120) ? 120 : n;

		memcpy(buf, d, k);
		if (n > 120)
			buf[119] = '5';
		snprintf(buf + k, sizeof(buf) - k, "e-%zu", k);
		frac = strtod(buf, NULL);
	}
	return round_half_even(frac * 1000000.0);
}

/* DecodeTimeCommon + the range checks of DecodeTime and time_overflows */
static dterr
dt_decode_time(const dttoken *t, dtvalue *v)
{
	const unsigned char *p = t->s;
	const unsigned char *end = t->s + t->len;
	const unsigned char *cp;
	int64_t		hour,
				min,
				sec = 0,
				fsec = 0;
	bool		range;

	hour = span_strtol(p, end, &cp, INT64_C(999999999999), &range);
	if (range)
		return DTE_FIELD_OVERFLOW;
	if (cp == end || *cp != ':')
		return DTE_BAD_FORMAT;
	min = span_strtol(cp + 1, end, &cp, INT32_MAX, &range);
	if (range)
		return DTE_FIELD_OVERFLOW;
	if (cp == end)
		sec = 0;
	else if (*cp == '.')
	{
		/* "mm:ss.fff": two fields with a fraction are minutes:seconds */
		const unsigned char *f = cp + 1;

		while (f < end && is_digit(*f))
			f++;
		if (f != end)
			return DTE_BAD_FORMAT;
		fsec = frac_usec(cp + 1, (size_t) (end - cp - 1));
		sec = min;
		min = hour;
		hour = 0;
	}
	else if (*cp == ':')
	{
		sec = span_strtol(cp + 1, end, &cp, INT32_MAX, &range);
		if (range)
			return DTE_FIELD_OVERFLOW;
		if (cp != end)
		{
			const unsigned char *f = cp + 1;

			if (*cp != '.')
				return DTE_BAD_FORMAT;
			while (f < end && is_digit(*f))
				f++;
			if (f != end)
				return DTE_BAD_FORMAT;
			fsec = frac_usec(cp + 1, (size_t) (end - cp - 1));
		}
	}
	else
		return DTE_BAD_FORMAT;

	if (hour < 0 || min < 0 || min > 59 || sec < 0 || sec > 60 ||
		fsec < 0 || fsec > USECS_PER_SEC)
		return DTE_FIELD_OVERFLOW;
	/* 24:00:00 and 23:59:60 are allowed, but nothing past a whole day */
	if (hour > 24 ||
		((hour * 60 + min) * 60 + sec) * USECS_PER_SEC + fsec > USECS_PER_DAY)
		return DTE_FIELD_OVERFLOW;
	v->hour = hour;
	v->min = min;
	v->sec = sec;
	v->fsec = fsec;
	return DTE_OK;
}

/* DecodeTimezone: +h, +hh, +hhmm, +hh:mm, +hh:mm:ss (and '-') */
static dterr
dt_decode_tz(const dttoken *t, int64_t *tzp)
{
	const unsigned char *p = t->s;
	const unsigned char *end = t->s + t->len;
	const unsigned char *cp;
	int64_t		hr,
				min,
				sec = 0,
				tz;
	bool		range;

	hr = span_strtol(p, end, &cp, INT32_MAX, &range);
	if (range)
		return DTE_TZDISP_OVERFLOW;
	if (cp < end && *cp == ':')
	{
		min = span_strtol(cp + 1, end, &cp, INT32_MAX, &range);
		if (range)
			return DTE_TZDISP_OVERFLOW;
		if (cp < end && *cp == ':')
		{
			sec = span_strtol(cp + 1, end, &cp, INT32_MAX, &range);
			if (range)
				return DTE_TZDISP_OVERFLOW;
		}
	}
	else if (cp == end && t->len + 1 > 3)
	{
		/* run together: +hhmm (or +hmm) */
		min = hr % 100;
		hr = hr / 100;
	}
	else
		min = 0;

	if (hr < 0 || hr > 15 || min < 0 || min >= 60 || sec < 0 || sec >= 60)
		return DTE_TZDISP_OVERFLOW;
	tz = (hr * 60 + min) * 60 + sec;
	if (t->sign == '-')
		tz = -tz;
	*tzp = -tz;
	if (cp != end)
		return DTE_BAD_FORMAT;
	return DTE_OK;
}

/* The value of a run of digits, saturated past INT32_MAX (strtoint) */
static int64_t
digits_value(const unsigned char *p, size_t n, bool *range)
{
	int64_t		v = 0;
	size_t		i;

	*range = false;
	for (i = 0; i < n; i++)
	{
		v = v * 10 + (p[i] - '0');
		if (v > INT32_MAX)
		{
			*range = true;
			return 0;
		}
	}
	return v;
}

/* A date field YYY..-MM-DD with '-', '/' or '.' between the parts. */
static dterr
dt_decode_date(const dttoken *t, dtvalue *v)
{
	const unsigned char *p = t->s;
	const unsigned char *end = t->s + t->len;
	const unsigned char *fs[3];
	size_t		fl[3];
	int64_t		val[3];
	int			nf = 0,
				i;

	/*
	 * Split as DecodeDate does: skip any delimiters before a field, and
	 * swallow exactly one character after it (so one trailing delimiter is
	 * fine, two are not).
	 */
	while (p < end)
	{
		while (p < end && !is_alnum(*p))
			p++;
		if (p == end)
			return DTE_BAD_FORMAT;	/* a field must follow the delimiters */
		if (!is_digit(*p) || nf == 3)
			return DTE_UNSUPPORTED; /* month names, four fields, ... */
		fs[nf] = p;
		while (p < end && is_digit(*p))
			p++;
		fl[nf] = (size_t) (p - fs[nf]);
		nf++;
		if (p < end)
			p++;
	}
	if (nf < 3)
		return DTE_UNSUPPORTED; /* YYYY-DDD day of year, or incomplete */
	if (fl[0] < 3)
		return DTE_AMBIGUOUS;	/* order of a short first field: DateStyle */
	if (fl[1] == 3)
		return DTE_UNSUPPORTED; /* the server reads YYYY-DDD-... */
	for (i = 0; i < 3; i++)
	{
		bool		range;

		val[i] = digits_value(fs[i], fl[i], &range);
		if (range)
			return DTE_FIELD_OVERFLOW;
	}
	v->year = val[0];
	v->mon = val[1];
	v->mday = val[2];
	return DTE_OK;
}

static bool
is_leap(int64_t y)
{
	return (y % 4) == 0 && ((y % 100) != 0 || (y % 400) == 0);
}

/* ValidateDate for a year/month/day we decoded ourselves */
static dterr
dt_validate_date(dtvalue *v, bool bc, bool is2digits)
{
	static const int mdays[2][12] = {
		{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
		{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	};

	if (bc)
	{
		if (v->year <= 0)
			return DTE_FIELD_OVERFLOW;	/* no year zero */
		v->year = -(v->year - 1);
	}
	else if (is2digits)
	{
		if (v->year < 70)
			v->year += 2000;
		else if (v->year < 100)
			v->year += 1900;
	}
	else if (v->year <= 0)
		return DTE_FIELD_OVERFLOW;
	if (v->mon < 1 || v->mon > 12)
		return DTE_FIELD_OVERFLOW;
	if (v->mday < 1 || v->mday > 31)
		return DTE_FIELD_OVERFLOW;
	if (v->mday > mdays[is_leap(v->year)][v->mon - 1])
		return DTE_FIELD_OVERFLOW;
	return DTE_OK;
}

static dterr
dt_decode(dtkind kind, const char *val, size_t len, dtvalue *v)
{
	const unsigned char *p = (const unsigned char *) val;
	dttoken		tok[MAXDATEFIELDS];
	int			ntok = 0,
				i;
	bool		have_date = false,
				have_time = false,
				have_adbc = false,
				bc = false,
				is2digits = false,
				t_pending = false;
	dterr		e;

	memset(v, 0, sizeof(*v));
	/* date_in's work buffer is smaller than the timestamp types' */
	e = dt_tokenize(p, p + len, (kind == DT_DATE) ? 129 : 153, tok, &ntok);
	if (e != DTE_OK)
		return e;
	if (ntok == 0)
		return DTE_BAD_FORMAT;

	for (i = 0; i < ntok; i++)
	{
		const dttoken *t = &tok[i];

		switch (t->type)
		{
			case TK_DATE:
				if (have_date || have_time || t_pending)
					return DTE_UNSUPPORTED;
				e = dt_decode_date(t, v);
				if (e != DTE_OK)
					return e;
				have_date = true;
				break;

			case TK_NUMBER:
				{
					size_t		k;
					bool		range;

					/* compact YYYYMMDD (or YYMMDD), read back to front */
					if (have_date || have_time || t_pending || t->len < 6 ||
						memchr(t->s, '.', t->len) != NULL)
						return DTE_UNSUPPORTED;
					k = t->len - 4;
					v->year = digits_value(t->s, k, &range);
					if (range)
						return DTE_FIELD_OVERFLOW;
					v->mon = (t->s[k] - '0') * 10 + (t->s[k + 1] - '0');
					v->mday = (t->s[k + 2] - '0') * 10 + (t->s[k + 3] - '0');
					is2digits = (k == 2);
					have_date = true;
				}
				break;

			case TK_TIME:
				if (!have_date)
					return DTE_UNSUPPORTED; /* time-only or time-first */
				if (have_time)
					return DTE_BAD_FORMAT;
				e = dt_decode_time(t, v);
				if (e != DTE_OK)
					return e;
				have_time = true;
				t_pending = false;
				break;

			case TK_TZ:
				if (!have_date)
					return DTE_UNSUPPORTED;
				if (v->have_tz)
					return DTE_BAD_FORMAT;
				e = dt_decode_tz(t, &v->tz);
				if (e != DTE_OK)
					return e;
				v->have_tz = true;
				break;

			case TK_SPECIAL:
				if (ntok != 1 || !word_eq(t->s, t->len, "infinity"))
					return DTE_UNSUPPORTED;
				v->special = (t->sign == '-') ? DTS_EARLY : DTS_LATE;
				return DTE_OK;

			case TK_STRING:
				if (word_eq(t->s, t->len, "t"))
				{
					/* ISO 8601 date-time separator */
					if (!have_date)
						return DTE_BAD_FORMAT;
					if (have_time || t_pending)
						return DTE_BAD_FORMAT;
					t_pending = true;
				}
				else if (word_eq(t->s, t->len, "bc") ||
						 word_eq(t->s, t->len, "ad"))
				{
					if (have_adbc)
						return DTE_BAD_FORMAT;
					have_adbc = true;
					bc = (t->s[0] | 0x20) == 'b';
				}
				else if (word_eq(t->s, t->len, "z") ||
						 word_eq(t->s, t->len, "zulu") ||
						 word_eq(t->s, t->len, "utc") ||
						 word_eq(t->s, t->len, "ut") ||
						 word_eq(t->s, t->len, "gmt"))
				{
					/* zero-offset abbreviations of the Default set */
					if (!have_date)
						return DTE_UNSUPPORTED;
					if (v->have_tz)
						return DTE_BAD_FORMAT;
					v->have_tz = true;
					v->tz = 0;
				}
				else if (word_eq(t->s, t->len, "epoch") ||
						 word_eq(t->s, t->len, "infinity"))
				{
					if (ntok != 1)
						return DTE_UNSUPPORTED;
					v->special = (t->s[0] | 0x20) == 'e' ? DTS_EPOCH : DTS_LATE;
					return DTE_OK;
				}
				else if (word_eq(t->s, t->len, "now") ||
						 word_eq(t->s, t->len, "today") ||
						 word_eq(t->s, t->len, "tomorrow") ||
						 word_eq(t->s, t->len, "yesterday"))
					return DTE_NEEDS_SERVER;
				else
					return DTE_UNSUPPORTED; /* month/day names, zones, am/pm */
				break;
		}
	}
	if (t_pending)
		return DTE_BAD_FORMAT;
	if (!have_date)
		return DTE_BAD_FORMAT;
	return dt_validate_date(v, bc, is2digits);
}

static int64_t
date2j(int64_t y, int64_t m, int64_t d)
{
	int64_t		julian,
				century;

	if (m > 2)
	{
		m += 1;
		y += 4800;
	}
	else
	{
		m += 13;
		y += 4799;
	}
	century = y / 100;
	julian = y * 365 - 32167;
	julian += y / 4 - century + century / 4;
	julian += 7834 * m / 256 + d;
	return julian;
}

/* IS_VALID_JULIAN: the range date2j is trusted for (to the month) */
static bool
valid_julian(int64_t y, int64_t m)
{
	return (y > -4713 || (y == -4713 && m >= 11)) &&
		(y < 5874898 || (y == 5874898 && m < 6));
}

static inline bool
valid_timestamp(int64_t ts)
{
	return ts >= MIN_TIMESTAMP && ts < END_TIMESTAMP;
}

/*
 * AdjustTimestampForTypmod.  Note the server does not re-check the range
 * after rounding: 294276-12-31 23:59:59.5 goes into a timestamp(0) column
 * as 294277-01-01, one past the last valid value.
 */
static void
timestamp_apply_typmod(int64_t *ts, int32_t typmod)
{
	static const int64_t scales[7] = {
		1000000, 100000, 10000, 1000, 100, 10, 1
	};
	static const int64_t offsets[7] = {
		500000, 50000, 5000, 500, 50, 5, 0
	};

	if (*ts == INT64_MIN || *ts == INT64_MAX || typmod < 0 || typmod >= 6)
		return;
	if (*ts >= 0)
		*ts = ((*ts + offsets[typmod]) / scales[typmod]) * scales[typmod];
	else
		*ts = -((((-*ts) + offsets[typmod]) / scales[typmod]) * scales[typmod]);
}

static int
dt_error(dterr e, dtkind kind, const char *val, size_t len, char *err,
		 size_t errlen)
{
	const char *tname = (kind == DT_DATE) ? "date" :
		(kind == DT_TIMESTAMP) ? "timestamp" : "timestamp with time zone";
	char		sb[SHOWBUF_SIZE];

	show(sb, val, len);
	switch (e)
	{
		case DTE_FIELD_OVERFLOW:
			return report(err, errlen, PGMM_HASH_EDATETIME,
						  "date/time field value out of range: \"%s\"", sb);
		case DTE_TZDISP_OVERFLOW:
			return report(err, errlen, PGMM_HASH_EDATETIME,
						  "time zone displacement out of range: \"%s\"", sb);
		case DTE_AMBIGUOUS:
			return report(err, errlen, PGMM_HASH_EUNKNOWABLE,
						  "%s key \"%s\" is ambiguous: its field order depends on the server's DateStyle; write the year first with at least three digits (YYYY-MM-DD)",
						  tname, sb);
		case DTE_UNSUPPORTED:
			return report(err, errlen, PGMM_HASH_EUNKNOWABLE,
						  "%s key \"%s\" is not in a form pgmm can interpret without the server; use ISO 8601 (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][+HH[:MM]|Z][ BC])",
						  tname, sb);
		case DTE_NEEDS_SERVER:
			return report(err, errlen, PGMM_HASH_EUNKNOWABLE,
						  "%s key \"%s\" depends on the server's clock and TimeZone; send the actual value",
						  tname, sb);
		default:
			return report(err, errlen, PGMM_HASH_ESYNTAX,
						  "invalid input syntax for type %s: \"%s\"", tname, sb);
	}
}

static int
text_datetime(dtkind kind, int32_t typmod, const char *val, size_t len,
			  uint64_t *hash, char *err, size_t errlen)
{
	dtvalue		v;
	dterr		e;
	char		sb[SHOWBUF_SIZE];
	int64_t		date,
				ts;

	if (kind != DT_DATE && typmod != -1 && (typmod < 0 || typmod > 6))
		return report(err, errlen, PGMM_HASH_ESYNTAX,
					  "timestamp(%d) precision must be between 0 and 6", (int) typmod);

	e = dt_decode(kind, val, len, &v);
	if (e != DTE_OK)
		return dt_error(e, kind, val, len, err, errlen);

	if (kind == DT_DATE)
	{
		int32_t		d;

		switch (v.special)
		{
			case DTS_LATE:
				d = INT32_MAX;
				break;
			case DTS_EARLY:
				d = INT32_MIN;
				break;
			case DTS_EPOCH:
				d = UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE;
				break;
			default:
				if (!valid_julian(v.year, v.mon))
					return report(err, errlen, PGMM_HASH_EDATETIME, "date out of range: \"%s\"",
								  show(sb, val, len));
				date = date2j(v.year, v.mon, v.mday) - POSTGRES_EPOCH_JDATE;
				if (date < -POSTGRES_EPOCH_JDATE ||
					date >= DATE_END_JULIAN - POSTGRES_EPOCH_JDATE)
					return report(err, errlen, PGMM_HASH_EDATETIME, "date out of range: \"%s\"",
								  show(sb, val, len));
				d = (int32_t) date;
				break;
		}
		*hash = hash_int4(d);
		return 0;
	}

	switch (v.special)
	{
		case DTS_LATE:
			*hash = hash_int8(INT64_MAX);
			return 0;
		case DTS_EARLY:
			*hash = hash_int8(INT64_MIN);
			return 0;
		case DTS_EPOCH:
			ts = (int64_t) (UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
			*hash = hash_int8(ts);
			return 0;
		default:
			break;
	}

	/*
	 * A timestamptz without an offset means local time in the session's
	 * TimeZone, which only the server knows.  (timestamp ignores any
	 * offset given, as the server does.)
	 */
	if (kind == DT_TIMESTAMPTZ && !v.have_tz)
		return report(err, errlen, PGMM_HASH_EUNKNOWABLE,
					  "timestamptz key \"%s\" needs an explicit UTC offset (Z, +HH, +HH:MM): without one its value depends on the server's session TimeZone, which the client does not know",
					  show(sb, val, len));

	if (!valid_julian(v.year, v.mon))
		goto out_of_range;
	date = date2j(v.year, v.mon, v.mday) - POSTGRES_EPOCH_JDATE;
	/* far beyond the timestamp range: avoid int64 overflow below */
	if (date < -POSTGRES_EPOCH_JDATE - 2 || date > 106751985)
		goto out_of_range;
	ts = date * USECS_PER_DAY +
		((v.hour * 60 + v.min) * 60 + v.sec) * USECS_PER_SEC + v.fsec;
	if (kind == DT_TIMESTAMPTZ)
		ts += v.tz * USECS_PER_SEC;
	if (!valid_timestamp(ts))
		goto out_of_range;
	timestamp_apply_typmod(&ts, typmod);
	*hash = hash_int8(ts);
	return 0;

out_of_range:
	return report(err, errlen, PGMM_HASH_EDATETIME, "timestamp out of range: \"%s\"",
				  show(sb, val, len));
}


/* ----------------------------------------------------------------------
 * Entry points
 * ----------------------------------------------------------------------
 */

static int
check_args(const char *fn, pgmm_keytype t, const char *val, size_t len,
		   uint64_t *hash, char *err, size_t errlen)
{
	if (hash == NULL)
		return report(err, errlen, PGMM_HASH_EINVAL, "%s: hash output pointer is NULL", fn);
	if (!valid_keytype(t))
		return report(err, errlen, PGMM_HASH_EINVAL, "%s: invalid key type %d", fn, (int) t);
	if (val == NULL)
		return report(err, errlen, PGMM_HASH_EINVAL,
					  "%s: key value is NULL (a SQL NULL key always goes to remainder %d)",
					  fn, PGMM_NULL_KEY_REMAINDER);
	if (len > MAX_KEY_LEN)
		return report(err, errlen, PGMM_HASH_EINVAL,
					  "%s: key value of %zu bytes exceeds PostgreSQL's 1 GB field limit",
					  fn, len);
	return 0;
}

int
pgmm_key_hash_text_typmod(pgmm_keytype t, int32_t typmod,
						  const char *val, size_t len,
						  uint64_t *hash, char *err, size_t errlen)
{
	int			rc;

	if ((rc = check_args("pgmm_key_hash_text", t, val, len, hash, err, errlen)) < 0)
		return rc;

	switch (t)
	{
		case PGMM_KEY_INT2:
		case PGMM_KEY_INT4:
		case PGMM_KEY_INT8:
			return text_int(t, val, len, hash, err, errlen);
		case PGMM_KEY_BOOL:
			return text_bool(val, len, hash, err, errlen);
		case PGMM_KEY_TEXT:
		case PGMM_KEY_VARCHAR:
		case PGMM_KEY_BPCHAR:
			return text_string(t, typmod, false, val, len, hash, err, errlen);
		case PGMM_KEY_UUID:
			return text_uuid(val, len, hash, err, errlen);
		case PGMM_KEY_BYTEA:
			if (memchr(val, '\0', len) != NULL)
				return report(err, errlen, PGMM_HASH_ESYNTAX,
							  "invalid byte sequence for encoding \"UTF8\": 0x00");
			return text_bytea(val, len, hash, err, errlen);
		case PGMM_KEY_DATE:
			return text_datetime(DT_DATE, -1, val, len, hash, err, errlen);
		case PGMM_KEY_TIMESTAMP:
			return text_datetime(DT_TIMESTAMP, typmod, val, len, hash, err, errlen);
		case PGMM_KEY_TIMESTAMPTZ:
			return text_datetime(DT_TIMESTAMPTZ, typmod, val, len, hash, err, errlen);
		case PGMM_KEY_NUMERIC:
			return text_numeric(typmod, val, len, hash, err, errlen);
		default:
			break;
	}
	return report(err, errlen, PGMM_HASH_EINVAL, "pgmm_key_hash_text: invalid key type %d", (int) t);
}

int
pgmm_key_hash_text(pgmm_keytype t, const char *val, size_t len,
				   uint64_t *hash, char *err, size_t errlen)
{
	return pgmm_key_hash_text_typmod(t, -1, val, len, hash, err, errlen);
}

static int
binary_length(pgmm_keytype pt, size_t want, size_t len, char *err,
			  size_t errlen)
{
	if (len == want)
		return 0;
	return report(err, errlen, PGMM_HASH_ESYNTAX,
				  "binary %s parameter must be %zu bytes, got %zu",
				  keytypes[pt].typname, want, len);
}

static int
binary_mismatch(pgmm_keytype t, unsigned int param_type, char *err,
				size_t errlen)
{
	pgmm_keytype pt = pgmm_keytype_from_oid(param_type);
	const char *pname = valid_keytype(pt) ? keytypes[pt].typname : NULL;
	const char *why = "";

	if ((t == PGMM_KEY_TIMESTAMP && pt == PGMM_KEY_TIMESTAMPTZ) ||
		(t == PGMM_KEY_TIMESTAMPTZ && pt == PGMM_KEY_TIMESTAMP) ||
		(t == PGMM_KEY_TIMESTAMPTZ && pt == PGMM_KEY_DATE))
		why = " (the conversion depends on the server's session TimeZone)";
	if (pname != NULL)
		return report(err, errlen, PGMM_HASH_ESYNTAX,
					  "a binary %s parameter cannot be routed as a %s key%s",
					  pname, keytypes[t].typname, why);
	return report(err, errlen, PGMM_HASH_ESYNTAX,
				  "a binary parameter of type OID %u cannot be routed as a %s key",
				  param_type, keytypes[t].typname);
}

int
pgmm_key_hash_binary_typmod(pgmm_keytype t, int32_t typmod,
							unsigned int param_type,
							const char *val, size_t len,
							uint64_t *hash, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *) val;
	pgmm_keytype pt;
	int			rc;

	if ((rc = check_args("pgmm_key_hash_binary", t, val, len, hash, err, errlen)) < 0)
		return rc;
	pt = (param_type == 0) ? t : pgmm_keytype_from_oid(param_type);

	switch (t)
	{
		case PGMM_KEY_INT2:
		case PGMM_KEY_INT4:
		case PGMM_KEY_INT8:
		case PGMM_KEY_NUMERIC:
			{
				int64_t		v;

				if (t == PGMM_KEY_NUMERIC && pt == PGMM_KEY_NUMERIC)
					return binary_numeric(typmod, p, len, hash, err, errlen);

				/* integer parameters of any width: exact conversion */
				switch (pt)
				{
					case PGMM_KEY_INT2:
						if ((rc = binary_length(pt, 2, len, err, errlen)) < 0)
							return rc;
						v = (int16_t) load_be16(p);
						break;
					case PGMM_KEY_INT4:
						if ((rc = binary_length(pt, 4, len, err, errlen)) < 0)
							return rc;
						v = (int32_t) load_be32(p);
						break;
					case PGMM_KEY_INT8:
						if ((rc = binary_length(pt, 8, len, err, errlen)) < 0)
							return rc;
						v = (int64_t) load_be64(p);
						break;
					default:
						return binary_mismatch(t, param_type, err, errlen);
				}
				if (t == PGMM_KEY_NUMERIC)
					return int_as_numeric(typmod, v, hash, err, errlen);
				if (t == PGMM_KEY_INT2 && (v < INT16_MIN || v > INT16_MAX))
					return report(err, errlen, PGMM_HASH_ERANGE, "smallint out of range: %lld",
								  (long long) v);
				if (t == PGMM_KEY_INT4 && (v < INT32_MIN || v > INT32_MAX))
					return report(err, errlen, PGMM_HASH_ERANGE, "integer out of range: %lld",
								  (long long) v);
				*hash = (t == PGMM_KEY_INT8) ? hash_int8(v) : hash_int4((int32_t) v);
				return 0;
			}

		case PGMM_KEY_BOOL:
			if (pt != PGMM_KEY_BOOL)
				return binary_mismatch(t, param_type, err, errlen);
			if ((rc = binary_length(pt, 1, len, err, errlen)) < 0)
				return rc;
			*hash = hash_int4(p[0] != 0);	/* boolrecv: nonzero is true */
			return 0;

		case PGMM_KEY_TEXT:
		case PGMM_KEY_VARCHAR:
		case PGMM_KEY_BPCHAR:
			if (pt != PGMM_KEY_TEXT && pt != PGMM_KEY_VARCHAR &&
				pt != PGMM_KEY_BPCHAR)
				return binary_mismatch(t, param_type, err, errlen);
			/* a char(n) value loses its trailing blanks when cast to text */
			return text_string(t, typmod, pt == PGMM_KEY_BPCHAR, val, len,
							   hash, err, errlen);

		case PGMM_KEY_UUID:
			if (pt != PGMM_KEY_UUID)
				return binary_mismatch(t, param_type, err, errlen);
			if ((rc = binary_length(pt, 16, len, err, errlen)) < 0)
				return rc;
			*hash = pgmm_hash_bytes_extended(p, 16, SEED);
			return 0;

		case PGMM_KEY_BYTEA:
			if (pt != PGMM_KEY_BYTEA)
				return binary_mismatch(t, param_type, err, errlen);
			*hash = hash_bytes(val, len);
			return 0;

		case PGMM_KEY_DATE:
			{
				int32_t		d;

				if (pt != PGMM_KEY_DATE)
					return binary_mismatch(t, param_type, err, errlen);
				if ((rc = binary_length(pt, 4, len, err, errlen)) < 0)
					return rc;
				d = (int32_t) load_be32(p);
				if (d != INT32_MIN && d != INT32_MAX &&
					(d < -POSTGRES_EPOCH_JDATE ||
					 d >= DATE_END_JULIAN - POSTGRES_EPOCH_JDATE))
					return report(err, errlen, PGMM_HASH_EDATETIME, "date out of range: %d days", (int) d);
				*hash = hash_int4(d);
				return 0;
			}

		case PGMM_KEY_TIMESTAMP:
		case PGMM_KEY_TIMESTAMPTZ:
			{
				int64_t		ts;

				if (pt != t)
					return binary_mismatch(t, param_type, err, errlen);
				if ((rc = binary_length(pt, 8, len, err, errlen)) < 0)
					return rc;
				if (typmod != -1 && (typmod < 0 || typmod > 6))
					return report(err, errlen, PGMM_HASH_ESYNTAX,
								  "timestamp(%d) precision must be between 0 and 6",
								  (int) typmod);
				ts = (int64_t) load_be64(p);
				if (ts != INT64_MIN && ts != INT64_MAX && !valid_timestamp(ts))
					return report(err, errlen, PGMM_HASH_EDATETIME, "timestamp out of range");
				timestamp_apply_typmod(&ts, typmod);
				*hash = hash_int8(ts);
				return 0;
			}

		default:
			break;
	}
	return report(err, errlen, PGMM_HASH_EINVAL, "pgmm_key_hash_binary: invalid key type %d", (int) t);
}

int
pgmm_key_hash_binary(pgmm_keytype t, unsigned int param_type,
					 const char *val, size_t len,
					 uint64_t *hash, char *err, size_t errlen)
{
	return pgmm_key_hash_binary_typmod(t, -1, param_type, val, len, hash,
									   err, errlen);
}

const char *
pgmm_hash_sqlstate(int rc)
{
	switch (rc)
	{
		case PGMM_HASH_ESYNTAX:
			return "22P02";		/* invalid_text_representation */
		case PGMM_HASH_ERANGE:
			return "22003";		/* numeric_value_out_of_range */
		case PGMM_HASH_ETOOLONG:
			return "22001";		/* string_data_right_truncation */
		case PGMM_HASH_EDATETIME:
			return "22008";		/* datetime_field_overflow */
		case PGMM_HASH_EINVAL:
			return "22023";		/* invalid_parameter_value */
		default:
			return NULL;		/* success, or PGMM_HASH_EUNKNOWABLE: no error of the key */
	}
}

int
pgmm_keytype_is_integer(pgmm_keytype t)
{
	return t == PGMM_KEY_INT2 || t == PGMM_KEY_INT4 || t == PGMM_KEY_INT8;
}
