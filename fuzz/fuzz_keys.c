/*
 * libFuzzer target for the key parsers of lib/pghash.c: the first byte picks
 * a key type and a format, the rest is the value exactly as a client would
 * send it.  Checks: no crash or sanitizer report, the error message is
 * terminated, and a value accepted in text form hashes the same every time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pghash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pgmm_keytype t;
	char err[256];
	uint64_t h1 = 0, h2 = 0;
	char *val;
	int rc, rc2;

	if (size < 1)
		return 0;
	t = (pgmm_keytype) (1 + data[0] % PGMM_KEY_NUMERIC);
	/* exact-size copy: an over-read is an ASan report */
	val = malloc(size - 1 ? size - 1 : 1);
	if (val == NULL)
		return 0;
	memcpy(val, data + 1, size - 1);
	memset(err, 'x', sizeof err);
	if (data[0] & 0x80)
	{
		rc = pgmm_key_hash_binary(t, 0, val, size - 1, &h1, err, sizeof err);
		rc2 = pgmm_key_hash_binary(t, 0, val, size - 1, &h2, err, sizeof err);
	}
	else
	{
		rc = pgmm_key_hash_text(t, val, size - 1, &h1, err, sizeof err);
		rc2 = pgmm_key_hash_text(t, val, size - 1, &h2, err, sizeof err);
	}
	if (rc != rc2 || (rc == 0 && h1 != h2))
		abort();
	/* failures carry a code of pgmm_hash_status; only "unknowable" has no SQLSTATE */
	if (rc > 0 || rc < PGMM_HASH_EUNKNOWABLE ||
		(rc < 0 && rc != PGMM_HASH_EUNKNOWABLE && pgmm_hash_sqlstate(rc) == NULL))
		abort();
	if (rc != 0 && memchr(err, '\0', sizeof err) == NULL)
		abort();
	(void) pgmm_hash_remainder(h1, 1 + (uint32_t) (size % 4096));
	free(val);
	return 0;
}
