package table

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// REST handlers for the table collection.

// tableRecord lets $filter run over table names ("TableName eq 'x'").
type tableRecord string

func (t tableRecord) Lookup(name string) (Value, bool) {
	if name == "TableName" {
		return String(string(t)), true
	}
	return Value{}, false
}

func (s *Service) createTableREST(q *request) {
	data, err := readBody(q)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	var body struct{ TableName string }
	if err := json.Unmarshal(data, &body); err != nil || body.TableName == "" {
		s.fail(q.w, q.r, invalid("InvalidInput", "body must be {\"TableName\": \"<name>\"}"))
		return
	}
	if err := s.CreateTable(q.r.Context(), q.account, body.TableName); err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	if preferNoContent(q) {
		q.w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(q.w, http.StatusCreated, tableJSON(q, body.TableName, "/$metadata#Tables/@Element"))
}

func tableJSON(q *request, name, metadata string) map[string]string {
	out := map[string]string{"TableName": name}
	if !noMetadata(q.r) {
		out["odata.metadata"] = q.base + metadata
	}
	return out
}

func (s *Service) deleteTableREST(q *request) {
	if err := s.DeleteTable(q.r.Context(), q.account, q.res.table); err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (s *Service) getTable(q *request) {
	if err := ValidTableName(q.res.table); err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	name, err := s.catalogName(q.r.Context(), q.account, q.res.table)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	writeJSON(q.w, http.StatusOK, tableJSON(q, name, "/$metadata#Tables/@Element"))
}

// listTables answers Query Tables with $filter, $top and NextTableName.
func (s *Service) listTables(q *request) {
	params := q.r.URL.Query()
	f, err := ParseFilter(params.Get("$filter"))
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	top, err := parseTop(params.Get("$top"))
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	names, err := s.ListTables(q.r.Context(), q.account)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	page, next := pageTables(names, f, top, params.Get("NextTableName"))
	if next != "" {
		q.w.Header().Set("x-ms-continuation-NextTableName", next)
	}
	writeJSON(q.w, http.StatusOK, tablesJSON(q, page))
}

func pageTables(names []string, f *Filter, top int, next string) ([]string, string) {
	var page []string
	for _, n := range names {
		if next != "" && strings.ToLower(n) < next {
			continue
		}
		if !f.Match(tableRecord(n)) {
			continue
		}
		if len(page) == top {
			return page, strings.ToLower(n)
		}
		page = append(page, n)
	}
	return page, ""
}

func tablesJSON(q *request, names []string) map[string]any {
	value := make([]map[string]string, 0, len(names))
	for _, n := range names {
		value = append(value, map[string]string{"TableName": n})
	}
	out := map[string]any{"value": value}
	if !noMetadata(q.r) {
		out["odata.metadata"] = q.base + "/$metadata#Tables"
	}
	return out
}

// parseTop reads $top: empty means a full page.
func parseTop(raw string) (int, error) {
	if raw == "" {
		return MaxPageSize, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 {
		return 0, invalid("InvalidInput", "$top must be a positive integer, got %q", raw)
	}
	return min(n, MaxPageSize), nil
}
