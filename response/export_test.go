package response

// Started reports whether [Writer.Start] has succeeded. Only the tests ask:
// the server knows whether it called Start.
func (rw *Writer) Started() bool { return rw.started }
