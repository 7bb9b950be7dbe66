package response_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/gowsgi/wsgi/response"
)

var writers = sync.Pool{New: func() any { return new(response.Writer) }}

// This handler plays the part of a WSGI app that declared a Content-Length
// of 5 and then produced more: the extra bytes are dropped. Had it produced
// fewer, Finish would report ErrShortBody and the handler would abort the
// connection.
func ExampleWriter() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := writers.Get().(*response.Writer)
		defer func() {
			rw.Reset(nil, nil)
			writers.Put(rw)
		}()
		rw.Reset(w, r)

		// What the app gave to start_response.
		err := rw.Start("200 OK", []response.Header{
			{Name: "Content-Type", Value: "text/plain"},
			{Name: "content-length", Value: "5"},
		})
		if err != nil {
			rw.Error500()
			return
		}
		// The app's body, block by block.
		for _, block := range []string{"hel", "lo, world"} {
			if _, err := rw.Write([]byte(block)); err != nil {
				return // client gone: stop iterating, close() the iterable
			}
			rw.Flush()
		}
		if err := rw.Finish(); errors.Is(err, response.ErrShortBody) {
			panic(http.ErrAbortHandler)
		}
	})

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Length"), rec.Body)
	// Output: 200 5 hello
}

func ExampleParseStatus() {
	for _, status := range []string{"404 Not Found", "200 ", "103 Early Hints", "200 OK\r\nSet-Cookie: x=1"} {
		code, err := response.ParseStatus(status)
		fmt.Println(code, err)
	}
	// Output:
	// 404 <nil>
	// 200 <nil>
	// 0 response: invalid status "103 Early Hints": informational code 103 cannot be a final status (want 200-599)
	// 0 response: invalid status "200 OK\r\nSet-Cookie: x=1": reason phrase has forbidden byte 0x0d at offset 6
}

func ExampleCheckHeader() {
	fmt.Println(response.CheckHeader("X-Request-Id", "abc123"))
	fmt.Println(response.CheckHeader("X-Note", "caf\xe9")) // latin-1 "café"
	fmt.Println(response.CheckHeader("X Request", "abc"))
	fmt.Println(response.CheckHeader("Location", "/next\r\nSet-Cookie: x=1"))
	fmt.Println(response.CheckHeader("Transfer-Encoding", "chunked"))
	// Output:
	// <nil>
	// <nil>
	// response: invalid header name "X Request": byte 0x20 at offset 1 is not a token character
	// response: invalid value "/next\r\nSet-Cookie: x=1" for header "Location": forbidden byte 0x0d at offset 5
	// response: header "Transfer-Encoding" is hop-by-hop and may not be set by the application
}

func ExampleIsHopByHop() {
	fmt.Println(response.IsHopByHop("keep-alive"), response.IsHopByHop("Content-Type"))
	// Output: true false
}
