package blob

import (
	"sort"
	"strings"
)

// listPage is one page of a listing.
type listPage struct {
	items    []int    // indexes into the names listed
	prefixes []string // BlobPrefix entries, when a delimiter was given
	next     string   // NextMarker: the first name of the next page
}

// maxListResults is Azure's limit and default for maxresults.
const maxListResults = 5000

// paginate applies prefix, delimiter, marker and max to sorted names, as
// Azure's List Blobs does: names sharing prefix+...+delimiter fold into one
// BlobPrefix, items and prefixes both count toward max, and the next
// marker is the first name not returned.
func paginate(names []string, prefix, delimiter, marker string, limit int) listPage {
	var page listPage
	start := sort.SearchStrings(names, max(marker, prefix))
	for i := start; i < len(names); i++ {
		name := names[i]
		if !strings.HasPrefix(name, prefix) {
			break
		}
		folded := folder(name, prefix, delimiter)
		if folded != "" && len(page.prefixes) > 0 && page.prefixes[len(page.prefixes)-1] == folded {
			continue // already listed
		}
		if len(page.items)+len(page.prefixes) == limit {
			page.next = name
			break
		}
		if folded != "" {
			page.prefixes = append(page.prefixes, folded)
		} else {
			page.items = append(page.items, i)
		}
	}
	return page
}

// folder returns the BlobPrefix a name falls in, or "".
func folder(name, prefix, delimiter string) string {
	if delimiter == "" {
		return ""
	}
	i := strings.Index(name[len(prefix):], delimiter)
	if i < 0 {
		return ""
	}
	return name[:len(prefix)+i+len(delimiter)]
}
