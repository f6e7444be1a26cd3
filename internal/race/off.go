//go:build !race

// Package race tells tests whether the race detector is on: it allocates on its own and
// drops sync.Pool items on purpose, so allocation counts do not hold under it.
package race

// Enabled is true in a -race build.
const Enabled = false
