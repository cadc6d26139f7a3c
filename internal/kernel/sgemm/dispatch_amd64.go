//go:build !purego

package sgemm

func asmVariants() []*variant { return nil }
