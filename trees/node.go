package trees

import (
	"fmt"
	"math"
)

// node is one node of a tree in the flat form both formats load into. A
// tree's nodes are laid out breadth-first so that the two children of a node
// are adjacent: the walk computes the next index as kids+goRight, which the
// compiler turns into a conditional move instead of an unpredictable branch.
type node struct {
	// val is the leaf value for leaves; for numeric splits the threshold T
	// normalised so that a present value x goes right exactly when x >= T;
	// for categorical splits the index of the category set.
	val float64
	// kids is the index of the left child; the right child is kids+1.
	kids int32
	// meta holds the feature index in its low bits and the flags above them.
	meta uint32
}

const (
	flagLeaf     uint32 = 1 << 31 // the node is a leaf
	flagNaNRight uint32 = 1 << 30 // a missing value goes right
	flagCat      uint32 = 1 << 29 // categorical split
	missShift           = 27      // two bits: how a numeric split treats missing values
	missMask     uint32 = 3 << missShift
	featMask     uint32 = 1<<missShift - 1

	// Missing-value rules of numeric splits (LightGBM's MissingType);
	// XGBoost's rule is missNaN.
	missNaN    uint32 = 0 // NaN takes the default direction
	missNone   uint32 = 1 // NaN is replaced by 0 and compared
	missZero   uint32 = 2 // NaN becomes 0, and |x| <= kZeroThreshold takes the default direction
	missCatLGB uint32 = 1 // on categorical nodes: LightGBM rules instead of XGBoost's

	slowMask = flagCat | missMask
)

// maxFeatures bounds the feature index a node can hold.
const maxFeatures = int(featMask) + 1

// lgbZeroThreshold is LightGBM's kZeroThreshold: the float literal 1e-35f
// widened to double, as the C++ constant is.
var lgbZeroThreshold = float64(float32(1e-35))

// xgbMaxCat is XGBoost's bound on category values (2^24, the largest integer
// range a float32 holds exactly); larger or negative values match no category.
const xgbMaxCat = 1 << 24

// catSet is a category bitset: words catWords[off:off+n], bit c%32 of word
// c/32 set when category c is in the set.
type catSet struct {
	off, n int32
}

// leaf walks one tree for one row and returns the leaf's value. The loop
// ends because every child index is larger than its parent's (breadth-first
// layout), which the loaders guarantee.
func (m *Model) leaf(nodes []node, n int32, row []float64) float64 {
	for {
		nd := nodes[n]
		if nd.meta&(flagLeaf|slowMask) != 0 {
			if nd.meta&flagLeaf != 0 {
				return nd.val
			}
			n = m.slowNext(nd, row[nd.meta&featMask])
			continue
		}
		x := row[nd.meta&featMask]
		var right int32
		if x >= nd.val {
			right = 1
		}
		if x != x { // NaN: the node's default direction
			right = int32(nd.meta >> 30 & 1)
		}
		n = nd.kids + right
	}
}

// slowNext decides categorical splits and LightGBM's Zero and None missing
// rules, which the walk's fast path leaves out.
func (m *Model) slowNext(nd node, x float64) int32 {
	dflt := int32(nd.meta >> 30 & 1)
	mt := nd.meta & missMask >> missShift
	if nd.meta&flagCat != 0 {
		set := m.catSets[int(nd.val)]
		words := m.catWords[set.off : set.off+set.n]
		if mt == missCatLGB {
			// LightGBM CategoricalDecision: NaN and negative go right; a
			// value in the set goes left. static_cast<int> truncates.
			if x != x || x <= -1 || x >= 1<<31 {
				return nd.kids + 1
			}
			if inBitset(words, int(x)) {
				return nd.kids
			}
			return nd.kids + 1
		}
		// XGBoost: NaN takes the default; the value is read as float32 and
		// truncated; a category in the set goes right, anything else
		// (including invalid categories) goes left.
		if x != x {
			return nd.kids + dflt
		}
		c := float32(x)
		if c < 0 || c >= xgbMaxCat {
			return nd.kids
		}
		if inBitset(words, int(c)) {
			return nd.kids + 1
		}
		return nd.kids
	}
	if x != x {
		x = 0 // LightGBM: NaN counts as zero unless the missing type is NaN
	}
	if mt == missZero && x >= -lgbZeroThreshold && x <= lgbZeroThreshold {
		return nd.kids + dflt
	}
	if x >= nd.val {
		return nd.kids + 1
	}
	return nd.kids
}

func inBitset(words []uint32, c int) bool {
	i := c / 32
	if i >= len(words) {
		return false
	}
	return words[i]>>(uint(c)%32)&1 != 0
}

// srcNode is a node as a loader reads it, in the file's own numbering,
// before the breadth-first layout.
type srcNode struct {
	leaf        bool
	value       float64 // leaf value
	left, right int     // children, indices into the same slice
	feature     int
	threshold   float64 // normalised: present x goes right iff x >= threshold
	flags       uint32  // flagNaNRight, flagCat and the missing rule
	cat         int     // category set index for categorical splits
}

// appendTree lays out the tree rooted at src[root] breadth-first onto nodes
// and returns the extended slice. It fails on child indices out of range and
// on nodes reached twice (cycles or shared subtrees), so the resulting walk
// always terminates. Nodes not reachable from the root are dropped (XGBoost
// keeps deleted nodes in pruned trees).
func appendTree(nodes []node, src []srcNode, root int) ([]node, error) {
	if root < 0 || root >= len(src) {
		return nodes, fmt.Errorf("root node %d out of range [0,%d)", root, len(src))
	}
	seen := make([]bool, len(src))
	type item struct{ src, dst int }
	queue := []item{{root, len(nodes)}}
	seen[root] = true
	nodes = append(nodes, node{})
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		s := &src[it.src]
		if s.leaf {
			nodes[it.dst] = node{val: s.value, meta: flagLeaf}
			continue
		}
		if len(nodes) > math.MaxInt32-2 {
			return nodes, fmt.Errorf("model has more than %d nodes", math.MaxInt32)
		}
		kids := len(nodes)
		for k, c := range [2]int{s.left, s.right} {
			side := [2]string{"left", "right"}[k]
			if c < 0 || c >= len(src) {
				return nodes, fmt.Errorf("node %d: %s child %d out of range [0,%d)", it.src, side, c, len(src))
			}
			if seen[c] {
				return nodes, fmt.Errorf("node %d: %s child %d is reached twice (cycle or shared subtree)", it.src, side, c)
			}
			seen[c] = true
			queue = append(queue, item{c, kids + k})
		}
		nodes = append(nodes, node{}, node{})
		val := s.threshold
		if s.flags&flagCat != 0 {
			val = float64(s.cat)
		}
		nodes[it.dst] = node{val: val, kids: int32(kids), meta: uint32(s.feature) | s.flags}
	}
	return nodes, nil
}

// xgbThreshold converts XGBoost's test float32(x) < t into the normalised
// x >= T (right) form on the float64 value, so rows need no conversion: T is
// the smallest float64 that rounds to t or above. Between t's float32
// predecessor p and t, the midpoint (exact in float64) rounds to whichever of
// p and t has an even significand, ties-to-even.
func xgbThreshold(t float32) float64 {
	if math.IsInf(float64(t), -1) {
		return math.Inf(-1)
	}
	// Values beyond the float32 range round to ±Inf from halfway between
	// MaxFloat32 and 2^128 on.
	overflow := float64(math.MaxFloat32) + math.Exp2(127-24)
	p := math.Nextafter32(t, float32(math.Inf(-1)))
	mid := (float64(p) + float64(t)) / 2
	switch {
	case math.IsInf(float64(t), 1):
		mid = overflow
	case math.IsInf(float64(p), -1):
		mid = -overflow
	}
	if math.Float32bits(t)&1 == 0 {
		return mid // the midpoint rounds to t: it goes right
	}
	return math.Nextafter(mid, math.Inf(1))
}

// lgbThreshold converts LightGBM's test x <= t (left) into the normalised
// x >= T (right) form.
func lgbThreshold(t float64) float64 {
	if math.IsInf(t, 1) {
		return math.NaN() // every present value goes left
	}
	return math.Nextafter(t, math.Inf(1))
}
