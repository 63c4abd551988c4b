package funcapp

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/tandemhq/tandem/internal/blobtrigger"
)

// Function is one function of an app: a folder with function.json.
type Function struct {
	Name     string
	Dir      string
	Disabled bool // function.json "disabled": true (the older form)
	Bindings []Binding
	// Retry is function.json "retry" (nil: none; the app's host.json
	// policy, if any, applies; see App.RetryFor).
	Retry *Retry
}

// Binding is one entry of function.json "bindings". Fields that do not
// apply to its type are zero.
type Binding struct {
	Type      string // as written, e.g. "httpTrigger"
	Direction string // "in", "out" or "inout"
	Name      string
	// DataType is "binary", "string", "stream" or empty, lower case.
	DataType string

	// httpTrigger
	AuthLevel string   // anonymous, function, admin, user, system
	Methods   []string // upper case; empty means any
	Route     string   // empty means the function name

	// queueTrigger, queue
	QueueName  string
	Connection string

	// timerTrigger
	Schedule     string
	RunOnStartup bool
	UseMonitor   *bool

	// blobTrigger, blob: "container/blob" (a pattern for the trigger,
	// binding expressions for blob in and out)
	Path string

	// table
	TableName    string
	PartitionKey string
	RowKey       string
	Filter       string
	Take         int
}

// The binding types Tandem runs.
const (
	HTTPTrigger  = "httptrigger"
	HTTP         = "http"
	QueueTrigger = "queuetrigger"
	Queue        = "queue"
	TimerTrigger = "timertrigger"
	Table        = "table"
	BlobTrigger  = "blobtrigger"
	Blob         = "blob"
)

// Kind is the binding type in lower case, for comparisons.
func (b Binding) Kind() string { return strings.ToLower(b.Type) }

// IsTrigger reports whether b is the function's trigger.
func (b Binding) IsTrigger() bool { return strings.HasSuffix(b.Kind(), "trigger") }

// Trigger returns the function's trigger binding.
func (f *Function) Trigger() Binding {
	for _, b := range f.Bindings {
		if b.IsTrigger() {
			return b
		}
	}
	return Binding{}
}

// Outputs returns the output bindings.
func (f *Function) Outputs() []Binding { return f.filter("out") }

// Inputs returns the non-trigger input bindings.
func (f *Function) Inputs() []Binding {
	var in []Binding
	for _, b := range f.filter("in") {
		if !b.IsTrigger() {
			in = append(in, b)
		}
	}
	return in
}

func (f *Function) filter(dir string) []Binding {
	var out []Binding
	for _, b := range f.Bindings {
		if strings.EqualFold(b.Direction, dir) {
			out = append(out, b)
		}
	}
	return out
}

// HTTPOnly reports whether the function's only bindings are one httpTrigger
// and one http output: the functions that forwarding mode forwards.
func (f *Function) HTTPOnly() bool {
	if len(f.Bindings) != 2 {
		return false
	}
	var trig, out int
	for _, b := range f.Bindings {
		switch b.Kind() {
		case HTTPTrigger:
			trig++
		case HTTP:
			out++
		}
	}
	return trig == 1 && out == 1
}

var functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)

type rawFunction struct {
	Disabled json.RawMessage `json:"disabled"`
	Bindings []rawBinding    `json:"bindings"`
	Retry    json.RawMessage `json:"retry"`
}

type rawBinding struct {
	Type         string   `json:"type"`
	Direction    string   `json:"direction"`
	Name         string   `json:"name"`
	DataType     string   `json:"dataType"`
	AuthLevel    string   `json:"authLevel"`
	Methods      []string `json:"methods"`
	Route        string   `json:"route"`
	QueueName    string   `json:"queueName"`
	Connection   string   `json:"connection"`
	Schedule     string   `json:"schedule"`
	RunOnStartup bool     `json:"runOnStartup"`
	UseMonitor   *bool    `json:"useMonitor"`
	Path         string   `json:"path"`
	TableName    string   `json:"tableName"`
	PartitionKey string   `json:"partitionKey"`
	RowKey       string   `json:"rowKey"`
	Filter       string   `json:"filter"`
	Take         int      `json:"take"`
}

// ParseFunction parses a function's function.json; file names it in errors.
func ParseFunction(file, name string, data []byte) (*Function, error) {
	if !functionName.MatchString(name) {
		return nil, fmt.Errorf("%s: function name %q: use a letter, then letters, digits, '_' or '-' (at most 128)", file, name)
	}
	var raw rawFunction
	if err := decodeJSON(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	f, err := raw.function(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return f, nil
}

func (raw rawFunction) function(name string) (*Function, error) {
	f := &Function{Name: name}
	var err error
	if f.Disabled, err = parseDisabled(raw.Disabled); err != nil {
		return nil, err
	}
	if f.Retry, err = parseRetry(raw.Retry); err != nil {
		return nil, err
	}
	triggers := 0
	for i, rb := range raw.Bindings {
		b, err := rb.binding()
		if err != nil {
			return nil, fmt.Errorf("bindings[%d]: %w", i, err)
		}
		if b.IsTrigger() {
			triggers++
		}
		f.Bindings = append(f.Bindings, b)
	}
	if triggers != 1 {
		return nil, fmt.Errorf(`field "bindings": a function needs exactly one trigger, found %d`, triggers)
	}
	return f, nil
}

// parseDisabled accepts true/false and the strings "true"/"false".
func parseDisabled(raw json.RawMessage) (bool, error) {
	if len(raw) == 0 {
		return false, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
		return strings.EqualFold(s, "true"), nil
	}
	return false, fmt.Errorf(`field "disabled": %s is not true or false`, raw)
}

func (rb rawBinding) binding() (Binding, error) {
	b := Binding{
		Type: rb.Type, Direction: strings.ToLower(rb.Direction), Name: rb.Name, DataType: strings.ToLower(rb.DataType),
		AuthLevel: strings.ToLower(rb.AuthLevel), Route: strings.Trim(rb.Route, "/"),
		QueueName: rb.QueueName, Connection: rb.Connection,
		Schedule: rb.Schedule, RunOnStartup: rb.RunOnStartup, UseMonitor: rb.UseMonitor,
		Path: rb.Path, TableName: rb.TableName, PartitionKey: rb.PartitionKey, RowKey: rb.RowKey, Filter: rb.Filter, Take: rb.Take,
	}
	for _, m := range rb.Methods {
		b.Methods = append(b.Methods, strings.ToUpper(m))
	}
	if b.Name == "" {
		return b, fmt.Errorf(`field "name": missing (type %q)`, rb.Type)
	}
	if err := checkDirection(b); err != nil {
		return b, err
	}
	return b, checkKind(&b)
}

func checkDirection(b Binding) error {
	switch b.Direction {
	case "in", "out", "inout":
	default:
		return fmt.Errorf(`binding %q: field "direction": %q is not "in", "out" or "inout"`, b.Name, b.Direction)
	}
	if b.IsTrigger() && b.Direction != "in" {
		return fmt.Errorf(`binding %q: field "direction": a trigger is "in", got %q`, b.Name, b.Direction)
	}
	return nil
}

func checkKind(b *Binding) error {
	field := func(f, msg string) error { return fmt.Errorf("binding %q (%s): field %q: %s", b.Name, b.Type, f, msg) }
	switch b.Kind() {
	case HTTPTrigger:
		return checkHTTPTrigger(b, field)
	case HTTP:
		return nil
	case QueueTrigger, Queue:
		if b.QueueName == "" {
			return field("queueName", "missing")
		}
		return nil
	case TimerTrigger:
		if strings.TrimSpace(b.Schedule) == "" {
			return field("schedule", "missing")
		}
		return nil
	case Table:
		return checkTable(b, field)
	case BlobTrigger, Blob:
		return checkBlob(b, field)
	case "":
		return fmt.Errorf(`binding %q: field "type": missing`, b.Name)
	default:
		return fmt.Errorf(`binding %q: field "type": %q is not supported by Tandem (httpTrigger, http, queueTrigger, queue, timerTrigger, table, blobTrigger, blob)`, b.Name, b.Type)
	}
}

var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true, "TRACE": true}

func checkHTTPTrigger(b *Binding, field func(f, msg string) error) error {
	switch b.AuthLevel {
	case "":
		b.AuthLevel = "function"
	case "anonymous", "function", "admin", "system", "user":
	default:
		return field("authLevel", fmt.Sprintf("%q is not anonymous, function, admin, system or user", b.AuthLevel))
	}
	for _, m := range b.Methods {
		if !httpMethods[m] {
			return field("methods", fmt.Sprintf("%q is not an HTTP method", m))
		}
	}
	return nil
}

func checkTable(b *Binding, field func(f, msg string) error) error {
	if b.TableName == "" {
		return field("tableName", "missing")
	}
	if b.RowKey != "" && (b.Take != 0 || b.Filter != "") {
		return field("rowKey", "cannot be combined with take or filter")
	}
	if b.Take < 0 {
		return field("take", "must not be negative")
	}
	return nil
}

// checkBlob checks a blobTrigger's path pattern as the blob extension
// parses it, and a blob binding's path and direction. Like queueTrigger,
// "connection" is not checked: Tandem serves the app's own storage
// account whatever setting it names.
func checkBlob(b *Binding, field func(f, msg string) error) error {
	if strings.TrimSpace(b.Path) == "" {
		return field("path", "missing")
	}
	switch b.DataType {
	case "", "binary", "string":
	default:
		return field("dataType", fmt.Sprintf("%q is not supported for blobs (binary or string)", b.DataType))
	}
	if b.Kind() == BlobTrigger {
		if _, err := blobtrigger.ParsePattern(b.Path); err != nil {
			return field("path", err.Error())
		}
		return nil
	}
	if b.Direction == "inout" {
		return field("direction", `"inout" is not supported for blob bindings (use one "in" and one "out")`)
	}
	if !strings.Contains(strings.Trim(b.Path, "/"), "/") {
		return field("path", fmt.Sprintf("%q: a blob binding names one blob, 'container/blob'", b.Path))
	}
	return nil
}
