package region

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/deploy"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/gateway"
)

// timerPackageDir is packageDir with a timer function "tick" on schedule.
func timerPackageDir(t *testing.T, rev int, schedule string) string {
	t.Helper()
	dir := packageDir(t, rev)
	fn := `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":` + jsonString(schedule) + `}]}`
	writeJSONFile(t, filepath.Join(dir, "tick", "function.json"), json.RawMessage(fn))
	return dir
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (tr *testRegion) pushErr(p *deploy.Packed) error {
	tr.t.Helper()
	ctx, cancel := contextWithTimeout(time.Minute)
	defer cancel()
	_, err := tr.client().Push(ctx, "shop", p, time.Now())
	return err
}

func (tr *testRegion) ticks() uint64 {
	return tr.Meter().Report().Apps["shop"].Functions["tick"].Executions
}

// TestRedeployIsTransactional: redeploying an app with a timer trigger
// succeeds and the new version serves (it used to fail with "timer add
// shop/tick: already added" and leave the app answering 503); a version
// that does not load (a bad NCRONTAB, a bad route) is refused with an
// error naming the file and field, and the old version keeps serving
// requests and firing its timer.
func TestRedeployIsTransactional(t *testing.T) {
	r := startRegion(t, nil)
	v1 := pack(t, timerPackageDir(t, 1, "*/1 * * * * *"))
	v2 := pack(t, timerPackageDir(t, 2, "*/1 * * * * *"))
	r.push(v1, time.Now())
	r.push(v2, time.Now())
	waitServing(t, r, v2.Version)
	before := r.ticks()
	eventually(t, "v2's timer firing", func() bool { return r.ticks() >= before+2 })

	badRoute := packageDir(t, 4)
	writeJSONFile(t, filepath.Join(badRoute, "tick", "function.json"), json.RawMessage(httpFn("anonymous", "x/{a")))
	badQueue := packageDir(t, 5)
	writeJSONFile(t, filepath.Join(badQueue, "work", "function.json"), json.RawMessage(`{"bindings":[{"type":"queueTrigger","direction":"in","name":"job","queueName":"%QUEUE%"}]}`))
	cases := []struct {
		name, dir, want string
	}{
		{"bad NCRONTAB", timerPackageDir(t, 3, "not a schedule"), `tick/function.json: field "schedule"`},
		{"bad route", badRoute, `tick/function.json: field "route"`},
		{"bad queue trigger name", badQueue, `work/function.json: binding "job": field "queueName"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.pushErr(pack(t, c.dir))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("push: %v, want an error containing %q", err, c.want)
			}
			if root, code := r.servedRoot(""); code != 200 || root != r.versionRoot(v2.Version) {
				t.Fatalf("after the refused deploy: %d from %q, want v2 serving", code, root)
			}
			n := r.ticks()
			eventually(t, "v2's timer still firing", func() bool { return r.ticks() >= n+2 })
		})
	}
}

// TestFailedHandOverRestoresOldTriggers: when the new version's triggers
// fail to start after its checks passed (here a queue listener refused
// after the new timer had started), the new version's timer is removed,
// the old version's timer fires again and the old version keeps serving.
func TestFailedHandOverRestoresOldTriggers(t *testing.T) {
	tick := `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"*/1 * * * * *"}]}`
	old := testApp{name: "shop", functions: map[string]string{"tick": tick, "hello": httpFn("anonymous", "hello")}}
	tr := startRegion(t, nil, old)
	eventually(t, "the old timer firing", func() bool { return tr.ticks() >= 1 })

	bad := testApp{name: "shop", functions: map[string]string{"tick": tick,
		"work": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"job","queueName":"%NOT_RESOLVED%"}]}`}}
	app, err := funcapp.Load("shop", bad.write(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeout(20 * time.Second)
	defer cancel()
	rt := tr.newRuntime(app, gateway.NewRoutes(app)) // past the checks, which would refuse it
	if err := tr.installApp(ctx, rt); err == nil {
		t.Fatal("a version whose listener cannot start was installed")
	}
	_ = tr.stopRuntime(ctx, rt)
	if r := tr.do("GET", "/api/hello", "", ""); r.code != 200 {
		t.Fatalf("old version after the failed hand-over: %d %s", r.code, r.body)
	}
	n := tr.ticks()
	eventually(t, "the old timer firing again", func() bool { return tr.ticks() >= n+2 })
}
