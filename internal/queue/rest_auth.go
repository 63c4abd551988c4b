package queue

// authorize authenticates a REST call. Until the shared Storage
// plumbing (internal/storage: Shared Key and SAS) is wired in, every call
// is refused.
func (h *restHandler) authorize(q *restRequest) error {
	return newRESTError(403, "AuthenticationFailed", "%v", errAuthMissing)
}
