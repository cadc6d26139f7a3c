//go:build !race

package winograd

const raceEnabled = false
