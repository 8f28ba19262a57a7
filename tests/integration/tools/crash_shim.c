/*
 * crash_shim.c -- a test-only LD_PRELOAD library that kills the client
 * process at a chosen point of a two-phase commit, for real: after the
 * server has answered the Nth statement that starts with a given prefix,
 * the process leaves with _exit(70) -- no cleanup, no ROLLBACK, sockets
 * simply closed, as when an application crashes.
 *
 *   PGMM_CRASH_AFTER   statement prefix, e.g. "COMMIT PREPARED" or
 *                      "PREPARE TRANSACTION" (unset: the shim does nothing)
 *   PGMM_CRASH_COUNT   N (default 1)
 *
 * It wraps libpq's PQexec, the call pgmm's two-phase-commit module sends
 * PREPARE TRANSACTION / COMMIT PREPARED with.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

static int seen;

/* The project builds with -fvisibility=hidden: this one must be seen. */
__attribute__((visibility("default"))) PGresult *
PQexec(PGconn *conn, const char *query)
{
	static PGresult *(*real)(PGconn *, const char *);
	const char *after = getenv("PGMM_CRASH_AFTER");
	PGresult *r;

	if (real == NULL)
		real = (PGresult * (*) (PGconn *, const char *)) dlsym(RTLD_NEXT, "PQexec");
	r = real(conn, query);
	if (after && *after && query && strncmp(query, after, strlen(after)) == 0)
	{
		const char *n = getenv("PGMM_CRASH_COUNT");

		if (++seen >= (n && *n ? atoi(n) : 1))
			_exit(70);
	}
	return r;
}
