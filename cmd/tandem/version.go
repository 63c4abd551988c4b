package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

func init() {
	register(&command{name: "version", summary: "print the version and the source revision this binary was built from", run: runVersion})
	register(&command{name: "completion", summary: "print a shell completion script: tandem completion bash|zsh", run: runCompletion})
}

func runVersion(context.Context, []string) error {
	fmt.Println(versionLine())
	return nil
}

// buildRevision is the source revision given at link time
// (-ldflags "-X main.buildRevision=..."), as the Dockerfile does for a
// build context without .git; the build information's wins.
var buildRevision string

// versionLine is the module version and the VCS revision from the build
// information ("(devel)" and "unknown" for a plain go run).
func versionLine() string {
	version, rev, when, modified := "(devel)", "unknown", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if rev == "unknown" && buildRevision != "" {
		rev = buildRevision
	}
	if modified {
		rev += "+modified"
	}
	parts := []string{"tandem " + version, "revision " + rev}
	if when != "" {
		parts = append(parts, "committed "+when)
	}
	return strings.Join(append(parts, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH), ", ")
}

func runCompletion(_ context.Context, args []string) error {
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		return fmt.Errorf("%w: tandem completion bash|zsh", errUsageMsg)
	}
	fmt.Print(completionScript(args[0]))
	return nil
}

// completionScript completes command names, and a command's flags by
// asking 'tandem CMD --help' (help goes to stdout).
func completionScript(shell string) string {
	bash := `# tandem shell completion: source <(tandem completion bash)
_tandem() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "` + strings.Join(commandNames(), " ") + `" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(${COMP_WORDS[0]} ${COMP_WORDS[1]} --help 2>/dev/null | sed -n 's/^  \(-[A-Za-z0-9-]*\).*/-\1/p')" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _tandem tandem
`
	if shell == "zsh" {
		return "# tandem shell completion: source <(tandem completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n" + bash
	}
	return bash
}
