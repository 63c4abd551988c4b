package region

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestTimerErrorsNameFileAndField: a timer that cannot start is refused
// with an error naming the function.json and the field (or the setting)
// at fault; they used to read "function tick: timer add shop/tick: ...".
func TestTimerErrorsNameFileAndField(t *testing.T) {
	tr := startRegion(t, nil)
	tick := func(schedule string) map[string]string {
		return map[string]string{"tick": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"` + schedule + `"}]}`}
	}
	cases := []struct {
		name string
		app  testApp
		want []string
	}{
		{"bad NCRONTAB", testApp{name: "a1", functions: tick("61 * * * * *")}, []string{`tick/function.json: field "schedule"`, "61"}},
		{"missing setting", testApp{name: "a2", functions: tick("%EVERY%")}, []string{`tick/function.json: field "schedule"`, "EVERY"}},
		{"bad TZ", testApp{name: "a3", settings: map[string]string{"TZ": "Mars/Olympus"}, functions: tick("0 0 * * * *")}, []string{`tick/function.json: field "schedule"`, "app setting TZ", "Mars/Olympus"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := tr.LoadApp(ctx, AppSpec{Name: c.app.name, Dir: c.app.write(t)})
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
			if _, ok := tr.Apps()[c.app.name]; ok {
				t.Fatal("the app was installed")
			}
		})
	}
}

// TestQueueNamesAreLowerCased: "queueName" with capitals, in a trigger and
// in an output binding, names the lower-case queue, as the Azure queues
// extension coerces it; such apps used to be refused at load.
func TestQueueNamesAreLowerCased(t *testing.T) {
	app := testApp{name: "shop",
		settings: map[string]string{"REPLY_send": `{"Outputs":{"msg":"hello","res":{"statusCode":202}}}`},
		functions: map[string]string{
			"send": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"send"},` +
				`{"type":"queue","direction":"out","name":"msg","queueName":"JOBS"},{"type":"http","direction":"out","name":"res"}]}`,
			"work": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"job","queueName":"Jobs"}]}`,
		}}
	tr := startRegion(t, nil, app)
	if r := tr.do("POST", "/api/send", "", "x"); r.code != 202 {
		t.Fatalf("send: %d %s", r.code, r.body)
	}
	eventually(t, "the message processed by the trigger of queue Jobs", func() bool {
		return tr.Meter().Report().Apps["shop"].Functions["work"].Executions >= 1
	})
	if r := tr.admin("GET", "/admin/apps/shop/queues/jobs", ""); r.code != 200 {
		t.Fatalf("queue jobs: %d %s", r.code, r.body)
	}
}
