/* malloc.c: how the threads that run Python share glibc's heap. */
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* one_arena runs when the program is loaded, before Go's runtime starts
 * its threads (a constructor: no thread has an arena yet, no Python
 * state exists). It has every thread share glibc malloc's main arena,
 * unless the environment tunes the arenas itself ($MALLOC_ARENA_MAX, or
 * glibc.malloc.arena_max in $GLIBC_TUNABLES), which glibc has read.
 *
 * glibc gives each thread that allocates an arena of its own, up to eight
 * a core, so that threads allocating at the same time do not wait on one
 * lock. Python's threads allocate one at a time, holding the GIL, so here
 * the arenas save no waiting; but each keeps free memory of its own and
 * gives what it frees at its top back to the kernel. A 64 KiB request
 * body, copied into a bytes object and freed when the request ends, cost
 * two to eight page faults a request and a madvise; with one arena, none
 * (bench/NOTES.md, 2026-12-04). Once Go's threads run it is too late:
 * the arenas they made stay, and new threads take turns with them. */
__attribute__((constructor)) static void one_arena(void)
{
#ifdef __GLIBC__
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_ARENA_MAX") != NULL ||
	    (tunables != NULL && strstr(tunables, "glibc.malloc.arena_max") != NULL))
		return;
	mallopt(M_ARENA_MAX, 1);
#endif
}
