package health

import "hash/fnv"

// Owner picks the agent that checks an instance by rendezvous (highest
// random weight) hashing: every agent computes the same owner from the
// same set of agents, and when an agent leaves the set only the instances
// it owned move, spread over the others.
func Owner(agents []string, instanceID string) string {
	var (
		best  string
		score uint64
	)
	for _, a := range agents {
		h := fnv.New64a()
		h.Write([]byte(a))
		h.Write([]byte{'/'})
		h.Write([]byte(instanceID))
		s := mix(h.Sum64())
		if best == "" || s > score || (s == score && a < best) {
			best, score = a, s
		}
	}
	return best
}

// mix is a 64-bit finaliser (splitmix64): FNV alone spreads similar keys
// poorly in its high bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
