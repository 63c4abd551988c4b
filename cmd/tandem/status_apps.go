package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tandemhq/tandem/internal/deploy"
)

// printServedApps lists the apps each region serves, whether deployed as
// packages or loaded from folders with --app (which have no package, so
// the version table above does not show them).
func printServedApps(ctx context.Context, w io.Writer, regions []*deploy.Client) {
	fmt.Fprintln(w, "\nApps served (deployed or loaded with --app):")
	for _, c := range regions {
		var apps map[string][]string
		if err := adminGet(ctx, c, "/admin/apps", &apps); err != nil {
			fmt.Fprintf(w, "  %-8s unreachable: %v\n", c.Region, err)
			continue
		}
		names := make([]string, 0, len(apps))
		for name, fns := range apps {
			names = append(names, fmt.Sprintf("%s (%d functions)", name, len(fns)))
		}
		sort.Strings(names)
		if len(names) == 0 {
			names = []string{"none"}
		}
		fmt.Fprintf(w, "  %-8s %s\n", c.Region, strings.Join(names, ", "))
	}
}
