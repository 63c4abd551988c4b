package proxy

import "net/url"

// hopHeaders are the hop-by-hop headers a proxy drops (RFC 9110 7.6.1 and
// the ones ReverseProxy drops), canonical.
var hopHeaders = [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// maxQueryParams is net/http's default limit on query parameters.
const maxQueryParams = 10000

// cleanQuery drops the query parameters a Go server cannot parse (a ';',
// a bad escape), as ReverseProxy does, so the proxy and the region read
// the same parameters.
func cleanQuery(s string) string {
	if validQuery(s) {
		return s
	}
	v, _ := url.ParseQuery(s)
	return v.Encode()
}

// validQuery reports a query a Go server parses whole: no ';', no bad
// escape, at most maxQueryParams parameters.
func validQuery[T string | []byte](s T) bool {
	params := 1
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 3
			continue
		case '&':
			if params++; params > maxQueryParams {
				return false
			}
		}
		i++
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
