package region

import (
	"testing"
)

// TestConformanceRetryPolicy: issue 12 item 5. A timer function's
// function.json retry policy (fixedDelay) runs it again after a failure,
// up to maxRetryCount, each retry with Metadata.RetryContext {RetryCount,
// MaxRetryCount, Exception} as the host sends it; the first run has none.
func TestConformanceRetryPolicy(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		fns := map[string]string{
			"tick": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 0 0 1 1 *","runOnStartup":true}],` +
				`"retry":{"strategy":"fixedDelay","maxRetryCount":2,"delayInterval":"00:00:00.05"}}`,
		}
		app, capFile := conformanceApp(t, l, "retry", fns)
		app.settings["CONFORMANCE_FAIL"] = "/tick"
		tr := startRegion(t, nil, app)
		var runs []capture
		eventually(t, "three runs of tick (one and two retries)", func() bool {
			runs = readCaptures(t, capFile)
			return len(runs) >= 3
		})
		for i, c := range runs[:3] {
			md, _ := payloadOf(t, c)["Metadata"].(map[string]any)
			rc, has := md["RetryContext"].(map[string]any)
			if i == 0 {
				if has {
					t.Errorf("first run has a RetryContext: %v", rc)
				}
				continue
			}
			exc, _ := rc["Exception"].(map[string]any)
			if rc["RetryCount"] != float64(i) || rc["MaxRetryCount"] != float64(2) || exc["ClassName"] != "System.Exception" || exc["Message"] == "" {
				t.Errorf("run %d: RetryContext %v", i, rc)
			}
		}
		eventually(t, "the failures metered", func() bool {
			return tr.Meter().Report().Apps["retry"].Functions["tick"].Failures == 3
		})
		if n := len(readCaptures(t, capFile)); n != 3 {
			t.Errorf("%d runs, want 3 (maxRetryCount 2)", n)
		}
	})
}
