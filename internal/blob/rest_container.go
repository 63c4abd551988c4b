package blob

import (
	"net/http"
)

func (s *Service) restCreateContainer(q *request) {
	meta, err := parseMetadata(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	c, err := s.CreateContainer(q.r.Context(), q.t.account, q.t.container, meta)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	setVersionHeaders(q.w.Header(), c.ETag, c.Modified)
	ok(q.w, http.StatusCreated)
}

func (s *Service) restDeleteContainer(q *request) {
	cond, err := parseConditions(q.r.Header)
	if err == nil {
		err = s.DeleteContainer(q.r.Context(), q.t.account, q.t.container, cond)
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	ok(q.w, http.StatusAccepted)
}

// containerProperties answers Get Container Properties and Get Container
// Metadata (the same headers).
func (s *Service) containerProperties(q *request) {
	c, err := s.GetContainer(q.r.Context(), q.t.account, q.t.container)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	h := q.w.Header()
	setVersionHeaders(h, c.ETag, c.Modified)
	setMetadataHeaders(h, c.Metadata)
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-has-immutability-policy", "false")
	h.Set("x-ms-has-legal-hold", "false")
	ok(q.w, http.StatusOK)
}

func (s *Service) restSetContainerMetadata(q *request) {
	meta, err := parseMetadata(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	cond, err := parseConditions(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	c, err := s.SetContainerMetadata(q.r.Context(), q.t.account, q.t.container, meta, cond)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	setVersionHeaders(q.w.Header(), c.ETag, c.Modified)
	ok(q.w, http.StatusOK)
}

func (s *Service) listContainers(q *request) {
	p, err := parseListParams(q.r)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	names, err := s.ContainerNames(q.r.Context(), q.t.account)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	page := paginate(names, p.prefix, "", p.marker, p.max)
	out := containersXML{ServiceEndpoint: requestBase(q.r) + s.prefix + "/" + q.t.account + "/",
		Prefix: p.prefix, Marker: p.marker, MaxResults: p.max, NextMarker: page.next}
	for _, i := range page.items {
		c, err := s.GetContainer(q.r.Context(), q.t.account, names[i])
		if err != nil {
			continue // deleted meanwhile, or half-created
		}
		x := containerXML{Name: c.Name, Properties: containerPropsXML{LastModified: httpTime(c.Modified), ETag: c.ETag,
			LeaseStatus: "unlocked", LeaseState: "available"}}
		if p.metadata {
			x.Metadata = metaXML(c.Metadata)
		}
		out.Containers = append(out.Containers, x)
	}
	writeXML(q.w, http.StatusOK, out)
}
