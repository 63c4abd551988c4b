package table

import (
	"net/http"
	"testing"
)

// FuzzBatchPart feeds arbitrary change set parts to the operation parser:
// it must answer an operation or a 4xx, never panic.
func FuzzBatchPart(f *testing.F) {
	f.Add("POST http://h/tables/shop/Orders HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"PartitionKey\":\"p\",\"RowKey\":\"r\"}")
	f.Add("MERGE http://h/tables/shop/Orders(PartitionKey='p',RowKey='r') HTTP/1.1\r\nIf-Match: *\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("DELETE http://h/tables/shop/Orders(PartitionKey='p',RowKey='r') HTTP/1.1\r\n\r\n")
	f.Add("GET /x HTTP/1.1\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := readPartRequest([]byte(raw))
		if err != nil {
			if asError(err).Status != http.StatusBadRequest {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		path := req.URL.Path
		s := &Service{prefix: DefaultPathPrefix}
		_, rest, ok := s.splitPath(path)
		if !ok {
			return
		}
		res, err := parseResource(rest)
		if err != nil {
			return
		}
		if _, err := partOp(req, res, method(req)); err != nil && asError(err).Status >= 500 {
			t.Fatalf("%q: %v", raw, err)
		}
	})
}
