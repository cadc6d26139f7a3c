//go:build (!amd64 && !arm64) || purego

package sgemm

func asmVariants() []*variant { return nil }
