package host

import (
	"strings"
	"testing"
)

// TestCommandLine follows DefaultWorkerProcessFactory: arguments expanded
// from the environment, the worker path appended in quotes, then worker
// arguments; worker variables replaced in the line and the executable;
// unresolved %NAME% removed from the line only; the line split as .NET
// does.
func TestCommandLine(t *testing.T) {
	vars := workerVars(4242, "app-1", "/site")
	env := map[string]string{"HOME": "/home/h", "MODE": "fast", "SPACED": "a b"}
	tests := []struct {
		name       string
		spec       processSpec
		path, args string
	}{
		{"php sample", processSpec{path: "php", args: []string{"-S", "127.0.0.1:%FUNCTIONS_CUSTOMHANDLER_PORT%"}}, "php", "-S|127.0.0.1:4242"},
		{"httpWorker node", processSpec{path: "node", workerPath: "server.js", workerArgs: []string{"--mode=%MODE%"}}, "node", "server.js|--mode=fast"},
		{"unresolved removed", processSpec{path: "h", args: []string{"--x=%NOPE%y", "%NOPE%"}}, "h", "--x=y"},
		{"worker id and legacy names", processSpec{path: "h", args: []string{"%FUNCTIONS_CUSTOMHANDLER_WORKER_ID%", "%FUNCTIONS_HTTPWORKER_PORT%", "%FUNCTIONS_APP_ROOT_PATH%"}}, "h", "app-1|4242|/site"},
		{"executable expanded by worker vars only", processSpec{path: "/bin/%FUNCTIONS_HTTPWORKER_ID%/%MODE%"}, "/bin/app-1/%MODE%", ""},
		{"spaces split as the host does", processSpec{path: "h", args: []string{"%SPACED%", `"quoted arg"`}}, "h", "a|b|quoted arg"},
		{"percent that is not a name", processSpec{path: "h", args: []string{"100%", "50%MODE%"}}, "h", "100%|50fast"},
		{"worker path with spaces stays one", processSpec{path: "python3", workerPath: "my app/main.py"}, "python3", "my app/main.py"},
	}
	for _, tt := range tests {
		path, args := commandLine(tt.spec, env, vars)
		if path != tt.path || strings.Join(args, "|") != tt.args {
			t.Errorf("%s: got %q %q, want %q %q", tt.name, path, strings.Join(args, "|"), tt.path, tt.args)
		}
	}
}

// TestProcessEnvIsMinimal: issue 11 item 1: only the base, the app's
// variables and the worker variables; never TANDEM_*.
func TestProcessEnvIsMinimal(t *testing.T) {
	t.Setenv("TANDEM_MASTER_KEY", "secret-master-key-value")
	t.Setenv("OPERATOR_SECRET", "s3cret")
	t.Setenv("LC_ALL", "C.UTF-8")
	t.Setenv("HOME", "/home/op")
	env := envMap(processEnv([]string{"MY_SETTING=1", "TANDEM_SNEAKY=x", "HOME=/home/app"}, workerVars(1, "w", "/r")))
	for _, k := range []string{"TANDEM_MASTER_KEY", "OPERATOR_SECRET", "TANDEM_SNEAKY"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s reached the handler", k)
		}
	}
	if env["MY_SETTING"] != "1" || env["LC_ALL"] != "C.UTF-8" || env["HOME"] != "/home/app" || env["FUNCTIONS_CUSTOMHANDLER_PORT"] != "1" || env["PATH"] == "" {
		t.Errorf("env %v", env)
	}
}

func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"%A%", "%%", "a%b%c%", `"x y" \"z`, "%FUNCTIONS_CUSTOMHANDLER_PORT%%", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		_, args := commandLine(processSpec{path: "h", args: []string{arg}}, map[string]string{"A": "%B%", "B": "b"}, workerVars(1, "w", "/r"))
		for _, a := range args {
			if strings.Contains(a, "%FUNCTIONS_CUSTOMHANDLER_PORT%") {
				t.Fatalf("worker variable left in %q", a)
			}
		}
	})
}
