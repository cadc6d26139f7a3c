package data

import (
	"math/bits"
	"math/rand/v2"
)

// Training randomness comes from streams named by (seed, purpose, epoch,
// item), each a PCG generator, so that an epoch's order and every item's
// augmentation are the same whatever the worker count and whatever was drawn
// before. Float64 and IntN are written out here, over PCG's specified output,
// so that the streams cannot change with the Go release and a run resumed
// from a checkpoint draws what the uninterrupted run drew.

// Stream purposes.
const (
	streamOrder     = 1
	streamTransform = 2
)

// splitmix64 is SplitMix64's output function, used to spread the stream
// coordinates over PCG's second seed word.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// draws is one stream. It implements vision.Rand.
type draws struct{ pcg *rand.PCG }

func stream(seed uint64, purpose, epoch, item uint64) draws {
	return draws{rand.NewPCG(seed, splitmix64(splitmix64(splitmix64(purpose)^epoch)^item))}
}

// Float64 returns a uniform float64 in [0, 1) with 53 random bits.
func (d draws) Float64() float64 { return float64(d.pcg.Uint64()>>11) * 0x1p-53 }

// IntN returns a uniform int in [0, n), n > 0, by Lemire's multiply-shift
// with rejection.
func (d draws) IntN(n int) int {
	if n <= 0 {
		panic("data: IntN of a non-positive bound")
	}
	un := uint64(n)
	for {
		hi, lo := bits.Mul64(d.pcg.Uint64(), un)
		if lo >= un || lo >= -un%un {
			return int(hi)
		}
	}
}

// EpochOrder is the order in which an epoch visits n items: 0..n-1, or when
// shuffle is set a permutation drawn from (seed, epoch) by Fisher-Yates.
func EpochOrder(n int, shuffle bool, seed uint64, epoch int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if shuffle {
		d := stream(seed, streamOrder, uint64(epoch), 0)
		for i := n - 1; i > 0; i-- {
			j := d.IntN(i + 1)
			order[i], order[j] = order[j], order[i]
		}
	}
	return order
}
