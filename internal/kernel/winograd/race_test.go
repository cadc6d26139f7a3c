//go:build race

package winograd

const raceEnabled = true
