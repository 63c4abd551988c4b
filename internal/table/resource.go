package table

import (
	"net/http"
	"strings"
)

// Parsing of the resource part of a Table service URL (after the account):
//
//	Tables                                  the table collection
//	Tables('name')                          one table
//	name  or  name()                        a table's entities
//	name(PartitionKey='pk',RowKey='rk')     one entity ('' escapes a quote)
//	$batch                                  entity group transactions

type resourceKind int

const (
	resTables resourceKind = iota + 1
	resTableByName
	resTable
	resEntity
	resBatch
	resService // the account's service: ?restype=service&comp=properties|stats
)

type resource struct {
	kind   resourceKind
	table  string
	pk, rk string
	comp   string // resService: properties or stats
}

// parseRequestResource reads the resource of a request: the service
// (an empty path with restype=service) or what parseResource reads.
func parseRequestResource(r *http.Request, rest string) (resource, error) {
	q := r.URL.Query()
	if rest != "" || q.Get("restype") != "service" {
		return parseResource(rest)
	}
	switch comp := q.Get("comp"); comp {
	case "properties", "stats":
		return resource{kind: resService, comp: comp}, nil
	default:
		return resource{}, resourceError(rest, "restype=service needs comp=properties or comp=stats, got comp="+comp)
	}
}

func resourceError(path, why string) error {
	return invalid("InvalidUri", "resource %q: %s", path, why)
}

// parseResource reads a decoded resource path.
func parseResource(path string) (resource, error) {
	switch {
	case path == "$batch":
		return resource{kind: resBatch}, nil
	case path == "":
		return resource{}, resourceError(path, "no table or entity named")
	}
	name, args, hasArgs := strings.Cut(path, "(")
	if hasArgs {
		if !strings.HasSuffix(args, ")") {
			return resource{}, resourceError(path, "missing ')'")
		}
		args = strings.TrimSuffix(args, ")")
	}
	if name == "Tables" {
		return parseTablesResource(path, args, hasArgs)
	}
	if err := ValidTableName(name); err != nil {
		return resource{}, err
	}
	if args == "" {
		return resource{kind: resTable, table: name}, nil
	}
	pk, rk, err := parseEntityKeys(path, args)
	return resource{kind: resEntity, table: name, pk: pk, rk: rk}, err
}

func parseTablesResource(path, args string, hasArgs bool) (resource, error) {
	if !hasArgs || args == "" {
		return resource{kind: resTables}, nil
	}
	name, rest, err := readQuoted(args)
	if err != nil || rest != "" {
		return resource{}, resourceError(path, "expected Tables('name')")
	}
	return resource{kind: resTableByName, table: name}, nil
}

// parseEntityKeys reads "PartitionKey='pk',RowKey='rk'" (either order).
func parseEntityKeys(path, args string) (pk, rk string, err error) {
	var seen [2]bool
	for rest := args; rest != ""; {
		var name, val string
		name, rest, _ = strings.Cut(rest, "=")
		val, rest, err = readQuoted(rest)
		if err != nil {
			return "", "", resourceError(path, err.Error())
		}
		if rest, err = skipComma(rest); err != nil {
			return "", "", resourceError(path, err.Error())
		}
		switch strings.TrimSpace(name) {
		case "PartitionKey":
			pk, seen[0] = val, true
		case "RowKey":
			rk, seen[1] = val, true
		default:
			return "", "", resourceError(path, "unknown key "+name)
		}
	}
	if !seen[0] || !seen[1] {
		return "", "", resourceError(path, "expected (PartitionKey='...',RowKey='...')")
	}
	return pk, rk, nil
}

func skipComma(rest string) (string, error) {
	if rest == "" {
		return "", nil
	}
	if rest[0] != ',' || len(rest) == 1 {
		return "", errorString("expected ',' between keys")
	}
	return rest[1:], nil
}

// readQuoted reads a leading quoted literal (a doubled quote is one quote) and returns the
// value and what follows it.
func readQuoted(s string) (string, string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", errorString("expected a quoted value")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), s[i+1:], nil
	}
	return "", "", errorString("unterminated quoted value")
}
