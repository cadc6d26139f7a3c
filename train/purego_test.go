//go:build purego

package train

// pureGo marks the build without assembly, where the end-to-end training
// tests would take minutes; the pure-Go kernels have their own tests.
const pureGo = true
