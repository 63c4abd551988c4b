package host

import (
	"os"
	"regexp"
	"strconv"
	"strings"
)

// The handler's environment. The Azure host starts a custom handler with
// its own environment (which on App Service is the app's settings and the
// platform's variables) plus the worker variables. A Tandem region's own
// environment is the operator's shell, with secrets such as
// TANDEM_MASTER_KEY, so a handler gets only:
//
//   - a minimal base taken from the region's environment (baseNames and
//     LC_*): what runtimes need to find programs, a home, a locale, a time
//     zone and CA certificates;
//   - Options.Env: the app's settings and connection strings, the site and
//     region names (the region supplies these);
//   - the worker variables (workerVars);
//
// and never a variable whose name starts with TANDEM_, whatever its source.
var baseNames = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true,
	"LANG": true, "LANGUAGE": true, "TZ": true, "TMPDIR": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
}

// baseEnv is the part of the region's environment a handler inherits.
func baseEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if baseNames[k] || strings.HasPrefix(k, "LC_") {
			out = append(out, kv)
		}
	}
	return out
}

// workerVars are the variables the host sets for one worker
// (HttpWorkerProcess.CreateWorkerProcess), in the host's order.
func workerVars(port int, id, root string) [][2]string {
	p := strconv.Itoa(port)
	return [][2]string{
		{"FUNCTIONS_HTTPWORKER_PORT", p},
		{"FUNCTIONS_HTTPWORKER_ID", id},
		{"FUNCTIONS_CUSTOMHANDLER_PORT", p},
		{"FUNCTIONS_CUSTOMHANDLER_WORKER_ID", id},
		{"FUNCTIONS_APP_ROOT_PATH", root},
	}
}

// processEnv is the handler's whole environment: base, app, worker
// variables (later entries win), with TANDEM_* removed.
func processEnv(app []string, vars [][2]string) []string {
	env := append(baseEnv(os.Environ()), app...)
	for _, v := range vars {
		env = append(env, v[0]+"="+v[1])
	}
	out := env[:0:0]
	for _, kv := range dedupe(env) {
		if !strings.HasPrefix(kv, "TANDEM_") {
			out = append(out, kv)
		}
	}
	return out
}

// dedupe keeps the last value of each name, in first-seen order.
func dedupe(env []string) []string {
	last := map[string]string{}
	var order []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := last[k]; !seen {
			order = append(order, k)
		}
		last[k] = v
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = k + "=" + last[k]
	}
	return out
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// commandLine builds the handler's executable and arguments as
// DefaultWorkerProcessFactory does: each argument has %NAME% expanded from
// the environment (Environment.ExpandEnvironmentVariables, unknown names
// left), then the worker path is appended in quotes, then the worker
// arguments; on the joined command line and the executable path every
// %NAME% of a worker variable is replaced; then what is still %...% on
// the command line is removed. The command line is finally split into
// arguments as .NET does on Unix (spaces separate, double quotes group).
func commandLine(spec processSpec, env map[string]string, vars [][2]string) (string, []string) {
	var b strings.Builder
	for _, a := range spec.args {
		b.WriteString(" " + expandEnv(a, env))
	}
	if spec.workerPath != "" {
		b.WriteString(` "` + spec.workerPath + `"`)
	}
	for _, a := range spec.workerArgs {
		b.WriteString(" " + expandEnv(a, env))
	}
	line, path := b.String(), spec.path
	for _, v := range vars {
		line = strings.ReplaceAll(line, "%"+v[0]+"%", v[1])
		path = strings.ReplaceAll(path, "%"+v[0]+"%", v[1])
	}
	line = unresolved.ReplaceAllString(line, "")
	return path, splitArgs(line)
}

var unresolved = regexp.MustCompile(`%(.+?)%`)

// expandEnv is Environment.ExpandEnvironmentVariables: %NAME% of a set
// variable becomes its value; anything else stays as written.
func expandEnv(s string, env map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			break
		}
		name := s[i+1 : i+1+j]
		if v, ok := env[name]; ok && name != "" {
			b.WriteString(s[:i] + v)
			s = s[i+j+2:]
			continue
		}
		b.WriteString(s[:i+1+j]) // keep the first '%' and the text; the closing '%' may open the next name
		s = s[i+1+j:]
	}
	b.WriteString(s)
	return b.String()
}

// splitArgs splits a command line as .NET's Process does on Unix: blanks
// separate arguments, double quotes group (and are removed), a backslash
// escapes a double quote.
func splitArgs(line string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '"':
			cur.WriteByte('"')
			have = true
			i++
		case c == '"':
			inQuote, have = !inQuote, true
		case (c == ' ' || c == '\t') && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}
