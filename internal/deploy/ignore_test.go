package deploy

import (
	"strings"
	"testing"
)

func TestIgnoreMatch(t *testing.T) {
	cases := []struct {
		rules string
		path  string
		dir   bool
		want  bool
	}{
		{"*.log", "a.log", false, true},
		{"*.log", "deep/down/a.log", false, true},
		{"*.log", "a.logx", false, false},
		{"# comment\n\n*.log", "a.log", false, true},
		{`\#literal`, "#literal", false, true},
		{"build/", "build", true, true},
		{"build/", "build", false, false},
		{"build/", "src/build", true, true},
		{"/build", "src/build", true, false},
		{"/build", "build", false, true},
		{"docs/*.md", "docs/a.md", false, true},
		{"docs/*.md", "x/docs/a.md", false, false},
		{"**/node_modules", "a/b/node_modules", true, true},
		{"**/node_modules", "node_modules", true, true},
		{"a/**/z", "a/z", false, true},
		{"a/**/z", "a/b/c/z", false, true},
		{"a/**/z", "b/a/z", false, false},
		{"*.md\n!README.md", "README.md", false, false},
		{"*.md\n!README.md", "docs/x.md", false, true},
		{"!README.md\n*.md", "README.md", false, true},
		{"file?.txt", "file1.txt", false, true},
		{"file[0-9].txt", "filex.txt", false, false},
		{"trailing   ", "trailing", false, true},
		{"crlf\r", "crlf", false, true},
		{"/", "anything", false, false},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.rules, "\n", "|")+"~"+c.path, func(t *testing.T) {
			ig, err := ParseIgnore([]byte(c.rules))
			if err != nil {
				t.Fatal(err)
			}
			if got := ig.Match(c.path, c.dir); got != c.want {
				t.Fatalf("Match(%q, dir=%v) = %v, want %v", c.path, c.dir, got, c.want)
			}
		})
	}
}

func TestParseIgnoreNamesBadLine(t *testing.T) {
	_, err := ParseIgnore([]byte("ok\n# fine\nbad[\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("err = %v, want one naming line 3", err)
	}
}
