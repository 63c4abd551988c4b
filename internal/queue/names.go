package queue

import (
	"fmt"
	"strings"
)

// PoisonSuffix is appended to a queue's name to name its poison queue, as
// the Azure Storage queues extension does.
const PoisonSuffix = "-poison"

// ValidQueueName checks an Azure Storage queue name: 3-63 characters,
// lowercase letters, digits and single hyphens, starting and ending with a
// letter or digit. The error says which rule failed.
func ValidQueueName(name string) error {
	if n := len(name); n < 3 || n > 63 {
		return fmt.Errorf("queue name %q: must be 3-63 characters long, has %d", name, n)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isLowerAlnum(c) && c != '-' {
			return fmt.Errorf("queue name %q: character %q at %d: use lowercase letters, digits and '-'", name, c, i)
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("queue name %q: must start and end with a letter or digit", name)
	}
	if strings.Contains(name, "--") {
		return fmt.Errorf("queue name %q: hyphens must not be consecutive", name)
	}
	return nil
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validApp checks an app name as it appears in stream names and subjects:
// letters, digits and '-' only (see DEVELOPERS.md), at most 64 characters.
func validApp(app string) error {
	if app == "" || len(app) > 64 {
		return fmt.Errorf("app name %q: must be 1-64 characters", app)
	}
	for i := 0; i < len(app); i++ {
		c := app[i]
		if !isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '-' {
			return fmt.Errorf("app name %q: character %q at %d: use letters, digits and '-'", app, c, i)
		}
	}
	return nil
}

// validNames checks an app and a queue name together.
func validNames(app, queue string) error {
	if err := validApp(app); err != nil {
		return err
	}
	return ValidQueueName(queue)
}

// PoisonQueue returns the poison queue of queue, or "" when queue has none:
// a poison queue has no poison queue of its own, and neither does a queue
// whose poison name would be longer than 63 characters (Azure's rules).
func PoisonQueue(queue string) string {
	if strings.HasSuffix(queue, PoisonSuffix) {
		return ""
	}
	p := queue + PoisonSuffix
	if ValidQueueName(p) != nil {
		return ""
	}
	return p
}
