//go:build race

package proxy

// raceEnabled: the race detector changes allocation counts (sync.Pool
// drops items at random), so the allocation ceilings do not apply.
const raceEnabled = true
