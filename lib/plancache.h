/*
 * plancache.h -- a bounded hash table from statement text to an opaque
 * value, keyed with SipHash-2-4 (libsodium crypto_shorthash) under a
 * per-process random key so that SQL text an attacker influences cannot
 * force collisions (HashDoS).  Also a general string-keyed map for small
 * tables (catalog lookups).  Not thread-safe: one per connection.
 */
#ifndef PGMM_PLANCACHE_H
#define PGMM_PLANCACHE_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of msg under the process key (initialised on first use;
 * pgmm_siphash_init() must have succeeded, see below). */
uint64_t pgmm_siphash(const void *msg, size_t len);
/* SipHash-2-4 under an explicit 16-byte key (for the reference vectors). */
uint64_t pgmm_siphash_keyed(const unsigned char key[16], const void *msg, size_t len);
/* sodium_init() + random process key; 0 / -1.  Idempotent, thread-safe. */
int pgmm_siphash_init(void);

typedef struct pgmm_cache pgmm_cache;
typedef void (*pgmm_cache_free_fn)(void *value);

/* capacity: most entries kept; beyond it the least recently used is evicted
 * (its value freed with free_fn).  NULL on out of memory. */
pgmm_cache *pgmm_cache_new(size_t capacity, pgmm_cache_free_fn free_fn);
void pgmm_cache_free(pgmm_cache *c);
/* The value stored under key (len bytes), or NULL; marks it recently used. */
void *pgmm_cache_get(pgmm_cache *c, const void *key, size_t len);
/* Store (copying the key; replacing and freeing an old value). 0 / -1 (OOM:
 * the value is NOT taken, the caller still owns it). */
int pgmm_cache_put(pgmm_cache *c, const void *key, size_t len, void *value);
int pgmm_cache_remove(pgmm_cache *c, const void *key, size_t len);
void pgmm_cache_clear(pgmm_cache *c);
size_t pgmm_cache_count(const pgmm_cache *c);

#endif
