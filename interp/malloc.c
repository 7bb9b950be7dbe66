//go:build !gowsgi_malloc_arenas

/* malloc.c: how the threads that run Python share glibc's heap. Build with
 * -tags gowsgi_malloc_arenas to leave this file out and keep glibc's
 * default. */
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* one_arena runs when the program is loaded (a constructor). In a Go
 * executable that is before Go's runtime starts its threads: no thread has
 * an arena yet, no Python state exists. In a -buildmode=c-archive or
 * c-shared library it is when the library loads, and threads the host
 * started earlier keep the arenas they have.
 *
 * It has every thread share glibc malloc's main arena, unless the
 * environment tunes the arenas itself ($MALLOC_ARENA_MAX, set or empty, or
 * glibc.malloc.arena_max in $GLIBC_TUNABLES), which glibc has read. The
 * setting is for the whole process, not only for Python's threads.
 *
 * 64-bit glibc gives each thread that allocates an arena of its own, up to
 * eight a core, so that threads allocating at the same time do not wait on
 * one lock. Most of what Python's threads allocate they allocate holding
 * the GIL, one at a time, so the arenas save them little waiting; but each
 * arena keeps free memory of its own and gives what is freed at its top
 * back to the kernel. A 64 KiB request body, copied into a bytes object and
 * freed when the request ends, cost two to eight page faults a request and
 * a madvise; with one arena, none (bench/NOTES.md, 2026-12-04, measured on
 * two cores). Code that allocates with the GIL released does take the one
 * arena's lock for what glibc's per-thread cache does not serve: sqlite3
 * and other database drivers, zlib, lzma and bz2, OpenSSL, getaddrinfo,
 * and C the program calls from other goroutines. A program where that
 * matters sets MALLOC_ARENA_MAX in its environment before it starts. */
__attribute__((constructor)) static void one_arena(void)
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_ARENA_MAX") != NULL ||
	    (tunables != NULL && strstr(tunables, "glibc.malloc.arena_max") != NULL))
		return;
	mallopt(M_ARENA_MAX, 1);
#endif
}
