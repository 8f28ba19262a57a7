/*
 * fuzz_sqlparse.c -- libFuzzer target for pgmm_sql_parse (see fuzz/run.sh).
 *
 * Parses the input as given (length-bounded, not NUL-terminated: the fuzzer
 * hands us an exact-size buffer, so AddressSanitizer sees any over-read),
 * then reads every field of the result and checks the invariants the
 * router relies on.  A violated invariant aborts, which libFuzzer reports as
 * a crash with the input saved.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

/* A volatile sink so reading the fields cannot be optimised away. */
static volatile size_t sink;

/* Read the whole string (ASan flags a missing NUL) and return its length. */
static size_t
touch_str(const char *s)
{
	size_t		n = strlen(s);

	if (n)
		sink += (unsigned char) s[0] + (unsigned char) s[n - 1];
	return n;
}

static void
touch_value(const pgmm_value *v, int in_cond)
{
	CHECK(v->kind >= PGMM_VAL_EXPR && v->kind <= PGMM_VAL_BOOL);
	switch (v->kind)
	{
		case PGMM_VAL_STRING:
		case PGMM_VAL_NUMBER:
		case PGMM_VAL_BOOL:
			CHECK(v->text != NULL);
			/* text holds no NUL: its length is exactly len */
			CHECK(touch_str(v->text) == v->len);
			break;
		default:
			CHECK(v->text == NULL && v->len == 0);
			break;
	}
	if (v->kind == PGMM_VAL_NUMBER)
	{
		size_t		k;

		CHECK(v->len > 0);
		for (k = 0; k < v->len; k++)
		{
			char		ch = v->text[k];

			CHECK((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' ||
				  ch == '+' || ch == '-');
		}
	}
	if (v->kind == PGMM_VAL_BOOL)
		CHECK(strcmp(v->text, "true") == 0 || strcmp(v->text, "false") == 0);
	if (v->kind == PGMM_VAL_PARAM)
		CHECK(v->param >= 1 && v->param <= 65535);
	else
		CHECK(v->param == 0);
	if (v->cast)
		CHECK(touch_str(v->cast) > 0);
	if (v->kind == PGMM_VAL_EXPR || v->kind == PGMM_VAL_DEFAULT)
		CHECK(v->cast == NULL);
	if (in_cond)
		CHECK(v->kind != PGMM_VAL_EXPR && v->kind != PGMM_VAL_DEFAULT);
}

static void
check_stmt(const pgmm_stmt *st)
{
	int			i;

	CHECK(st->kind >= PGMM_STMT_EMPTY && st->kind <= PGMM_STMT_OTHER);
	CHECK(st->nstatements >= 0);
	CHECK((st->kind == PGMM_STMT_EMPTY) == (st->nstatements == 0));
	CHECK(st->max_param >= 0 && st->max_param <= 65535);
	if (st->schema)
	{
		CHECK(st->table != NULL);
		CHECK(touch_str(st->schema) > 0 && touch_str(st->schema) < 64);
	}
	if (st->table)
		CHECK(touch_str(st->table) > 0 && touch_str(st->table) < 64);
	if (st->kind == PGMM_STMT_INSERT || st->kind == PGMM_STMT_UPDATE ||
		st->kind == PGMM_STMT_DELETE)
		CHECK(st->table != NULL);
	if (st->kind != PGMM_STMT_INSERT && st->kind != PGMM_STMT_UPDATE &&
		st->kind != PGMM_STMT_DELETE && st->kind != PGMM_STMT_SELECT)
		CHECK(st->table == NULL);

	/* sub-kind, AND CHAIN, setting name, tag */
	CHECK(st->sub >= PGMM_SUB_NONE && st->sub <= PGMM_SUB_COPY);
	CHECK(st->tag != NULL);
	(void) touch_str(st->tag);
	CHECK(st->chain == 0 || st->kind == PGMM_STMT_COMMIT || st->kind == PGMM_STMT_ROLLBACK);
	CHECK(st->to_default == 0 || st->sub == PGMM_SUB_SET || st->sub == PGMM_SUB_SET_LOCAL);
	if (st->kind == PGMM_STMT_SESSION)
		CHECK(st->sub >= PGMM_SUB_SET && st->sub <= PGMM_SUB_DEALLOCATE_ALL);
	else if (st->kind == PGMM_STMT_TXN_OTHER)
		CHECK(st->sub >= PGMM_SUB_SAVEPOINT && st->sub <= PGMM_SUB_LOCK);
	else if (st->kind != PGMM_STMT_OTHER)
		CHECK(st->sub == PGMM_SUB_NONE);
	if (st->setting)
	{
		size_t		k,
					n = touch_str(st->setting);

		CHECK(n > 0);
		CHECK(st->sub == PGMM_SUB_SET || st->sub == PGMM_SUB_SET_LOCAL || st->sub == PGMM_SUB_RESET);
		for (k = 0; k < n; k++)
			CHECK(st->setting[k] < 'A' || st->setting[k] > 'Z');	/* lower-cased */
	}

	/* INSERT */
	if (st->kind == PGMM_STMT_INSERT)
	{
		CHECK(st->ncols >= -1);
		CHECK(st->nrows >= -1);
	}
	else
	{
		CHECK(st->ncols == 0 && st->cols == NULL);
		CHECK(st->nrows == 0 && st->nvals == 0 && st->vals == NULL);
		CHECK(st->on_conflict == 0);
	}
	CHECK((st->ncols > 0) == (st->cols != NULL));
	for (i = 0; i < st->ncols; i++)
		CHECK(touch_str(st->cols[i]) > 0 && touch_str(st->cols[i]) < 64);
	if (st->nrows > 0)
	{
		CHECK(st->nvals > 0 && st->vals != NULL);
		if (st->ncols >= 0)
			CHECK(st->nvals == st->ncols);
		for (i = 0; i < st->nrows * st->nvals; i++)
			touch_value(&st->vals[i], 0);
	}
	else
		CHECK(st->nvals == 0 && st->vals == NULL);
	if (st->nrows == 0 && st->kind == PGMM_STMT_INSERT)
		CHECK(st->ncols == -1);

	/* UPDATE (and ON CONFLICT DO UPDATE) */
	CHECK(st->nsets >= 0);
	CHECK((st->nsets > 0) == (st->set_cols != NULL));
	if (st->nsets)
		CHECK(st->kind == PGMM_STMT_UPDATE || st->kind == PGMM_STMT_INSERT);
	if (st->kind == PGMM_STMT_UPDATE)
		CHECK(st->nsets > 0);
	for (i = 0; i < st->nsets; i++)
		CHECK(touch_str(st->set_cols[i]) > 0 && touch_str(st->set_cols[i]) < 64);

	/* WHERE */
	CHECK(st->nconds >= 0);
	CHECK((st->nconds > 0) == (st->conds != NULL));
	if (st->nconds)
	{
		CHECK(st->where_present);
		CHECK(st->table != NULL);
	}
	if (st->where_present)
		CHECK(st->kind == PGMM_STMT_UPDATE || st->kind == PGMM_STMT_DELETE ||
			  st->kind == PGMM_STMT_SELECT);
	for (i = 0; i < st->nconds; i++)
	{
		CHECK(touch_str(st->conds[i].column) > 0 && touch_str(st->conds[i].column) < 64);
		touch_value(&st->conds[i].value, 1);
	}
	CHECK(st->returning == 0 || st->returning == 1);
	CHECK(st->on_conflict == 0 || st->on_conflict == 1);
	CHECK(st->where_present == 0 || st->where_present == 1);
	CHECK(st->locking == 0 || st->locking == 1);
	if (st->returning)
		CHECK(st->kind == PGMM_STMT_INSERT || st->kind == PGMM_STMT_UPDATE ||
			  st->kind == PGMM_STMT_DELETE);
	if (st->locking)
		CHECK(st->kind == PGMM_STMT_SELECT);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pgmm_stmt  *st = NULL;
	char		err[96];
	int			rc;

	memset(err, 'X', sizeof err);
	rc = pgmm_sql_parse((const char *) data, size, &st, err, sizeof err);
	if (rc == 0)
	{
		CHECK(st != NULL);
		check_stmt(st);
		pgmm_stmt_free(st);
	}
	else
	{
		CHECK(rc == PGMM_PARSE_ERROR || rc == PGMM_PARSE_ENOMEM);
		CHECK(st == NULL);
		/* a message, always terminated within the buffer */
		CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
	}
	/* parsing is deterministic: a second run gives the same answer */
	{
		pgmm_stmt  *st2 = NULL;
		int			rc2 = pgmm_sql_parse((const char *) data, size, &st2, NULL, 0);

		CHECK(rc2 == rc);
		pgmm_stmt_free(st2);
	}
	return 0;
}
