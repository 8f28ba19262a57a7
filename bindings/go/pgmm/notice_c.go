package pgmm

/*
#include <stdint.h>
#include <pgmm.h>
extern void pgmmGoNotice(uintptr_t handle, char *msg);  // defined in notice.go

static void pgmm_go_notice_shim(void *arg, const char *message)
{
	pgmmGoNotice((uintptr_t) arg, (char *) message);
}

void pgmm_go_set_notice(PGMMadmin *a, uintptr_t handle)
{
	pgmm_admin_set_notice(a, pgmm_go_notice_shim, (void *) handle);
}

void pgmm_go_clear_notice(PGMMadmin *a)
{
	pgmm_admin_set_notice(a, NULL, NULL);
}
*/
import "C"
