// Package funcapp loads an Azure Functions custom-handler app from its
// folder: host.json, one folder per function with function.json, and
// local.settings.json. It is the one place that knows those file formats,
// so every error names the file and the field, and the rest of Tandem works
// on checked, typed values.
package funcapp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// App is a loaded function app.
type App struct {
	Name      string
	Root      string // absolute path of the app folder
	Host      HostConfig
	Functions []*Function // sorted by name; only those that loaded
	// Errors are the functions that could not load (a bad function.json,
	// an unsupported binding), sorted by name. As in the Azure host, such a
	// function is in error and the app's other functions run.
	Errors []FunctionError
	// Warnings say what Tandem ignores (unknown host.json sections,
	// proxies.json, Host.LocalHttpPort); the region logs them once.
	Warnings []string
	Settings LocalSettings
}

// FunctionError is a function that could not load.
type FunctionError struct {
	Name string
	Err  error
}

func (e FunctionError) Error() string { return fmt.Sprintf("function %s: %v", e.Name, e.Err) }

// Function returns the named function, or nil.
func (a *App) Function(name string) *Function {
	for _, f := range a.Functions {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// RetryFor is fn's retry policy: its own, else the app's (host.json), for
// the triggers the host retries (timerTrigger among Tandem's; a queue
// trigger retries through maxDequeueCount, an HTTP caller retries itself).
func (a *App) RetryFor(fn *Function) *Retry {
	if fn.Trigger().Kind() != TimerTrigger {
		return nil
	}
	if fn.Retry != nil {
		return fn.Retry
	}
	return a.Host.Retry
}

// FunctionNames lists the functions' names in order.
func (a *App) FunctionNames() []string {
	names := make([]string, len(a.Functions))
	for i, f := range a.Functions {
		names[i] = f.Name
	}
	return names
}

var appName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?$`)

// ValidAppName checks an app name: letters, digits and '-' as Azure allows
// (so it can be part of stream, bucket and subject names).
func ValidAppName(name string) error {
	if !appName.MatchString(name) {
		return fmt.Errorf("app name %q: use 1-60 letters, digits or '-', not starting or ending with '-'", name)
	}
	return nil
}

// Load reads the app in dir. name is the app's name; empty means the
// folder's name.
func Load(name, dir string) (*App, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load app %s: %w", dir, err)
	}
	if name == "" {
		name = filepath.Base(root)
	}
	if err := ValidAppName(name); err != nil {
		return nil, fmt.Errorf("load app %s: %w (give one with --app NAME=DIR)", dir, err)
	}
	app := &App{Name: name, Root: root}
	if err := app.load(); err != nil {
		return nil, fmt.Errorf("load app %s: %w", name, err)
	}
	return app, nil
}

func (a *App) load() error {
	hostFile := filepath.Join(a.Root, "host.json")
	data, err := os.ReadFile(hostFile)
	if err != nil {
		return fmt.Errorf("%s: %w", hostFile, err)
	}
	if a.Host, err = ParseHost(hostFile, data); err != nil {
		return err
	}
	if err := a.checkExecutable(hostFile); err != nil {
		return err
	}
	if err := a.loadSettings(); err != nil {
		return err
	}
	a.Warnings = append(hostWarnings(data), a.fileWarnings()...)
	return a.loadFunctions()
}

func (a *App) checkExecutable(hostFile string) error {
	name := a.Host.Handler.ExecutablePath
	field := fmt.Sprintf("%s: field %q", hostFile, a.Host.Handler.Section+".description.defaultExecutablePath")
	if strings.Contains(name, "%") {
		return nil // expanded per worker (%FUNCTIONS_CUSTOMHANDLER_PORT% and the like)
	}
	p := a.ExecutablePath()
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := exec.LookPath(name); lerr == nil && !filepath.IsAbs(name) {
			return nil // a command on PATH, such as "node" or "python3"
		}
		return fmt.Errorf("%s: %q not found: looked for %s and, as a command, on PATH (%s)", field, name, p, os.Getenv("PATH"))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s: %s is a directory", field, p)
	}
	return nil
}

// ExecutablePath is the handler executable: a path relative to the app
// root when such a file exists, otherwise a command looked up on PATH
// (as "node" or "python3" in the Azure samples).
func (a *App) ExecutablePath() string {
	p := a.Host.Handler.ExecutablePath
	if filepath.IsAbs(p) {
		return p
	}
	local := filepath.Join(a.Root, p)
	if _, err := os.Stat(local); err == nil || strings.ContainsRune(p, filepath.Separator) {
		return local
	}
	if found, err := exec.LookPath(p); err == nil {
		return found
	}
	return local
}

// WorkingDirectory is where the handler runs (the app root by default).
func (a *App) WorkingDirectory() string {
	wd := a.Host.Handler.WorkingDirectory
	switch {
	case wd == "":
		return a.Root
	case filepath.IsAbs(wd):
		return wd
	default:
		return filepath.Join(a.Root, wd)
	}
}

func (a *App) loadSettings() error {
	file := filepath.Join(a.Root, "local.settings.json")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		a.Settings = LocalSettings{Values: map[string]string{}, ConnectionStrings: map[string]string{}}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	a.Settings, err = ParseLocalSettings(file, data)
	return err
}

func (a *App) loadFunctions() error {
	entries, err := os.ReadDir(a.Root)
	if err != nil {
		return fmt.Errorf("read %s: %w", a.Root, err)
	}
	allowed := allowList(a.Host.Functions)
	for _, e := range entries {
		if !e.IsDir() || (allowed != nil && !allowed[strings.ToLower(e.Name())]) {
			continue
		}
		file := filepath.Join(a.Root, e.Name(), "function.json")
		data, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // not a function folder
		}
		if err == nil {
			var f *Function
			if f, err = ParseFunction(file, e.Name(), data); err == nil {
				f.Dir = filepath.Dir(file)
				if f.Retry != nil && f.Trigger().Kind() != TimerTrigger {
					a.Warnings = append(a.Warnings, fmt.Sprintf("%s: field \"retry\" is not applied to a %s (as in Azure: a queue retries through maxDequeueCount, an HTTP caller retries itself)", file, f.Trigger().Type))
				}
				a.Functions = append(a.Functions, f)
				continue
			}
		}
		a.Errors = append(a.Errors, FunctionError{Name: e.Name(), Err: err})
	}
	sort.Slice(a.Functions, func(i, j int) bool { return a.Functions[i].Name < a.Functions[j].Name })
	sort.Slice(a.Errors, func(i, j int) bool { return a.Errors[i].Name < a.Errors[j].Name })
	return nil
}

// allowList is host.json "functions" as a set of lower-case names (the
// host compares case-insensitively); nil when the field is absent.
func allowList(names []string) map[string]bool {
	if names == nil {
		return nil
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[strings.ToLower(n)] = true
	}
	return set
}
