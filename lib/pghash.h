/*
 * pghash.h -- PostgreSQL's hash-partition routing, reproduced bit for bit.
 *
 * Pure logic: no libpq connection, no allocation.  A row of a table
 * PARTITION BY HASH (k) with every partition at MODULUS m goes to remainder
 *     (hash + PGMM_HASH_PARTITION_ADD) mod m      (unsigned 64-bit)
 * where hash = <type>extended(k, PGMM_HASH_PARTITION_SEED).
 */
#ifndef PGMM_PGHASH_H
#define PGMM_PGHASH_H

#include <stddef.h>
#include <stdint.h>

#define PGMM_HASH_PARTITION_SEED UINT64_C(0x7A5B22367996DCFD)
#define PGMM_HASH_PARTITION_ADD  UINT64_C(0x49a0f4dd15e5a8e3)

/* Key types pgmm can route on.  Order is part of no ABI. */
typedef enum pgmm_keytype
{
	PGMM_KEY_INVALID = 0,
	PGMM_KEY_BOOL,
	PGMM_KEY_INT2,
	PGMM_KEY_INT4,
	PGMM_KEY_INT8,
	PGMM_KEY_TEXT,
	PGMM_KEY_VARCHAR,
	PGMM_KEY_BPCHAR,
	PGMM_KEY_UUID,
	PGMM_KEY_BYTEA,
	PGMM_KEY_DATE,
	PGMM_KEY_TIMESTAMP,
	PGMM_KEY_TIMESTAMPTZ,
	PGMM_KEY_NUMERIC
} pgmm_keytype;

/* pg_type.typname ("int4", "bpchar", ...) or the SQL spelling ("integer",
 * "character varying", "timestamp with time zone", ...), case-insensitive.
 * PGMM_KEY_INVALID for anything else. */
pgmm_keytype pgmm_keytype_from_name(const char *name);
/* The pg_type.typname of a key type ("int4"); NULL for INVALID. */
const char *pgmm_keytype_name(pgmm_keytype t);
/* The built-in type OID (23 for int4, ...); 0 for INVALID. */
unsigned int pgmm_keytype_oid(pgmm_keytype t);
/* The key type of a built-in type OID; INVALID when not routable. */
pgmm_keytype pgmm_keytype_from_oid(unsigned int oid);
/* int2, int4 or int8: the key types pgmm's offset sequences (pgmm_next_id,
 * the owned-shard DEFAULT) hand out.  The one such test; 0 for others. */
int pgmm_keytype_is_integer(pgmm_keytype t);

/* PostgreSQL's hash_bytes_extended / hash_bytes_uint32_extended (lookup3). */
uint64_t pgmm_hash_bytes_extended(const unsigned char *k, size_t len, uint64_t seed);
uint64_t pgmm_hash_uint32_extended(uint32_t k, uint64_t seed);

/*
 * What a hash function's failure is (its negative return value), so that
 * callers never read the message to tell errors apart.
 */
typedef enum pgmm_hash_status
{
	PGMM_HASH_OK = 0,
	PGMM_HASH_EINVAL = -1,        /* bad arguments (NULL pointer, invalid key type, > 1 GB) */
	PGMM_HASH_ESYNTAX = -2,       /* not a valid value of the type (22P02) */
	PGMM_HASH_ERANGE = -3,        /* out of the type's range, numeric overflow (22003) */
	PGMM_HASH_ETOOLONG = -4,      /* too long for char(n) (22001) */
	PGMM_HASH_EDATETIME = -5,     /* date/time field or value out of range (22008) */
	PGMM_HASH_EUNKNOWABLE = -6    /* valid, but its value depends on the server (DateStyle,
	                                 TimeZone, clock): only the server can route it */
} pgmm_hash_status;

/* The SQLSTATE PostgreSQL uses for a failure code of the functions below;
 * NULL for PGMM_HASH_OK and PGMM_HASH_EUNKNOWABLE (not an error of the key). */
const char *pgmm_hash_sqlstate(int rc);

/*
 * The key type's extended hash (seed PGMM_HASH_PARTITION_SEED) of a value
 * given in PostgreSQL's text input form, exactly as a client would send it
 * as a literal or a text-format parameter.  Returns 0 and sets *hash, or a
 * negative pgmm_hash_status and writes a message (PostgreSQL-like: invalid
 * input syntax for type integer: "abc") into err (errlen bytes, always
 * NUL-terminated).  Values whose hash the client cannot know without the
 * server (a timestamptz without an explicit UTC offset, 'now', 'today',
 * ...) return PGMM_HASH_EUNKNOWABLE.
 */
int pgmm_key_hash_text(pgmm_keytype t, const char *val, size_t len,
                       uint64_t *hash, char *err, size_t errlen);

/*
 * Same for a binary-format parameter.  param_type is the OID the caller gave
 * in paramTypes (0 = unspecified, taken as the key type itself); integer
 * widths are converted (an int8 param for an int4 key, ...); any other
 * mismatch returns PGMM_HASH_ESYNTAX with a message.
 */
int pgmm_key_hash_binary(pgmm_keytype t, unsigned int param_type,
                         const char *val, size_t len,
                         uint64_t *hash, char *err, size_t errlen);

/* (hash + PGMM_HASH_PARTITION_ADD) mod modulus; modulus > 0. */
uint32_t pgmm_hash_remainder(uint64_t hash, uint32_t modulus);

/*
 * Variants for a key column declared with a type modifier (the column's
 * pg_attribute.atttypmod; -1 means none, and then these are exactly the
 * functions above).  The server coerces a value to the column's typmod
 * before routing it, so the hash depends on it: numeric(p,s) rounds to s
 * decimal places (and refuses values wider than p digits),
 * timestamp(p)/timestamptz(p) round to p fractional digits, varchar(n)
 * silently cuts excess trailing spaces and char(n) refuses over-long
 * values.  Typmods of other key types are ignored.
 */
int pgmm_key_hash_text_typmod(pgmm_keytype t, int32_t typmod,
                              const char *val, size_t len,
                              uint64_t *hash, char *err, size_t errlen);
int pgmm_key_hash_binary_typmod(pgmm_keytype t, int32_t typmod,
                                unsigned int param_type,
                                const char *val, size_t len,
                                uint64_t *hash, char *err, size_t errlen);

/* The remainder a SQL NULL key goes to: always 0 (the server skips NULL
 * columns when combining hashes, leaving 0). */
#define PGMM_NULL_KEY_REMAINDER 0

#endif
