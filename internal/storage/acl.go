package storage

import (
	"context"
	"encoding/xml"
)

// Stored access policies: up to five signed identifiers on a table,
// queue or container (Get/Set Table ACL, Queue ACL, Container ACL). A
// service SAS naming one (si) takes from it the start, expiry and
// permissions it does not carry itself, so the owner can change or
// revoke every SAS signed against it at once.

// MaxSignedIdentifiers is Azure's limit of stored access policies per
// resource.
const MaxSignedIdentifiers = 5

// SignedIdentifiers is the <SignedIdentifiers> document.
type SignedIdentifiers struct {
	XMLName xml.Name           `xml:"SignedIdentifiers"`
	Items   []SignedIdentifier `xml:"SignedIdentifier"`
}

// SignedIdentifier is one stored access policy and its id.
type SignedIdentifier struct {
	ID           string       `xml:"Id"`
	AccessPolicy AccessPolicy `xml:"AccessPolicy"`
}

// AccessPolicy holds the policy's fields as the owner gave them (ISO
// 8601 times, permission letters); any may be empty.
type AccessPolicy struct {
	Start      string `xml:"Start,omitempty"`
	Expiry     string `xml:"Expiry,omitempty"`
	Permission string `xml:"Permission,omitempty"`
}

// PolicyFunc returns the stored access policy id of resource (a table,
// queue or container name) in account; found is false when it has none
// of that id.
type PolicyFunc func(ctx context.Context, account, resource, id string) (p AccessPolicy, found bool, err error)

// ParseSignedIdentifiers reads a Set ACL body; errors name the field.
func ParseSignedIdentifiers(data []byte) (SignedIdentifiers, error) {
	var s SignedIdentifiers
	if len(data) == 0 {
		return s, nil // no policies
	}
	if err := xml.Unmarshal(data, &s); err != nil {
		return s, Invalid("InvalidXmlDocument", "the access policies are not a SignedIdentifiers XML document: %v", err)
	}
	if len(s.Items) > MaxSignedIdentifiers {
		return s, Invalid("InvalidXmlDocument", "%d signed identifiers; at most %d are allowed", len(s.Items), MaxSignedIdentifiers)
	}
	seen := map[string]bool{}
	for _, si := range s.Items {
		if si.ID == "" || len(si.ID) > 64 || seen[si.ID] {
			return s, Invalid("InvalidXmlNodeValue", "signed identifier Id %q must be 1 to 64 characters and unique", si.ID)
		}
		seen[si.ID] = true
		if err := si.AccessPolicy.validate(); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (p AccessPolicy) validate() error {
	for _, f := range []struct{ name, v string }{{"Start", p.Start}, {"Expiry", p.Expiry}} {
		if f.v == "" {
			continue
		}
		if _, err := parseSASTime(f.name, f.v); err != nil {
			return Invalid("InvalidXmlNodeValue", "AccessPolicy %s %q is not an ISO 8601 UTC time", f.name, f.v)
		}
	}
	return nil
}

// Find returns the policy of id.
func (s SignedIdentifiers) Find(id string) (AccessPolicy, bool) {
	for _, si := range s.Items {
		if si.ID == id {
			return si.AccessPolicy, true
		}
	}
	return AccessPolicy{}, false
}

// applyPolicy completes the SAS with its stored policy: a field may be
// in the SAS or in the policy, not in both.
func (s *SAS) applyPolicy(p AccessPolicy) error {
	fields := []struct {
		name        string
		token       *string
		fromPolicy  string
		policyField string
	}{
		{"sp", &s.Permissions, p.Permission, "Permission"},
		{"st", &s.Start, p.Start, "Start"},
		{"se", &s.Expiry, p.Expiry, "Expiry"},
	}
	for _, f := range fields {
		switch {
		case *f.token != "" && f.fromPolicy != "":
			return AuthFailed("SAS field %s and the %s of stored access policy %q are both given; give it in one place", f.name, f.policyField, s.Identifier)
		case *f.token == "":
			*f.token = f.fromPolicy
		}
	}
	return s.parseTimesAndPerms()
}
