//go:build !race

package rewriters

// yamlRaceEnabled relaxes timing checks: the race detector slows code ~10x.
const yamlRaceEnabled = false
