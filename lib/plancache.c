/*
 * plancache.c -- bounded LRU hash table keyed by SipHash-2-4.
 *
 * Keys are arbitrary byte strings (NULs allowed), hashed with libsodium's
 * crypto_shorthash (SipHash-2-4) under a random per-process key, so SQL text
 * an attacker influences cannot force collisions.
 *
 * Layout: separate chaining.  Each entry is one allocation holding the
 * bookkeeping and a copy of the key; it sits on one bucket chain (singly
 * linked) and on a circular doubly linked recency list whose head is the most
 * recently used entry.  The full 64-bit hash is kept in the entry, so a chain
 * walk compares whole keys only on a hash match, and rehashing never reads a
 * key.  The bucket array is a power of two that grows (load factor <= 1) as
 * entries are added and never beyond what the capacity needs; if growing
 * fails for lack of memory the table keeps working with longer chains.
 *
 * Semantics not spelled out in plancache.h:
 *   - capacity 0 means unbounded (no eviction): the general string map.
 *   - free_fn may be NULL: values are then never freed by the cache.
 *   - pgmm_cache_put of the value already stored under the key does not free
 *     it (it is both the old and the new value).
 *   - pgmm_cache_remove frees the value with free_fn and returns 0, or returns
 *     -1 when the key is absent.
 *   - An entry is unlinked from the table before free_fn runs on its value.
 *
 * Not thread-safe (one cache per connection); pgmm_siphash_init is.
 */
#include "plancache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#if crypto_shorthash_BYTES != 8 || crypto_shorthash_KEYBYTES != 16
#error "crypto_shorthash is expected to be SipHash-2-4 (16-byte key, 8-byte output)"
#endif

/* ---------------------------------------------------------------- SipHash */

static unsigned char process_key[crypto_shorthash_KEYBYTES];
static atomic_int siphash_state;	/* 0 not yet, 1 ready, -1 failed */
static pthread_once_t siphash_once = PTHREAD_ONCE_INIT;

static void
siphash_init_once(void)
{
	if (sodium_init() < 0)
	{
		atomic_store_explicit(&siphash_state, -1, memory_order_release);
		return;
	}
	crypto_shorthash_keygen(process_key);
	atomic_store_explicit(&siphash_state, 1, memory_order_release);
}

int
pgmm_siphash_init(void)
{
	if (atomic_load_explicit(&siphash_state, memory_order_acquire) == 0)
		pthread_once(&siphash_once, siphash_init_once);
	return atomic_load_explicit(&siphash_state, memory_order_acquire) == 1 ? 0 : -1;
}

/* The reference writes the 64-bit result little-endian; read it back so. */
static inline uint64_t
load_le64(const unsigned char b[8])
{
	return (uint64_t) b[0] | (uint64_t) b[1] << 8 | (uint64_t) b[2] << 16 |
		(uint64_t) b[3] << 24 | (uint64_t) b[4] << 32 | (uint64_t) b[5] << 40 |
		(uint64_t) b[6] << 48 | (uint64_t) b[7] << 56;
}

uint64_t
pgmm_siphash_keyed(const unsigned char key[16], const void *msg, size_t len)
{
	static const unsigned char empty[1];
	unsigned char out[crypto_shorthash_BYTES];

	crypto_shorthash(out, len ? (const unsigned char *) msg : empty,
					 (unsigned long long) len, key);
	return load_le64(out);
}

uint64_t
pgmm_siphash(const void *msg, size_t len)
{
	/* Callers are told to initialise first; do it lazily anyway. */
	if (atomic_load_explicit(&siphash_state, memory_order_acquire) != 1)
		(void) pgmm_siphash_init();
	return pgmm_siphash_keyed(process_key, msg, len);
}

/* ---------------------------------------------------------------- allocation */

/*
 * Test hook, deliberately absent from plancache.h: when n > 0, allocation
 * number n from now (1 = the next) and every later one fails until the hook
 * is reset with n = 0.  Lets the unit tests prove that every out-of-memory
 * path returns a clean error.  Hidden in the shared library like the rest.
 */
static unsigned long alloc_fail_at;	/* 0: never fail */
static unsigned long alloc_count;

void		pgmm_cache_test_fail_alloc(unsigned long n);

void
pgmm_cache_test_fail_alloc(unsigned long n)
{
	alloc_fail_at = n;
	alloc_count = 0;
}

static void *
cache_malloc(size_t size)
{
	if (alloc_fail_at != 0 && ++alloc_count >= alloc_fail_at)
		return NULL;
	return malloc(size);
}

static void *
cache_calloc(size_t n, size_t size)
{
	if (alloc_fail_at != 0 && ++alloc_count >= alloc_fail_at)
		return NULL;
	return calloc(n, size);
}

/* ---------------------------------------------------------------- the table */

typedef struct lru_link
{
	struct lru_link *prev;
	struct lru_link *next;
} lru_link;

typedef struct cache_entry
{
	lru_link	lru;			/* first: a lru_link * is a cache_entry * */
	struct cache_entry *chain;	/* next entry in the same bucket */
	uint64_t	hash;
	size_t		len;
	void	   *value;
	unsigned char key[];		/* len bytes, copied */
} cache_entry;

struct pgmm_cache
{
	cache_entry **buckets;
	size_t		mask;			/* number of buckets - 1 (power of two) */
	size_t		count;
	size_t		capacity;		/* 0: unbounded */
	size_t		max_buckets;	/* never grow beyond */
	pgmm_cache_free_fn free_fn;
	lru_link	lru;			/* sentinel: next = most, prev = least recent */
};

#define CACHE_MIN_BUCKETS ((size_t) 16)

static inline void
lru_unlink(lru_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static inline void
lru_push_front(pgmm_cache *c, lru_link *l)
{
	l->prev = &c->lru;
	l->next = c->lru.next;
	c->lru.next->prev = l;
	c->lru.next = l;
}

static inline size_t
bucket_of(const pgmm_cache *c, uint64_t hash)
{
	return (size_t) hash & c->mask;
}

pgmm_cache *
pgmm_cache_new(size_t capacity, pgmm_cache_free_fn free_fn)
{
	pgmm_cache *c;
	size_t		max_buckets;

	if (pgmm_siphash_init() < 0)
		return NULL;

	/* Smallest power of two >= capacity (>= 16), capped for huge values. */
	max_buckets = CACHE_MIN_BUCKETS;
	while (max_buckets < ((SIZE_MAX / sizeof(cache_entry *)) >> 2) &&
		   (capacity == 0 || max_buckets < capacity))
		max_buckets <<= 1;

	c = cache_malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	c->buckets = cache_calloc(CACHE_MIN_BUCKETS, sizeof(cache_entry *));
	if (c->buckets == NULL)
	{
		free(c);
		return NULL;
	}
	c->mask = CACHE_MIN_BUCKETS - 1;
	c->count = 0;
	c->capacity = capacity;
	c->max_buckets = max_buckets;
	c->free_fn = free_fn;
	c->lru.prev = c->lru.next = &c->lru;
	return c;
}

/* Unlinks every entry, then frees them (and their values). */
static void
cache_release_all(pgmm_cache *c)
{
	lru_link   *l = c->lru.next;

	memset(c->buckets, 0, (c->mask + 1) * sizeof(cache_entry *));
	c->lru.prev = c->lru.next = &c->lru;
	c->count = 0;
	while (l != &c->lru)
	{
		cache_entry *e = (cache_entry *) l;

		l = l->next;
		if (c->free_fn != NULL)
			c->free_fn(e->value);
		free(e);
	}
}

void
pgmm_cache_free(pgmm_cache *c)
{
	if (c == NULL)
		return;
	cache_release_all(c);
	free(c->buckets);
	free(c);
}

void
pgmm_cache_clear(pgmm_cache *c)
{
	if (c == NULL)
		return;
	cache_release_all(c);
}

size_t
pgmm_cache_count(const pgmm_cache *c)
{
	return c == NULL ? 0 : c->count;
}

/* Finds key; *link_out gets the pointer that points at the entry (or at the
 * end of the chain), for O(1) unlinking. */
static cache_entry *
cache_find(const pgmm_cache *c, uint64_t hash, const void *key, size_t len,
		   cache_entry ***link_out)
{
	cache_entry **link = &c->buckets[bucket_of(c, hash)];
	cache_entry *e;

	while ((e = *link) != NULL)
	{
		if (e->hash == hash && e->len == len &&
			(len == 0 || memcmp(e->key, key, len) == 0))
			break;
		link = &e->chain;
	}
	if (link_out != NULL)
		*link_out = link;
	return e;
}

/* Removes e (reached through link) from its chain and the recency list. */
static void
cache_detach(pgmm_cache *c, cache_entry **link, cache_entry *e)
{
	*link = e->chain;
	lru_unlink(&e->lru);
	c->count--;
}

static void
cache_destroy_entry(pgmm_cache *c, cache_entry *e)
{
	void	   *value = e->value;

	free(e);
	if (c->free_fn != NULL)
		c->free_fn(value);
}

/* Doubles the bucket array; on failure leaves the table as it was. */
static void
cache_grow(pgmm_cache *c)
{
	size_t		nold = c->mask + 1;
	size_t		nnew = nold << 1;
	cache_entry **nb;

	if (nnew > c->max_buckets)
		return;
	nb = cache_calloc(nnew, sizeof(cache_entry *));
	if (nb == NULL)
		return;
	for (size_t i = 0; i < nold; i++)
	{
		cache_entry *e = c->buckets[i];

		while (e != NULL)
		{
			cache_entry *next = e->chain;
			size_t		b = (size_t) e->hash & (nnew - 1);

			e->chain = nb[b];
			nb[b] = e;
			e = next;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->mask = nnew - 1;
}

void *
pgmm_cache_get(pgmm_cache *c, const void *key, size_t len)
{
	cache_entry *e;

	if (c == NULL || (key == NULL && len != 0))
		return NULL;
	e = cache_find(c, pgmm_siphash(key, len), key, len, NULL);
	if (e == NULL)
		return NULL;
	if (c->lru.next != &e->lru)
	{
		lru_unlink(&e->lru);
		lru_push_front(c, &e->lru);
	}
	return e->value;
}

int
pgmm_cache_put(pgmm_cache *c, const void *key, size_t len, void *value)
{
	uint64_t	hash;
	cache_entry **link;
	cache_entry *e;

	if (c == NULL || (key == NULL && len != 0))
		return -1;
	hash = pgmm_siphash(key, len);
	e = cache_find(c, hash, key, len, &link);
	if (e != NULL)
	{
		void	   *old = e->value;

		e->value = value;
		if (c->lru.next != &e->lru)
		{
			lru_unlink(&e->lru);
			lru_push_front(c, &e->lru);
		}
		if (old != value && c->free_fn != NULL)
			c->free_fn(old);
		return 0;
	}

	/* Allocate before evicting anything: on failure nothing has changed. */
	if (len > SIZE_MAX - sizeof(cache_entry))
		return -1;
	e = cache_malloc(sizeof(cache_entry) + len);
	if (e == NULL)
		return -1;
	e->hash = hash;
	e->len = len;
	e->value = value;
	if (len != 0)
		memcpy(e->key, key, len);

	/* Append at the chain end found above (the chain is unchanged). */
	e->chain = NULL;
	*link = e;
	lru_push_front(c, &e->lru);
	c->count++;

	/* Evict the least recently used entries beyond capacity. */
	if (c->capacity != 0)
	{
		while (c->count > c->capacity)
		{
			cache_entry *victim = (cache_entry *) c->lru.prev;

			link = &c->buckets[bucket_of(c, victim->hash)];
			while (*link != victim)
				link = &(*link)->chain;
			cache_detach(c, link, victim);
			cache_destroy_entry(c, victim);
		}
	}

	if (c->count > c->mask + 1)
		cache_grow(c);
	return 0;
}

int
pgmm_cache_remove(pgmm_cache *c, const void *key, size_t len)
{
	cache_entry **link;
	cache_entry *e;

	if (c == NULL || (key == NULL && len != 0))
		return -1;
	e = cache_find(c, pgmm_siphash(key, len), key, len, &link);
	if (e == NULL)
		return -1;
	cache_detach(c, link, e);
	cache_destroy_entry(c, e);
	return 0;
}
