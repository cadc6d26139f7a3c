//go:build !amd64 || purego

package ops

var fastPlanes = refPlanes
