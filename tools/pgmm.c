/*
 * pgmm -- the admin command: a thin layer over the admin API in pgmm.h.
 *
 *   pgmm init --node NAME=CONNINFO --node NAME=CONNINFO [...] [--stride N]
 *   pgmm -d CONNINFO ddl 'SQL' [--catchup-wait SECONDS]
 *   pgmm -d CONNINFO reference TABLE [--owner NAME]
 *   pgmm -d CONNINFO distribute TABLE COLUMN [--shards S] [--colocate-with TABLE]
 *   pgmm -d CONNINFO status [--json]
 *   pgmm -d CONNINFO failover NODE [--to NODE ...] [--yes] [--json]
 *   pgmm -d CONNINFO verify | recover | uninstall
 *   pgmm -d CONNINFO repair [TABLE ...] [--dry-run] [--json]
 *   pgmm -d CONNINFO rejoin NODE [--divergent-rows FILE]
 *
 * Exit status: 0 success, 1 the operation failed, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgmm.h"

static const char usage_text[] =
	"usage:\n"
	"  pgmm init --node NAME=CONNINFO --node NAME=CONNINFO [...] [--stride N]\n"
	"  pgmm [-d CONNINFO] ddl 'SQL' [--catchup-wait SECONDS]\n"
	"  pgmm [-d CONNINFO] reference TABLE [--owner NAME]\n"
	"  pgmm [-d CONNINFO] distribute TABLE COLUMN [--shards S] [--colocate-with TABLE]\n"
	"  pgmm [-d CONNINFO] drop TABLE [TABLE...]  drop pgmm tables (colocated ones together)\n"
	"  pgmm [-d CONNINFO] status [--json]\n"
	"  pgmm [-d CONNINFO] verify [--json]  compare every shard with its owner's copy\n"
	"  pgmm [-d CONNINFO] repair [TABLE ...] [--dry-run] [--json]\n"
	"                                make every copy equal to its owner's (clears stalled subscriptions)\n"
	"  pgmm [-d CONNINFO] rejoin NODE [--divergent-rows FILE]\n"
	"                                bring a failed master back (owning nothing); its divergent rows go to FILE\n"
	"  pgmm [-d CONNINFO] recover     finish two-phase commits a failure left open\n"
	"  pgmm [-d CONNINFO] durability off | any N | all  commits wait for N (all) other masters\n"
	"  pgmm [-d CONNINFO] failover NODE [--to NODE ...] [--yes] [--json]\n"
	"                     the live masters take over the shards of NODE, which is down\n"
	"                     (--yes: NODE still answers but is cut off; it is fenced)\n"
	"  pgmm [-d CONNINFO] uninstall   remove pgmm from every master (rows stay)\n"
	"  pgmm --version | --help\n"
	"-d names any one master (default: $PGMM_CONNINFO); pgmm finds the others in its catalog.\n"
	"--lock-timeout MS (before the command): how long a catalog change waits for a lock\n"
	"  (default 10000 ms); past it the change fails and names who holds the lock.\n";

static int quiet;
static int lock_timeout_ms = -1;

static void
print_notice(void *arg, const char *msg)
{
	(void) arg;
	if (!quiet)
		fprintf(stderr, "pgmm: %s\n", msg);
}

/* status for people: on a terminal, the lines of failed masters (FENCED,
 * not fenced, STALE) in red, so nobody misses one. */
static void
put_status(const char *s, int json)
{
	int color = !json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;

	while (*s)
	{
		size_t n = strcspn(s, "\n");
		int red = 0;

		if (color)
		{
			char *line = strndup(s, n);

			red = line && (strstr(line, " FENCED ") || strstr(line, "not fenced") || strstr(line, "failed masters:"));
			free(line);
		}
		printf("%s%.*s%s", red ? "\033[1;31m" : "", (int) n, s, red ? "\033[0m" : "");
		s += n;
		if (*s == '\n')
		{
			putchar('\n');
			s++;
		}
	}
}

static int
usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "pgmm: %s\n", msg);
	fputs(usage_text, stderr);
	return 2;
}

static int
parse_int(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < 0 || v > 1000000)
		return -1;
	*out = (int) v;
	return 0;
}

static int
cmd_init(int argc, char **argv)
{
	const char **nodes = calloc((size_t) argc + 1, sizeof(char *));
	int n = 0, stride = 0, i, rc;
	char *err = NULL;

	if (nodes == NULL)
		return 1;
	for (i = 0; i < argc; i++)
	{
		if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
			nodes[n++] = argv[++i];
		else if (strncmp(argv[i], "--node=", 7) == 0)
			nodes[n++] = argv[i] + 7;
		else if (strcmp(argv[i], "--stride") == 0 && i + 1 < argc)
		{
			if (parse_int(argv[++i], &stride) < 0 || stride < 2)
			{
				free(nodes);
				return usage("--stride takes an integer of at least 2");
			}
		}
		else
		{
			fprintf(stderr, "pgmm: init: unexpected argument \"%s\"\n", argv[i]);
			free(nodes);
			return usage(NULL);
		}
	}
	rc = pgmm_admin_init(nodes, n, stride, &err);
	free(nodes);
	if (rc < 0)
	{
		fprintf(stderr, "pgmm: init failed: %s\n", err ? err : "out of memory");
		free(err);
		return 1;
	}
	if (!quiet)
		printf("pgmm: cluster of %d masters initialised\n", n);
	return 0;
}

static PGMMadmin *
connect_admin(const char *conninfo)
{
	PGMMadmin *a;

	if (conninfo == NULL)
	{
		usage("no master given: use -d CONNINFO or set PGMM_CONNINFO");
		return NULL;
	}
	a = pgmm_admin_connect(conninfo);
	if (a == NULL)
	{
		fprintf(stderr, "pgmm: out of memory\n");
		return NULL;
	}
	if (!pgmm_admin_ok(a))
	{
		fprintf(stderr, "pgmm: %s\n", pgmm_admin_error(a));
		pgmm_admin_finish(a);
		return NULL;
	}
	pgmm_admin_set_notice(a, print_notice, NULL);
	if (lock_timeout_ms > 0 && pgmm_admin_set_lock_timeout(a, lock_timeout_ms) < 0)
	{
		fprintf(stderr, "pgmm: %s\n", pgmm_admin_error(a));
		pgmm_admin_finish(a);
		return NULL;
	}
	return a;
}

int
main(int argc, char **argv)
{
	const char *conninfo = getenv("PGMM_CONNINFO");
	const char *command, *rows_file = NULL;
	PGMMadmin *a;
	int i = 1, rc = 0, catchup_ms = 0;
	char mode[64] = "";

	while (i < argc && argv[i][0] == '-')
	{
		if ((strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--dbname") == 0) && i + 1 < argc)
		{
			conninfo = argv[i + 1];
			i += 2;
		}
		else if (strcmp(argv[i], "--lock-timeout") == 0 || strncmp(argv[i], "--lock-timeout=", 15) == 0)
		{
			const char *v = argv[i][14] == '=' ? argv[i] + 15 : (i + 1 < argc ? argv[i + 1] : NULL);
			char *end;
			long ms;

			if (v == NULL)
				return usage("--lock-timeout takes a number of milliseconds");
			ms = strtol(v, &end, 10);
			if (end == v || *end != '\0' || ms < 1 || ms > 3600000)
				return usage("--lock-timeout takes a number of milliseconds from 1 to 3600000");
			lock_timeout_ms = (int) ms;
			i += argv[i][14] == '=' ? 1 : 2;
		}
		else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
		{
			quiet = 1;
			i++;
		}
		else if (strcmp(argv[i], "--version") == 0)
		{
			printf("pgmm %s\n", pgmm_version());
			return 0;
		}
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			fputs(usage_text, stdout);
			return 0;
		}
		else
		{
			fprintf(stderr, "pgmm: unknown option \"%s\"\n", argv[i]);
			return usage(NULL);
		}
	}
	if (i >= argc)
		return usage("no command given");
	command = argv[i++];
	if (strcmp(command, "init") == 0)
		return cmd_init(argc - i, argv + i);
	if (strcmp(command, "help") == 0)
	{
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(command, "ddl") != 0 && strcmp(command, "reference") != 0 && strcmp(command, "distribute") != 0 &&
	    strcmp(command, "drop") != 0 && strcmp(command, "failover") != 0 &&
	    strcmp(command, "status") != 0 && strcmp(command, "verify") != 0 && strcmp(command, "recover") != 0 &&
	    strcmp(command, "uninstall") != 0 && strcmp(command, "repair") != 0 &&
	    strcmp(command, "rejoin") != 0 && strcmp(command, "durability") != 0)
	{
		fprintf(stderr, "pgmm: unknown command \"%s\"\n", command);
		return usage(NULL);
	}
	/* Check the arguments before connecting. */
	if (strcmp(command, "ddl") == 0)
	{
		if (argc - i == 3 && strcmp(argv[i + 1], "--catchup-wait") == 0)
		{
			char *end;
			double sec = strtod(argv[i + 2], &end);

			if (*argv[i + 2] == '\0' || *end != '\0' || !(sec >= 0.001 && sec <= 86400))
				return usage("--catchup-wait takes seconds from 0.001 to 86400");
			catchup_ms = (int) (sec * 1000 + 0.5);
		}
		else if (argc - i != 1)
			return usage("ddl takes exactly one SQL argument (and optionally --catchup-wait SECONDS)");
	}
	if (strcmp(command, "distribute") == 0 && argc - i < 2)
		return usage("distribute needs TABLE and COLUMN");
	if (strcmp(command, "reference") == 0 && argc - i < 1)
		return usage("reference needs TABLE");
	if (strcmp(command, "drop") == 0 && argc - i < 1)
		return usage("drop needs at least one TABLE");
	if (strcmp(command, "durability") == 0)
	{
		/* "any N" as two words or one; the library checks the rest. */
		if (argc - i < 1 || argc - i > 2)
			return usage("durability takes off, any N or all");
		snprintf(mode, sizeof mode, "%.40s%s%.20s", argv[i], argc - i == 2 ? " " : "", argc - i == 2 ? argv[i + 1] : "");
	}
	if (strcmp(command, "failover") == 0)
	{
		int k;

		if (argc - i < 1 || argv[i][0] == '-')
			return usage("failover needs the NODE that failed");
		for (k = i + 1; k < argc; k++)
		{
			if (strcmp(argv[k], "--to") == 0 && k + 1 < argc && argv[k + 1][0] != '-')
				k++;
			else if (strcmp(argv[k], "--yes") != 0 && strcmp(argv[k], "--json") != 0)
				return usage("failover: unexpected argument (failover NODE [--to NODE ...] [--yes] [--json])");
		}
	}
	if (strcmp(command, "repair") == 0)
	{
		int k;

		for (k = i; k < argc; k++)
			if (argv[k][0] == '-' && strcmp(argv[k], "--dry-run") != 0 && strcmp(argv[k], "--json") != 0)
			{
				fprintf(stderr, "pgmm: repair: unknown option \"%s\"\n", argv[k]);
				return usage(NULL);
			}
	}
	if (strcmp(command, "rejoin") == 0)
	{
		if (argc - i == 1 && argv[i][0] != '-')
			rows_file = NULL;
		else if (argc - i == 3 && argv[i][0] != '-' && strcmp(argv[i + 1], "--divergent-rows") == 0 &&
		         argv[i + 2][0] != '\0')
			rows_file = argv[i + 2];
		else
			return usage("rejoin takes NODE [--divergent-rows FILE]");
	}
	a = connect_admin(conninfo);
	if (a == NULL)
		return conninfo ? 1 : 2;

	if (strcmp(command, "ddl") == 0)
	{
		if (catchup_ms > 0)
			(void) pgmm_admin_set_catchup_wait(a, catchup_ms);
		rc = pgmm_admin_ddl(a, argv[i]);
	}
	else if (strcmp(command, "drop") == 0)
		rc = pgmm_admin_drop(a, (const char *const *) (argv + i), argc - i);
	else if (strcmp(command, "reference") == 0)
	{
		const char *table = argv[i++], *owner = NULL;

		for (; i < argc; i++)
		{
			if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc)
				owner = argv[++i];
			else
			{
				pgmm_admin_finish(a);
				return usage("reference: unexpected argument");
			}
		}
		rc = pgmm_admin_reference(a, table, owner);
	}
	else if (strcmp(command, "distribute") == 0)
	{
		const char *table = argv[i], *column = argv[i + 1], *colo = NULL;
		int shards = 0;

		for (i += 2; i < argc; i++)
		{
			if (strcmp(argv[i], "--shards") == 0 && i + 1 < argc)
			{
				if (parse_int(argv[++i], &shards) < 0 || shards < 1 || shards > 4096)
				{
					pgmm_admin_finish(a);
					return usage("--shards takes an integer from 1 to 4096");
				}
			}
			else if (strcmp(argv[i], "--colocate-with") == 0 && i + 1 < argc)
				colo = argv[++i];
			else
			{
				pgmm_admin_finish(a);
				return usage("distribute: unexpected argument");
			}
		}
		rc = pgmm_admin_distribute(a, table, column, shards, colo);
	}
	else if (strcmp(command, "status") == 0)
	{
		int json = i < argc && strcmp(argv[i], "--json") == 0;
		char *s;

		if (i < argc && !json)
		{
			pgmm_admin_finish(a);
			return usage("status: unexpected argument");
		}
		s = pgmm_admin_status(a, json);
		if (s == NULL)
			rc = -1;
		else
		{
			put_status(s, json);
			free(s);
		}
	}
	else if (strcmp(command, "verify") == 0)
	{
		int diverged = 0;
		int json = i < argc && strcmp(argv[i], "--json") == 0;
		char *s;

		if (i + json < argc)
		{
			pgmm_admin_finish(a);
			return usage("verify: unexpected argument");
		}
		s = pgmm_admin_verify_json(a, json, &diverged);

		if (s == NULL)
			rc = -1;
		else
		{
			fputs(s, stdout);
			free(s);
			if (diverged)
			{
				fprintf(stderr, "pgmm: %d difference(s) between masters\n", diverged);
				pgmm_admin_finish(a);
				return 3;
			}
		}
	}
	else if (strcmp(command, "repair") == 0)
	{
		const char **tables = calloc((size_t) (argc - i) + 1, sizeof(char *));
		int ntables = 0, dry_run = 0, json = 0, differing = 0;
		char *s;

		if (tables == NULL)
		{
			pgmm_admin_finish(a);
			return 1;
		}
		for (; i < argc; i++)
			if (strcmp(argv[i], "--dry-run") == 0)
				dry_run = 1;
			else if (strcmp(argv[i], "--json") == 0)
				json = 1;
			else
				tables[ntables++] = argv[i];
		s = pgmm_admin_repair(a, tables, ntables, dry_run, json, &differing);
		free(tables);
		if (s == NULL)
			rc = -1;
		else
		{
			fputs(s, stdout);
			free(s);
			/* a dry run that found differences exits like verify */
			if (dry_run && differing)
			{
				pgmm_admin_finish(a);
				return 3;
			}
		}
	}
	else if (strcmp(command, "rejoin") == 0)
	{
		char *s = pgmm_admin_rejoin(a, argv[i], rows_file);

		if (s == NULL)
			rc = -1;
		else
		{
			fputs(s, stdout);
			free(s);
		}
	}
	else if (strcmp(command, "recover") == 0)
	{
		int n = 0;

		rc = pgmm_admin_recover(a, &n);
		if (rc == 0 && !quiet)
			printf("pgmm: %d unfinished transaction(s) resolved\n", n);
	}
	else if (strcmp(command, "uninstall") == 0)
		rc = pgmm_admin_uninstall(a);
	else if (strcmp(command, "durability") == 0)
		rc = pgmm_admin_durability(a, mode);
	else if (strcmp(command, "failover") == 0)
	{
		const char *node = argv[i];
		const char **to = calloc((size_t) argc + 1, sizeof(char *));
		int nto = 0, yes = 0, json = 0;
		char *s;

		if (to == NULL)
		{
			pgmm_admin_finish(a);
			fprintf(stderr, "pgmm: out of memory\n");
			return 1;
		}
		for (i++; i < argc; i++)
		{
			if (strcmp(argv[i], "--to") == 0)
				to[nto++] = argv[++i];
			else if (strcmp(argv[i], "--yes") == 0)
				yes = 1;
			else
				json = 1;
		}
		s = pgmm_admin_failover(a, node, to, nto, yes, json);
		free(to);
		if (s == NULL)
			rc = -1;
		else
		{
			if (!quiet || json)
				fputs(s, stdout);
			free(s);
		}
	}

	if (rc < 0)
		fprintf(stderr, "pgmm: %s failed: %s\n", command, pgmm_admin_error(a));
	pgmm_admin_finish(a);
	return rc < 0 ? 1 : 0;
}
