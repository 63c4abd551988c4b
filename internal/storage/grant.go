package storage

import (
	"strings"
)

// ResourceType is an account SAS's resource type (srt).
type ResourceType byte

// Resource types: the service itself (properties, listing containers,
// queues or tables... see each service), a container (a blob container,
// a queue, a table), an object (a blob, a message, an entity).
const (
	ResourceService   ResourceType = 's'
	ResourceContainer ResourceType = 'c'
	ResourceObject    ResourceType = 'o'
)

// Need is what one operation requires of a SAS.
type Need struct {
	Type ResourceType
	// AnyOf lists alternatives; each is a set of permission letters that
	// are all needed ("au": add and update). Empty needs nothing.
	AnyOf []string
	// Name is the container, queue or table operated on ("" for service
	// operations); a service SAS covers only its own.
	Name string
	// Blob is the blob operated on, when any.
	Blob string
	// PartitionKey and RowKey are the entity's, checked against a table
	// SAS's key ranges when HasKeys.
	PartitionKey, RowKey string
	HasKeys              bool
}

// Grant is what a verified request may do.
type Grant struct {
	service Service
	sas     *SAS // nil: Shared Key, everything
	target  Target
}

// SAS returns the grant's SAS, nil for a Shared Key request.
func (g *Grant) SAS() *SAS { return g.sas }

// Allow checks that the grant covers n: a Shared Key grant covers every
// operation; a SAS only what its fields say.
func (g *Grant) Allow(n Need) error {
	if g == nil || g.sas == nil {
		return nil
	}
	if err := g.allowResource(n); err != nil {
		return err
	}
	return allowPerms(g.sas.Permissions, n.AnyOf)
}

func (g *Grant) allowResource(n Need) error {
	s := g.sas
	if s.IsAccount() {
		if strings.IndexByte(s.Services, g.service.letter()) < 0 {
			return Forbidden("AuthorizationServiceMismatch", "the account SAS covers services %q (ss), not the %s service", s.Services, g.service)
		}
		if strings.IndexByte(s.ResourceTypes, byte(n.Type)) < 0 {
			return Forbidden("AuthorizationResourceTypeMismatch", "the account SAS covers resource types %q (srt); this operation needs %q", s.ResourceTypes, string(n.Type))
		}
		return nil
	}
	switch g.service {
	case Table:
		return g.allowTable(n)
	case Queue:
		return g.allowNamed(n, g.target.Name, "queue")
	}
	return g.allowBlob(n)
}

func (g *Grant) allowTable(n Need) error {
	s := g.sas
	if n.Type != ResourceObject || !strings.EqualFold(n.Name, s.TableName) {
		return Forbidden("AuthorizationResourceTypeMismatch", "the SAS covers the entities of table %q (tn) only", s.TableName)
	}
	if n.HasKeys && !inKeyRange(s, n.PartitionKey, n.RowKey) {
		return Forbidden("AuthorizationPermissionMismatch", "entity (PartitionKey=%q, RowKey=%q) is outside the SAS's key range (spk, srk, epk, erk)", n.PartitionKey, n.RowKey)
	}
	return nil
}

// inKeyRange applies a table SAS's spk/srk (inclusive start) and
// epk/erk (inclusive end).
func inKeyRange(s *SAS, pk, rk string) bool {
	if s.StartPK != "" && (pk < s.StartPK || (pk == s.StartPK && s.StartRK != "" && rk < s.StartRK)) {
		return false
	}
	if s.EndPK != "" && (pk > s.EndPK || (pk == s.EndPK && s.EndRK != "" && rk > s.EndRK)) {
		return false
	}
	return true
}

func (g *Grant) allowNamed(n Need, name, what string) error {
	if n.Type == ResourceService || n.Name != name {
		return Forbidden("AuthorizationResourceTypeMismatch", "the SAS covers %s %q only", what, name)
	}
	return nil
}

func (g *Grant) allowBlob(n Need) error {
	if err := g.allowNamed(n, g.target.Name, "container"); err != nil {
		return err
	}
	if g.sas.Resource != "c" && (n.Type != ResourceObject || n.Blob != g.target.Blob) {
		return Forbidden("AuthorizationResourceTypeMismatch", "the SAS covers blob %q of container %q only", g.target.Blob, g.target.Name)
	}
	return nil
}

// allowPerms checks that sp holds every letter of one of the
// alternatives.
func allowPerms(sp string, anyOf []string) error {
	if len(anyOf) == 0 {
		return nil
	}
	for _, alt := range anyOf {
		if hasAll(sp, alt) {
			return nil
		}
	}
	return Forbidden("AuthorizationPermissionMismatch", "the SAS grants permissions %q (sp); this operation needs %s", sp, strings.Join(quoteAll(anyOf), " or "))
}

func hasAll(sp, letters string) bool {
	for _, c := range letters {
		if !strings.ContainsRune(sp, c) {
			return false
		}
	}
	return true
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = `"` + s + `"`
	}
	return out
}
