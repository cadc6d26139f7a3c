package sgemm

// params are the GotoBLAS/BLIS blocking sizes of one tier.
//
// The micro-kernel computes an MR x NR tile of C from an MR x KC panel of A
// (broadcast one element at a time) and a KC x NR panel of B (loaded as
// vectors along n, the contiguous direction of row-major C). A task owns an
// MC x NC block of C; for each KC slice it walks the MR panels of A, each of
// which stays in L1 while the NR-wide panels of the task's KC x NC block of B
// stream past it from L2. B is read in place unless it is transposed (then
// the block is packed). The assembly tiers' params are in dispatch_amd64.go.
type params struct {
	MR, NR int // register tile
	KC     int // depth of one pass: an MR x KC panel of A fits in L1 next to the B stream
	MC     int // rows of C per task: each task reads its B block once per MC rows
	NC     int // columns of C per task: a KC x NC block of B fits in L2
}

// genericParams suit the pure-Go kernel: 16 scalar accumulators fit the 16
// floating-point registers of amd64 (and half of arm64's).
var genericParams = params{
	MR: 4, NR: 4,
	KC: 256, // A panel 4 KiB in L1
	MC: 256,
	NC: 512, // B block 512 KiB in a 1 MiB L2
}
