package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tandemhq/tandem/internal/deploy"
	"github.com/tandemhq/tandem/internal/region"
)

// functionError is a function in error in one region's app.
type functionError struct {
	region, app, function, err string
}

// collectFunctionErrors asks every region for its apps' functions in
// error (GET /admin/apps, then /admin/apps/{app}/functions).
func collectFunctionErrors(ctx context.Context, regions []*deploy.Client) ([]functionError, []error) {
	var mu sync.Mutex
	var out []functionError
	var errs []error
	var wg sync.WaitGroup
	for _, c := range regions {
		wg.Go(func() {
			fe, err := regionFunctionErrors(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			out = append(out, fe...)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.Region, err))
			}
		})
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.region+"\x00"+a.app+"\x00"+a.function < b.region+"\x00"+b.app+"\x00"+b.function
	})
	return out, errs
}

func regionFunctionErrors(ctx context.Context, c *deploy.Client) ([]functionError, error) {
	var apps map[string][]string
	if err := adminGet(ctx, c, "/admin/apps", &apps); err != nil {
		return nil, err
	}
	var out []functionError
	for app := range apps {
		var fns []region.FunctionStatus
		if err := adminGet(ctx, c, "/admin/apps/"+url.PathEscape(app)+"/functions", &fns); err != nil {
			return out, err
		}
		for _, f := range fns {
			if f.Error != "" {
				out = append(out, functionError{region: c.Region, app: app, function: f.Name, err: f.Error})
			}
		}
	}
	return out, nil
}

func adminGet(ctx context.Context, c *deploy.Client, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("x-functions-key", c.Key)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// printFunctionErrors lists the functions that could not load; the rest
// of their apps run.
func printFunctionErrors(w io.Writer, fes []functionError, errs []error) {
	if len(fes) == 0 && len(errs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nFUNCTIONS IN ERROR (the rest of each app runs)")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tAPP\tFUNCTION\tERROR")
	for _, f := range fes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.region, f.app, f.function, f.err)
	}
	_ = tw.Flush()
	for _, err := range errs {
		fmt.Fprintf(w, "(%v)\n", err)
	}
}
