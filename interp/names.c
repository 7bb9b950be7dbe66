/* names.c: the names the C side looks up or sets on every request (and
 * the template's keys beside them), interned once at start-up, as NGINX
 * Unit's nxt_python_wsgi.c keeps its nxt_py_*_str: the *String variants of
 * PyObject_GetAttr, PyDict_SetItem and PyObject_CallMethod make and intern
 * a str from the C string at each call. */
#include "gowsgi.h"

PyObject *gw_str_close, *gw_str_read, *gw_str_fileno, *gw_str_tell,
	*gw_str_release_logging_locks, *gw_str_wsgi_input, *gw_str_wsgi_input_terminated,
	*gw_str_wsgi_version, *gw_str_wsgi_errors, *gw_str_wsgi_multithread,
	*gw_str_wsgi_multiprocess, *gw_str_wsgi_run_once, *gw_str_wsgi_file_wrapper,
	*gw_str_server_software;

static const struct {
	PyObject **str;
	const char *text;
} names[] = {
	{&gw_str_close, "close"},
	{&gw_str_read, "read"},
	{&gw_str_fileno, "fileno"},
	{&gw_str_tell, "tell"},
	{&gw_str_release_logging_locks, "release_logging_locks"},
	{&gw_str_wsgi_input, "wsgi.input"},
	{&gw_str_wsgi_input_terminated, "wsgi.input_terminated"},
	{&gw_str_wsgi_version, "wsgi.version"},
	{&gw_str_wsgi_errors, "wsgi.errors"},
	{&gw_str_wsgi_multithread, "wsgi.multithread"},
	{&gw_str_wsgi_multiprocess, "wsgi.multiprocess"},
	{&gw_str_wsgi_run_once, "wsgi.run_once"},
	{&gw_str_wsgi_file_wrapper, "wsgi.file_wrapper"},
	{&gw_str_server_software, "SERVER_SOFTWARE"},
};

/* gw_intern_names makes every gw_str_*, with the GIL held (gw_init). Each
 * is a reference owned by this file until gw_forget_names. Returns -1 with
 * an exception set on failure. */
int gw_intern_names(void)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if ((*names[i].str = PyUnicode_InternFromString(names[i].text)) == NULL)
			return -1;
	return 0;
}

/* gw_forget_names forgets them once Py_FinalizeEx has returned
 * (gw_finalize), without dropping them: finalization still runs Python
 * (atexit handlers, the app's threads it joins), which may close a
 * wsgi.file_wrapper and so use gw_str_close or gw_str_read. The
 * references are left to the process's exit. */
void gw_forget_names(void)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		*names[i].str = NULL;
}
