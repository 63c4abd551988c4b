package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

func init() {
	register(&command{name: "new", summary: "create a runnable custom-handler app: an HTTP function, a queue output and a queue-triggered function", run: runNew})
}

//go:embed newapp
var newAppFiles embed.FS

const newUsage = `Usage: tandem new NAME [--lang python|node|go] [--dir PARENT]

Creates PARENT/NAME, a custom-handler app as Core Tools' 'func new' would
give: host.json, local.settings.json, an HTTP function 'hello' (GET or
POST /api/hello/{name}) that answers and puts a task on the queue 'tasks',
a queue-triggered function 'worker' that takes it, and the handler in the
chosen language (standard library only). Serve it at once with
  tandem up --app PARENT/NAME
(a Go handler is built by 'tandem up', or with 'go build -o handler ./src').
`

var appNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,58}$`)

func runNew(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem new", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), newUsage+"\nFlags:\n"); fs.PrintDefaults() }
	lang := fs.String("lang", "python", "handler language: python, node or go")
	parent := fs.String("dir", ".", "folder to create the app in")
	name, rest := splitName(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	if name == "" || fs.NArg() > 1 {
		return fmt.Errorf("%w: tandem new NAME [--lang python|node|go]", errUsageMsg)
	}
	if !appNameRE.MatchString(name) {
		return fmt.Errorf("%w: app name %q: use lower-case letters, digits and '-' (it becomes the app's host name label)", errUsageMsg, name)
	}
	if *lang != "python" && *lang != "node" && *lang != "go" {
		return fmt.Errorf("%w: --lang %q: use python, node or go", errUsageMsg, *lang)
	}
	dir := filepath.Join(*parent, name)
	if err := writeNewApp(dir, name, *lang); err != nil {
		return err
	}
	fmt.Printf("Created %s (%s). Serve it with:\n  tandem up --app %s\nthen: curl http://127.0.0.1:7071/api/hello/you -H 'Host: %s.localhost'\n", dir, *lang, dir, name)
	return nil
}

// splitName takes NAME when it comes before the flags.
func splitName(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// writeNewApp writes the common files and the language's into dir, which
// must not exist yet (nothing of the user's is overwritten).
func writeNewApp(dir, name, lang string) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s already exists; pick another name or folder", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create app: %w", err)
	}
	for _, root := range []string{"newapp/common", "newapp/" + lang} {
		if err := copyTemplate(root, dir, name); err != nil {
			return fmt.Errorf("create app: %w", err)
		}
	}
	if lang == "go" {
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+name+"\n\ngo 1.22\n"), 0o644); err != nil {
			return fmt.Errorf("create app: %w", err)
		}
		if _, err := exec.LookPath("go"); err != nil {
			fmt.Fprintln(os.Stderr, "tandem new: no Go toolchain on PATH: build the handler with 'go build -o handler ./src' where one is")
		}
	}
	return nil
}

// copyTemplate copies the embedded tree root into dir, naming the app in
// the files ({{APP}}) and dropping a .tmpl suffix.
func copyTemplate(root, dir, name string) error {
	return fs.WalkDir(newAppFiles, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(rel, ".tmpl")))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := newAppFiles.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if path.Ext(p) == ".py" || path.Ext(p) == ".js" {
			mode = 0o755
		}
		return os.WriteFile(dst, []byte(strings.ReplaceAll(string(b), "{{APP}}", name)), mode)
	})
}
