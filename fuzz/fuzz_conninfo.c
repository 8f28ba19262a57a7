/*
 * libFuzzer target for pgmm's conninfo handling (lib/conninfo.c): option
 * splitting, secret stripping, merging.  Checks: no crash or sanitizer
 * report; a string that splits leaves libpq a part it parses;
 * stripping leaves a string libpq parses, with no password in it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgmm_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"user", "password", NULL};
	char *s = malloc(size + 1), *lp = NULL, *st, *m;
	pgmm_options o;
	pgmm_buf err;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	pgmm_buf_init(&err);
	if (pgmm_conninfo_split(s, &lp, &o, &err) == 0)
	{
		PQconninfoOption *parsed;

		/* libpq's part is something libpq accepts (a pgmm_ keyword left
		 * in it would be refused as an unknown option) */
		if (lp == NULL || (parsed = PQconninfoParse(lp, NULL)) == NULL)
			abort();
		PQconninfoFree(parsed);
		st = pgmm_conninfo_strip_secrets(s, &err);
		if (st)
		{
			/* libpq must read it back, with no password in it */
			PQconninfoOption *opts = PQconninfoParse(st, NULL), *x;

			if (opts == NULL)
				abort();
			for (x = opts; x->keyword; x++)
				if (strcmp(x->keyword, "password") == 0 && x->val && x->val[0])
					abort();
			PQconninfoFree(opts);
		}
		m = pgmm_conninfo_merge(s, "user=u password=p", keys, &err);
		free(m);
		free(st);
		free(pgmm_conninfo_describe(s));
	}
	else if (lp != NULL)
		abort();
	free(lp);
	pgmm_buf_free(&err);
	free(s);
	return 0;
}
