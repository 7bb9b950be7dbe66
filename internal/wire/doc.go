// Package wire is the framing between an App and its worker processes
// (wsgi.WithProcesses): a request, its body and its response travel as
// frames over a Unix stream socket, one request at a time on each socket.
//
// # Frames
//
// A frame is an 8-byte header, then its payload:
//
//	offset size
//	0      1    type (a Type)
//	1      3    zero
//	4      4    payload length, little-endian, at most MaxPayload
//
// A request goes, on one socket:
//
//	App    → worker  Req      the packed environ (package environ) and, for a
//	                          body read in advance, the whole body
//	worker → App     Read     the app reads wsgi.input: up to n more bytes
//	App    → worker  Data / EOF / BodyErr   what the client's body gave
//	worker → App     Head     status and headers, as the worker's
//	                          response.Writer applied them
//	worker → App     Body / Flush           the body, and where it flushed
//	worker → App     File     a wsgi.file_wrapper's file: its descriptor
//	                          comes with the frame (SCM_RIGHTS)
//	App    → worker  FileDone how much of it went out, or what failed
//	worker → App     End      the response is complete, or must be cut
//
// The worker decides everything a response is (status, headers, what
// follows a failing app: a 500 or a cut connection); the App replays it on
// its http.ResponseWriter. A client gone, or an App giving up on a
// request, closes the socket: the worker sees it and ends the request.
//
// A worker's control socket carries Socket (a new request socket, its
// descriptor attached) and Stop from the App, and Ready, LoadError or Log (a record
// of the worker's logger, for the App's) from the worker.
//
// # Descriptors
//
// Sockets carry descriptors (SCM_RIGHTS) with Socket and File frames. A
// Conn reads with recvmsg and keeps every descriptor that arrives, in
// order, until a frame takes it (TakeFile): read any other way, the kernel
// would close them.
package wire
