//go:build !purego

package train

const pureGo = false
