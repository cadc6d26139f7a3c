//go:build !amd64 || purego

package sgemm

func asmVariants() []*variant { return nil }
