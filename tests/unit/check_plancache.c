/*
 * check_plancache.c -- unit tests for lib/plancache.c: SipHash-2-4 against
 * the reference vectors (tests/data/siphash24_vectors.txt, plus some
 * embedded here and an independent reference implementation), and the LRU
 * cache (put/get/replace/remove/evict/clear, NUL bytes in keys, 100k keys,
 * out of memory).
 *
 * The vectors file is looked up in $PGMM_TESTDATA_DIR, else in the directory
 * compiled in as PGMM_TESTDATA_DIR.  PGMM_TEST_SEED fixes the random seed
 * (printed on failure).  Needs no server.
 */
#include "plancache.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#ifndef PGMM_TESTDATA_DIR
#define PGMM_TESTDATA_DIR "tests/data"
#endif

/* Test hook in plancache.c (not in the header): fail allocation n onward. */
void		pgmm_cache_test_fail_alloc(unsigned long n);

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	/* splitmix64 */
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t
rng_seed_from_env(void)
{
	const char *s = getenv("PGMM_TEST_SEED");

	return s != NULL && *s ? strtoull(s, NULL, 0) : UINT64_C(20240601);
}

static void
rng_fill(unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char) rng_next();
}

static void
store_le64(unsigned char out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char) (v >> (8 * i));
}

static void
to_hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static const unsigned char ref_key[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
};

/* Hex (reference byte order) of SipHash-2-4(ref_key, 00 01 .. n-1). */
static void
siphash_ref_msg_hex(size_t n, char hex[17])
{
	unsigned char msg[64];
	unsigned char out[8];

	for (size_t i = 0; i < n; i++)
		msg[i] = (unsigned char) i;
	store_le64(out, pgmm_siphash_keyed(ref_key, msg, n));
	to_hex(out, 8, hex);
}

/* An independent SipHash-2-4 (straight from the paper), to cross-check
 * libsodium on lengths the vectors do not reach. */
#define ROTL64(x, b) (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32); \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32); \
	} while (0)

static uint64_t
read_le64(const unsigned char *p)
{
	uint64_t	v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
siphash24_reference(const unsigned char k[16], const unsigned char *m, size_t len)
{
	uint64_t	k0 = read_le64(k);
	uint64_t	k1 = read_le64(k + 8);
	uint64_t	v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t	v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t	v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t	v3 = k1 ^ UINT64_C(0x7465646279746573);
	size_t		full = len - len % 8;
	uint64_t	b = (uint64_t) len << 56;

	for (size_t i = 0; i < full; i += 8)
	{
		uint64_t	mi = read_le64(m + i);

		v3 ^= mi;
		SIPROUND;
		SIPROUND;
		v0 ^= mi;
	}
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t) m[full + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Values handed to the cache are small tagged integers; free_fn records. */
static size_t n_freed;
static uintptr_t last_freed;
static unsigned char *freed_map;	/* optional: freed_map[tag] counts frees */
static size_t freed_map_len;

static void
count_free(void *value)
{
	uintptr_t	tag = (uintptr_t) value;

	n_freed++;
	last_freed = tag;
	if (freed_map != NULL && tag < freed_map_len)
		freed_map[tag]++;
}

#define TAG(i) ((void *) (uintptr_t) (i))

static void
reset_counters(void)
{
	n_freed = 0;
	last_freed = 0;
	freed_map = NULL;
	freed_map_len = 0;
	rng_state = rng_seed_from_env();
	pgmm_cache_test_fail_alloc(0);
}

/* strdup is POSIX, not C11 */
static char *
dup_str(const char *s)
{
	size_t		n = strlen(s) + 1;
	char	   *d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static void
put_ok(pgmm_cache *c, const char *key, uintptr_t tag)
{
	ck_assert_int_eq(pgmm_cache_put(c, key, strlen(key), TAG(tag)), 0);
}

static uintptr_t
get_tag(pgmm_cache *c, const char *key)
{
	return (uintptr_t) pgmm_cache_get(c, key, strlen(key));
}

/* ---------------------------------------------------------------- siphash */

START_TEST(test_siphash_vectors_file)
{
	const char *dir = getenv("PGMM_TESTDATA_DIR");
	char		path[4096];
	char		line[256];
	FILE	   *f;
	size_t		n = 0;

	if (dir == NULL || *dir == '\0')
		dir = PGMM_TESTDATA_DIR;
	snprintf(path, sizeof(path), "%s/siphash24_vectors.txt", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s: %s (set PGMM_TESTDATA_DIR)",
				  path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char		want[32];
		char		got[17];

		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_msg(sscanf(line, "%31s", want) == 1, "bad line: %s", line);
		ck_assert_msg(strlen(want) == 16, "bad vector %zu: %s", n, want);
		ck_assert_msg(n < 64, "more than 64 vectors in %s", path);
		siphash_ref_msg_hex(n, got);
		ck_assert_msg(strcmp(got, want) == 0,
					  "vector %zu: got %s, want %s", n, got, want);
		n++;
	}
	fclose(f);
	ck_assert_uint_eq(n, 64);
}
END_TEST

/* A few of the reference vectors, so the test stands without the file. */
static const struct
{
	size_t		n;
	const char *hex;
}			embedded_vectors[] = {
	{0, "310e0edd47db6f72"},
	{1, "fd67dc93c539f874"},
	{7, "37d1018bf50002ab"},
	{8, "6224939a79f5f593"},
	{15, "e545be4961ca29a1"},
	{16, "db9bc2577fcc2a3f"},
	{63, "724506eb4c328a95"},
};

START_TEST(test_siphash_vectors_embedded)
{
	for (size_t i = 0; i < sizeof(embedded_vectors) / sizeof(embedded_vectors[0]); i++)
	{
		char		got[17];

		siphash_ref_msg_hex(embedded_vectors[i].n, got);
		ck_assert_msg(strcmp(got, embedded_vectors[i].hex) == 0,
					  "vector %zu: got %s, want %s", embedded_vectors[i].n,
					  got, embedded_vectors[i].hex);
	}
	/* As a number: the 8 bytes are little-endian. */
	ck_assert_uint_eq(pgmm_siphash_keyed(ref_key, "", 0),
					  UINT64_C(0x726fdb47dd0e0e31));
	ck_assert_uint_eq(pgmm_siphash_keyed(ref_key, NULL, 0),
					  UINT64_C(0x726fdb47dd0e0e31));
}
END_TEST

START_TEST(test_siphash_matches_reference_impl)
{
	unsigned char key[16];
	unsigned char msg[1100];

	for (int round = 0; round < 2000; round++)
	{
		size_t		len = (size_t) (rng_next() % sizeof(msg));

		if (round < 200)
			len = (size_t) round;	/* every short length */
		rng_fill(key, sizeof(key));
		rng_fill(msg, len);
		ck_assert_msg(pgmm_siphash_keyed(key, msg, len) ==
					  siphash24_reference(key, msg, len),
					  "mismatch at len %zu (seed %" PRIu64 ")", len,
					  rng_seed_from_env());
	}
	/* and the reference implementation itself against vector 63 */
	for (size_t i = 0; i < 63; i++)
		msg[i] = (unsigned char) i;
	ck_assert_uint_eq(siphash24_reference(ref_key, msg, 63),
					  pgmm_siphash_keyed(ref_key, msg, 63));
}
END_TEST

START_TEST(test_siphash_process_key)
{
	const char	msg[] = "SELECT * FROM t WHERE id = $1";
	unsigned char zero[16] = {0};
	uint64_t	h;

	ck_assert_int_eq(pgmm_siphash_init(), 0);
	ck_assert_int_eq(pgmm_siphash_init(), 0);	/* idempotent */
	h = pgmm_siphash(msg, sizeof(msg) - 1);
	ck_assert_uint_eq(h, pgmm_siphash(msg, sizeof(msg) - 1));
	/* keyed with a random key: differs from fixed keys (p = 2^-64) */
	ck_assert_uint_ne(h, pgmm_siphash_keyed(zero, msg, sizeof(msg) - 1));
	ck_assert_uint_ne(h, pgmm_siphash_keyed(ref_key, msg, sizeof(msg) - 1));
	/* every byte counts, NULs included */
	ck_assert_uint_ne(pgmm_siphash("a\0b", 3), pgmm_siphash("a\0c", 3));
	ck_assert_uint_ne(pgmm_siphash("a\0", 2), pgmm_siphash("a", 1));
	ck_assert_uint_eq(pgmm_siphash("", 0), pgmm_siphash(NULL, 0));
}
END_TEST

/* ---------------------------------------------------------------- cache */

START_TEST(test_cache_put_get)
{
	pgmm_cache *c = pgmm_cache_new(16, count_free);

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(pgmm_cache_count(c), 0);
	ck_assert_ptr_null(pgmm_cache_get(c, "x", 1));
	put_ok(c, "SELECT 1", 1);
	put_ok(c, "SELECT 2", 2);
	put_ok(c, "SELECT 1 ", 3);	/* trailing space: another key */
	put_ok(c, "SELECT ", 4);	/* a prefix: another key */
	ck_assert_uint_eq(pgmm_cache_count(c), 4);
	ck_assert_uint_eq(get_tag(c, "SELECT 1"), 1);
	ck_assert_uint_eq(get_tag(c, "SELECT 2"), 2);
	ck_assert_uint_eq(get_tag(c, "SELECT 1 "), 3);
	ck_assert_uint_eq(get_tag(c, "SELECT "), 4);
	ck_assert_uint_eq(get_tag(c, "SELECT"), 0);
	ck_assert_uint_eq(get_tag(c, "select 1"), 0);
	/* the key is copied */
	{
		char		buf[] = "mutable key";

		put_ok(c, buf, 5);
		buf[0] = 'M';
		ck_assert_uint_eq(get_tag(c, "mutable key"), 5);
		ck_assert_uint_eq(get_tag(c, buf), 0);
	}
	/* NULL value is storable (but indistinguishable from a miss on get) */
	ck_assert_int_eq(pgmm_cache_put(c, "null", 4, NULL), 0);
	ck_assert_uint_eq(pgmm_cache_count(c), 6);
	ck_assert_uint_eq(n_freed, 0);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 6);
	pgmm_cache_free(NULL);
}
END_TEST

START_TEST(test_cache_replace)
{
	pgmm_cache *c = pgmm_cache_new(4, count_free);

	put_ok(c, "k", 1);
	put_ok(c, "k", 2);
	ck_assert_uint_eq(pgmm_cache_count(c), 1);
	ck_assert_uint_eq(n_freed, 1);
	ck_assert_uint_eq(last_freed, 1);
	ck_assert_uint_eq(get_tag(c, "k"), 2);
	/* storing the same value again does not free it */
	put_ok(c, "k", 2);
	ck_assert_uint_eq(n_freed, 1);
	ck_assert_uint_eq(get_tag(c, "k"), 2);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 2);
	ck_assert_uint_eq(last_freed, 2);
}
END_TEST

START_TEST(test_cache_remove)
{
	pgmm_cache *c = pgmm_cache_new(0, count_free);

	put_ok(c, "a", 1);
	put_ok(c, "b", 2);
	put_ok(c, "c", 3);
	ck_assert_int_eq(pgmm_cache_remove(c, "b", 1), 0);
	ck_assert_uint_eq(n_freed, 1);
	ck_assert_uint_eq(last_freed, 2);
	ck_assert_uint_eq(pgmm_cache_count(c), 2);
	ck_assert_uint_eq(get_tag(c, "b"), 0);
	ck_assert_int_eq(pgmm_cache_remove(c, "b", 1), -1);
	ck_assert_int_eq(pgmm_cache_remove(c, "zz", 2), -1);
	ck_assert_uint_eq(n_freed, 1);
	ck_assert_uint_eq(get_tag(c, "a"), 1);
	ck_assert_uint_eq(get_tag(c, "c"), 3);
	/* remove the most and least recently used, then re-add */
	ck_assert_int_eq(pgmm_cache_remove(c, "c", 1), 0);
	ck_assert_int_eq(pgmm_cache_remove(c, "a", 1), 0);
	ck_assert_uint_eq(pgmm_cache_count(c), 0);
	put_ok(c, "a", 4);
	ck_assert_uint_eq(get_tag(c, "a"), 4);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 4);
}
END_TEST

START_TEST(test_cache_evict_lru)
{
	pgmm_cache *c = pgmm_cache_new(3, count_free);

	put_ok(c, "a", 1);
	put_ok(c, "b", 2);
	put_ok(c, "c", 3);
	ck_assert_uint_eq(n_freed, 0);
	/* touch a: b is now the least recently used */
	ck_assert_uint_eq(get_tag(c, "a"), 1);
	put_ok(c, "d", 4);
	ck_assert_uint_eq(pgmm_cache_count(c), 3);
	ck_assert_uint_eq(n_freed, 1);
	ck_assert_uint_eq(last_freed, 2);
	ck_assert_uint_eq(get_tag(c, "b"), 0);
	/* recency now (most first): d a c; replacing c makes it most recent */
	put_ok(c, "c", 5);
	ck_assert_uint_eq(last_freed, 3);	/* the replaced value */
	put_ok(c, "e", 6);					/* evicts a */
	ck_assert_uint_eq(last_freed, 1);
	ck_assert_uint_eq(get_tag(c, "a"), 0);
	/* a miss does not disturb the order: d is least recent */
	ck_assert_uint_eq(get_tag(c, "nope"), 0);
	put_ok(c, "f", 7);
	ck_assert_uint_eq(last_freed, 4);
	ck_assert_uint_eq(get_tag(c, "c"), 5);
	ck_assert_uint_eq(get_tag(c, "e"), 6);
	ck_assert_uint_eq(get_tag(c, "f"), 7);
	ck_assert_uint_eq(n_freed, 4);
	/* a removed entry leaves room: no eviction on the next put */
	ck_assert_int_eq(pgmm_cache_remove(c, "e", 1), 0);
	put_ok(c, "g", 8);
	ck_assert_uint_eq(n_freed, 5);
	ck_assert_uint_eq(pgmm_cache_count(c), 3);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 8);
}
END_TEST

START_TEST(test_cache_capacity_one)
{
	pgmm_cache *c = pgmm_cache_new(1, count_free);

	put_ok(c, "a", 1);
	ck_assert_uint_eq(get_tag(c, "a"), 1);
	put_ok(c, "a", 2);
	ck_assert_uint_eq(last_freed, 1);
	put_ok(c, "b", 3);
	ck_assert_uint_eq(last_freed, 2);
	ck_assert_uint_eq(pgmm_cache_count(c), 1);
	ck_assert_uint_eq(get_tag(c, "a"), 0);
	ck_assert_uint_eq(get_tag(c, "b"), 3);
	for (uintptr_t i = 10; i < 1000; i++)
	{
		char		k[16];

		snprintf(k, sizeof(k), "k%u", (unsigned) i);
		put_ok(c, k, i);
		ck_assert_uint_eq(pgmm_cache_count(c), 1);
		ck_assert_uint_eq(get_tag(c, k), i);
	}
	ck_assert_uint_eq(n_freed, 2 + 990);
	ck_assert_int_eq(pgmm_cache_remove(c, "k999", 4), 0);
	ck_assert_uint_eq(pgmm_cache_count(c), 0);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 3 + 990);
}
END_TEST

START_TEST(test_cache_clear)
{
	pgmm_cache *c = pgmm_cache_new(100, count_free);

	for (uintptr_t i = 1; i <= 50; i++)
	{
		char		k[16];

		snprintf(k, sizeof(k), "q%u", (unsigned) i);
		put_ok(c, k, i);
	}
	pgmm_cache_clear(c);
	ck_assert_uint_eq(n_freed, 50);
	ck_assert_uint_eq(pgmm_cache_count(c), 0);
	ck_assert_uint_eq(get_tag(c, "q1"), 0);
	pgmm_cache_clear(c);		/* clearing an empty cache is fine */
	ck_assert_uint_eq(n_freed, 50);
	/* usable after clear, LRU order intact */
	for (uintptr_t i = 1; i <= 101; i++)
	{
		char		k[16];

		snprintf(k, sizeof(k), "r%u", (unsigned) i);
		put_ok(c, k, 1000 + i);
	}
	ck_assert_uint_eq(pgmm_cache_count(c), 100);
	ck_assert_uint_eq(n_freed, 51);
	ck_assert_uint_eq(last_freed, 1001);
	ck_assert_uint_eq(get_tag(c, "r2"), 1002);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 151);
	pgmm_cache_clear(NULL);
	ck_assert_uint_eq(pgmm_cache_count(NULL), 0);
}
END_TEST

START_TEST(test_cache_nul_bytes)
{
	pgmm_cache *c = pgmm_cache_new(0, count_free);
	static const char k1[] = {'a', '\0', 'b'};
	static const char k2[] = {'a', '\0', 'c'};
	static const char k3[] = {'a', '\0'};
	static const char k4[] = {'\0'};
	static const char k5[] = {'\0', '\0'};

	ck_assert_int_eq(pgmm_cache_put(c, k1, 3, TAG(1)), 0);
	ck_assert_int_eq(pgmm_cache_put(c, k2, 3, TAG(2)), 0);
	ck_assert_int_eq(pgmm_cache_put(c, k3, 2, TAG(3)), 0);
	ck_assert_int_eq(pgmm_cache_put(c, "a", 1, TAG(4)), 0);
	ck_assert_int_eq(pgmm_cache_put(c, k4, 1, TAG(5)), 0);
	ck_assert_int_eq(pgmm_cache_put(c, k5, 2, TAG(6)), 0);
	ck_assert_int_eq(pgmm_cache_put(c, "", 0, TAG(7)), 0);	/* empty key */
	ck_assert_uint_eq(pgmm_cache_count(c), 7);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, k1, 3), 1);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, k2, 3), 2);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, k3, 2), 3);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, "a", 1), 4);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, k4, 1), 5);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, k5, 2), 6);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, "", 0), 7);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, NULL, 0), 7);
	ck_assert_ptr_null(pgmm_cache_get(c, "a\0d", 3));
	/* NULL key with a length is a misuse, refused */
	ck_assert_ptr_null(pgmm_cache_get(c, NULL, 3));
	ck_assert_int_eq(pgmm_cache_put(c, NULL, 3, TAG(9)), -1);
	ck_assert_int_eq(pgmm_cache_remove(c, NULL, 3), -1);
	ck_assert_int_eq(pgmm_cache_remove(c, k1, 3), 0);
	ck_assert_uint_eq(last_freed, 1);
	ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, k2, 3), 2);
	ck_assert_int_eq(pgmm_cache_remove(c, NULL, 0), 0);
	ck_assert_uint_eq(last_freed, 7);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 7);
}
END_TEST

/* 100k keys of random bytes (NULs included), 4..80 bytes; key i starts
 * with i so keys are distinct. */
#define MANY 100000

typedef struct
{
	unsigned char *buf;
	size_t	   *off;
	size_t	   *len;
}			keyset;

static keyset
make_keys(size_t n)
{
	keyset		ks;
	size_t		total = 0;

	ks.off = malloc(n * sizeof(size_t));
	ks.len = malloc(n * sizeof(size_t));
	ck_assert(ks.off != NULL && ks.len != NULL);
	for (size_t i = 0; i < n; i++)
	{
		ks.len[i] = 4 + (size_t) (rng_next() % 77);
		ks.off[i] = total;
		total += ks.len[i];
	}
	ks.buf = malloc(total);
	ck_assert(ks.buf != NULL);
	rng_fill(ks.buf, total);
	for (size_t i = 0; i < n; i++)
	{
		unsigned char *k = ks.buf + ks.off[i];

		k[0] = (unsigned char) i;
		k[1] = (unsigned char) (i >> 8);
		k[2] = (unsigned char) (i >> 16);
		k[3] = (unsigned char) (i >> 24);
	}
	return ks;
}

static void
free_keys(keyset *ks)
{
	free(ks->buf);
	free(ks->off);
	free(ks->len);
}

#define KEY(ks, i) ((ks).buf + (ks).off[i]), ((ks).len[i])

START_TEST(test_cache_many_keys)
{
	keyset		ks = make_keys(MANY);
	pgmm_cache *c = pgmm_cache_new(_i == 0 ? 0 : MANY, count_free);

	freed_map = calloc(MANY + 1, 1);
	freed_map_len = MANY + 1;
	ck_assert_ptr_nonnull(freed_map);
	for (size_t i = 0; i < MANY; i++)
		ck_assert_int_eq(pgmm_cache_put(c, KEY(ks, i), TAG(i + 1)), 0);
	ck_assert_uint_eq(pgmm_cache_count(c), MANY);
	ck_assert_uint_eq(n_freed, 0);
	for (size_t i = 0; i < MANY; i++)
		ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, KEY(ks, i)), i + 1);
	/* a one-byte change, or one byte less, misses */
	for (size_t i = 0; i < MANY; i += 97)
	{
		unsigned char tmp[80];
		size_t		len = ks.len[i];

		memcpy(tmp, ks.buf + ks.off[i], len);
		tmp[len - 1] ^= 0x01;
		ck_assert_ptr_null(pgmm_cache_get(c, tmp, len));
		tmp[len - 1] ^= 0x01;
		ck_assert_ptr_null(pgmm_cache_get(c, tmp, len - 1));
	}
	/* remove the odd ones */
	for (size_t i = 1; i < MANY; i += 2)
		ck_assert_int_eq(pgmm_cache_remove(c, KEY(ks, i)), 0);
	ck_assert_uint_eq(pgmm_cache_count(c), MANY / 2);
	ck_assert_uint_eq(n_freed, MANY / 2);
	for (size_t i = 0; i < MANY; i++)
	{
		uintptr_t	want = (i % 2) ? 0 : i + 1;

		ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, KEY(ks, i)), want);
		ck_assert_uint_eq(freed_map[i + 1], (i % 2) ? 1 : 0);
	}
	/* replace the even ones */
	for (size_t i = 0; i < MANY; i += 2)
		ck_assert_int_eq(pgmm_cache_put(c, KEY(ks, i), TAG(i + 2)), 0);
	ck_assert_uint_eq(n_freed, MANY);
	for (size_t i = 0; i < MANY; i += 2)
		ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, KEY(ks, i)), i + 2);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, MANY + MANY / 2);
	free(freed_map);
	freed_map = NULL;
	free_keys(&ks);
}
END_TEST

/* 100k distinct keys through a 1000-entry cache: exactly the last 1000
 * survive, every other value is freed exactly once. */
START_TEST(test_cache_many_keys_evicting)
{
	enum
	{
		CAP = 1000
	};
	keyset		ks = make_keys(MANY);
	pgmm_cache *c = pgmm_cache_new(CAP, count_free);

	freed_map = calloc(MANY + 1, 1);
	freed_map_len = MANY + 1;
	ck_assert_ptr_nonnull(freed_map);
	for (size_t i = 0; i < MANY; i++)
	{
		ck_assert_int_eq(pgmm_cache_put(c, KEY(ks, i), TAG(i + 1)), 0);
		/* keep key 0 hot: it must never be evicted */
		ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, KEY(ks, 0)), 1);
	}
	ck_assert_uint_eq(pgmm_cache_count(c), CAP);
	ck_assert_uint_eq(n_freed, MANY - CAP);
	ck_assert_uint_eq(freed_map[1], 0);
	for (size_t i = 1; i < MANY; i++)
	{
		bool		kept = i >= MANY - (CAP - 1);

		ck_assert_uint_eq(freed_map[i + 1], kept ? 0 : 1);
		ck_assert_uint_eq((uintptr_t) pgmm_cache_get(c, KEY(ks, i)),
						  kept ? i + 1 : 0);
	}
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, MANY);
	free(freed_map);
	freed_map = NULL;
	free_keys(&ks);
}
END_TEST

START_TEST(test_cache_real_values)
{
	/* heap values freed by the cache: ASan/valgrind check no leak */
	pgmm_cache *c = pgmm_cache_new(8, free);

	for (int i = 0; i < 100; i++)
	{
		char		k[16];
		char	   *v = malloc(32);

		ck_assert_ptr_nonnull(v);
		snprintf(k, sizeof(k), "k%d", i % 20);
		snprintf(v, 32, "v%d", i);
		ck_assert_int_eq(pgmm_cache_put(c, k, strlen(k), v), 0);
		ck_assert_str_eq(pgmm_cache_get(c, k, strlen(k)), v);
	}
	ck_assert_int_eq(pgmm_cache_remove(c, "k19", 3), 0);
	pgmm_cache_clear(c);
	ck_assert_int_eq(pgmm_cache_put(c, "x", 1, dup_str("y")), 0);
	pgmm_cache_free(c);
}
END_TEST

START_TEST(test_cache_null_free_fn)
{
	pgmm_cache *c = pgmm_cache_new(2, NULL);
	int			a = 1,
				b = 2,
				d = 3;

	ck_assert_int_eq(pgmm_cache_put(c, "a", 1, &a), 0);
	ck_assert_int_eq(pgmm_cache_put(c, "a", 1, &b), 0);
	ck_assert_int_eq(pgmm_cache_put(c, "b", 1, &d), 0);
	ck_assert_int_eq(pgmm_cache_put(c, "c", 1, &a), 0);
	ck_assert_ptr_null(pgmm_cache_get(c, "a", 1));
	ck_assert_ptr_eq(pgmm_cache_get(c, "c", 1), &a);
	ck_assert_int_eq(pgmm_cache_remove(c, "b", 1), 0);
	pgmm_cache_clear(c);
	pgmm_cache_free(c);
}
END_TEST

START_TEST(test_cache_oom_put)
{
	pgmm_cache *c = pgmm_cache_new(2, count_free);
	char	   *owned;

	put_ok(c, "a", 1);
	put_ok(c, "b", 2);

	/* the cache is full: a failed put must neither take the value nor
	 * evict anything */
	pgmm_cache_test_fail_alloc(1);
	ck_assert_int_eq(pgmm_cache_put(c, "c", 1, TAG(3)), -1);
	ck_assert_uint_eq(n_freed, 0);
	ck_assert_uint_eq(pgmm_cache_count(c), 2);
	ck_assert_ptr_null(pgmm_cache_get(c, "c", 1));
	ck_assert_uint_eq(get_tag(c, "a"), 1);
	ck_assert_uint_eq(get_tag(c, "b"), 2);

	/* replacing needs no memory: still works, old value freed */
	ck_assert_int_eq(pgmm_cache_put(c, "a", 1, TAG(4)), 0);
	ck_assert_uint_eq(n_freed, 1);
	ck_assert_uint_eq(last_freed, 1);

	/* a heap value the caller still owns after the failure */
	owned = dup_str("caller's");
	ck_assert_ptr_nonnull(owned);
	ck_assert_int_eq(pgmm_cache_put(c, "d", 1, owned), -1);
	ck_assert_str_eq(owned, "caller's");
	free(owned);

	/* memory back: normal again */
	pgmm_cache_test_fail_alloc(0);
	put_ok(c, "c", 3);
	ck_assert_uint_eq(pgmm_cache_count(c), 2);
	ck_assert_uint_eq(n_freed, 2);	/* b was the least recently used */
	ck_assert_uint_eq(last_freed, 2);
	pgmm_cache_free(c);
	ck_assert_uint_eq(n_freed, 4);
}
END_TEST

/* Fail the Nth allocation for every N: every path returns cleanly, the
 * cache stays consistent, and nothing leaks (under ASan/valgrind). */
START_TEST(test_cache_oom_every_allocation)
{
	enum
	{
		NKEYS = 300
	};
	unsigned long n;
	bool		completed = false;

	for (n = 1; !completed && n < 10000; n++)
	{
		pgmm_cache *c;
		size_t		stored = 0;
		bool		failed = false;

		n_freed = 0;
		pgmm_cache_test_fail_alloc(n);
		c = pgmm_cache_new(_i == 0 ? 0 : 50, count_free);
		if (c == NULL)
			continue;
		for (uintptr_t i = 0; i < NKEYS; i++)
		{
			char		k[16];
			int			rc;

			snprintf(k, sizeof(k), "key-%u", (unsigned) i);
			rc = pgmm_cache_put(c, k, strlen(k), TAG(i + 1));
			if (rc != 0)
			{
				ck_assert_int_eq(rc, -1);
				failed = true;
				/* not taken, not stored */
				ck_assert_uint_eq(get_tag(c, k), 0);
				continue;
			}
			stored++;
			ck_assert_uint_eq(get_tag(c, k), i + 1);
		}
		if (!failed)
			completed = true;
		ck_assert_uint_eq(pgmm_cache_count(c) + n_freed, stored);
		pgmm_cache_test_fail_alloc(0);
		/* still usable */
		put_ok(c, "after", 9999);
		ck_assert_uint_eq(get_tag(c, "after"), 9999);
		pgmm_cache_free(c);
		ck_assert_uint_eq(n_freed, stored + 1);
	}
	ck_assert_msg(completed, "never ran without an allocation failure");
}
END_TEST

START_TEST(test_cache_oom_new)
{
	pgmm_cache_test_fail_alloc(1);
	ck_assert_ptr_null(pgmm_cache_new(10, count_free));
	pgmm_cache_test_fail_alloc(2);
	ck_assert_ptr_null(pgmm_cache_new(10, count_free));
	pgmm_cache_test_fail_alloc(0);
}
END_TEST

/* ---------------------------------------------------------------- runner */

static Suite *
plancache_suite(void)
{
	Suite	   *s = suite_create("plancache");
	TCase	   *tc;

	tc = tcase_create("siphash");
	tcase_add_checked_fixture(tc, reset_counters, NULL);
	tcase_add_test(tc, test_siphash_vectors_file);
	tcase_add_test(tc, test_siphash_vectors_embedded);
	tcase_add_test(tc, test_siphash_matches_reference_impl);
	tcase_add_test(tc, test_siphash_process_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, reset_counters, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_cache_put_get);
	tcase_add_test(tc, test_cache_replace);
	tcase_add_test(tc, test_cache_remove);
	tcase_add_test(tc, test_cache_evict_lru);
	tcase_add_test(tc, test_cache_capacity_one);
	tcase_add_test(tc, test_cache_clear);
	tcase_add_test(tc, test_cache_nul_bytes);
	tcase_add_loop_test(tc, test_cache_many_keys, 0, 2);	/* unbounded, bounded */
	tcase_add_test(tc, test_cache_many_keys_evicting);
	tcase_add_test(tc, test_cache_real_values);
	tcase_add_test(tc, test_cache_null_free_fn);
	tcase_add_test(tc, test_cache_oom_put);
	tcase_add_loop_test(tc, test_cache_oom_every_allocation, 0, 2);
	tcase_add_test(tc, test_cache_oom_new);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner    *sr = srunner_create(plancache_suite());
	int			failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
