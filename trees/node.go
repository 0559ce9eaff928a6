package trees

import (
	"fmt"
	"math"
)

// node is one node of a tree in the flat form both formats load into.
//
// A tree's nodes are laid out breadth-first with the two children of a node
// in adjacent slots kids and kids+1, so a step is kids+c for a 0/1 value c
// computed without a branch. Plain numeric splits (all of XGBoost's, and
// LightGBM's with missing type NaN) take c = !(x' < val), which is 1 for NaN:
//
//   - default right: x' = x, val = T, slots (left, right): x >= T and NaN
//     go right.
//   - default left: x' = -x, val = nextUp(-T), slots (right, left):
//     -x < nextUp(-T) ⇔ x >= T goes to slot 0 (right); smaller values and
//     NaN go to slot 1 (left).
//
// where T is the threshold normalised so that a present x goes right
// exactly when x >= T. Flipping x's sign is one XOR, so both cases are the
// same branch-free instruction sequence. Categorical splits and LightGBM's
// Zero and None missing rules take a slower path with normal slot order.
//
// A leaf is a fixed point of the step: it reads the zero column that
// lockstep walks append to each row (feature index NumFeatures), compares
// 0 < +Inf and stays put, so a block of rows can walk a fixed number of
// levels with no per-node leaf test. Leaf values live in Model.values.
type node struct {
	// val is the comparison value described above; for categorical splits
	// the index of the category set; +Inf for leaves.
	val float64
	// kids is the index of the first child slot; a leaf's is its own index.
	kids int32
	// meta holds the feature index in its low bits and the flags above them.
	meta uint32
}

const (
	flagLeaf        uint32 = 1 << 31 // the node is a leaf
	flagDefaultLeft uint32 = 1 << 30 // a missing value goes left
	flagCat         uint32 = 1 << 29 // categorical split
	missShift              = 27      // two bits: how a numeric split treats missing values
	missMask        uint32 = 3 << missShift
	featMask        uint32 = 1<<missShift - 1

	// Missing-value rules of numeric splits (LightGBM's MissingType);
	// XGBoost's rule is missNaN.
	missNaN    uint32 = 0 // NaN takes the default direction
	missNone   uint32 = 1 // NaN is replaced by 0 and compared
	missZero   uint32 = 2 // NaN becomes 0, and |x| <= kZeroThreshold takes the default direction
	missCatLGB uint32 = 1 // on categorical nodes: LightGBM rules instead of XGBoost's

	slowMask = flagCat | missMask

	// signShift moves flagDefaultLeft onto a float64's sign bit.
	signShift = 63 - 30
)

// maxFeatures bounds the number of features: indices up to maxFeatures, the
// lockstep zero column included, must fit in featMask.
const maxFeatures = int(featMask)

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

// b2i is 1 for true: the compiler turns it into SETcc, keeping the walk
// free of data-dependent branches.
func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// fastStep is the branch-free step of a plain numeric split (see node).
// Small enough to inline.
func fastStep(nd *node, x float64) int32 {
	xs := math.Float64frombits(math.Float64bits(x) ^ uint64(nd.meta&flagDefaultLeft)<<signShift)
	return nd.kids + b2i(!(xs < nd.val))
}

// leaf walks one tree for one row and returns the leaf's value. The loop
// ends because every child index is larger than its parent's (breadth-first
// layout), which the loaders guarantee.
func (m *Model) leaf(nodes []node, n int32, row []float64) float64 {
	for {
		nd := &nodes[n]
		if nd.meta&(flagLeaf|slowMask) != 0 {
			if nd.meta&flagLeaf != 0 {
				return m.values[n]
			}
			n = m.slowNext(*nd, row[nd.meta&featMask])
			continue
		}
		n = fastStep(nd, row[nd.meta&featMask])
	}
}

// walkBlock walks the rows of block (stride nf+1, each row ending in a zero
// column for the leaves to read) through the tree at root for depth levels
// in lockstep, leaving each row's leaf in idx. The rows' walks are
// independent, so the CPU overlaps their memory loads.
func (m *Model) walkBlock(root int32, depth int, slow bool, block []float64, stride int, idx []int32) {
	nodes := m.nodes
	for i := range idx {
		idx[i] = root
	}
	if !slow {
		// Only plain numeric splits: no flag test in the loop.
		for range depth {
			off := 0
			for i, n := range idx {
				nd := &nodes[n]
				idx[i] = fastStep(nd, block[off+int(nd.meta&featMask)])
				off += stride
			}
		}
		return
	}
	for range depth {
		off := 0
		for i, n := range idx {
			nd := &nodes[n]
			x := block[off+int(nd.meta&featMask)]
			off += stride
			if nd.meta&slowMask != 0 {
				idx[i] = m.slowNext(*nd, x)
				continue
			}
			idx[i] = fastStep(nd, x)
		}
	}
}

// slowNext decides categorical splits and LightGBM's Zero and None missing
// rules, which the walk's fast path leaves out.
func (m *Model) slowNext(nd node, x float64) int32 {
	dflt := 1 - int32(nd.meta>>30&1) // 1: missing goes right
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
	flags       uint32  // flagDefaultLeft, flagCat and the missing rule
	cat         int     // category set index for categorical splits
}

// addTree lays out the tree rooted at src[root] breadth-first onto m.nodes
// and records its root, output group and depth. It fails on child indices
// out of range and on nodes reached twice (cycles or shared subtrees), so
// the walk always terminates. Nodes not reachable from the root are dropped
// (XGBoost keeps deleted nodes in pruned trees). It returns the number of
// nodes laid out.
func (m *Model) addTree(src []srcNode, root int, group int) (int, error) {
	if root < 0 || root >= len(src) {
		return 0, fmt.Errorf("root node %d out of range [0,%d)", root, len(src))
	}
	base := len(m.nodes)
	seen := make([]bool, len(src))
	type item struct{ src, dst, depth int }
	queue := []item{{root, base, 0}}
	seen[root] = true
	m.nodes = append(m.nodes, node{})
	m.values = append(m.values, 0)
	maxDepth, leaves, sumDepth, slow := 0, 0, 0, false
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		s := &src[it.src]
		if s.leaf {
			m.nodes[it.dst] = node{val: math.Inf(1), kids: int32(it.dst), meta: flagLeaf | uint32(m.numFeatures)}
			m.values[it.dst] = s.value
			maxDepth = max(maxDepth, it.depth)
			leaves++
			sumDepth += it.depth
			continue
		}
		if len(m.nodes) > math.MaxInt32-2 {
			return 0, fmt.Errorf("model has more than %d nodes", math.MaxInt32)
		}
		kids := len(m.nodes)
		slots := [2]int{s.left, s.right}
		val := s.threshold
		switch {
		case s.flags&flagCat != 0:
			val = float64(s.cat)
		case s.flags&slowMask != 0:
		case s.flags&flagDefaultLeft != 0:
			val = math.Nextafter(-s.threshold, math.Inf(1))
			slots = [2]int{s.right, s.left}
		}
		if s.flags&slowMask == 0 && (math.IsNaN(s.threshold) || math.IsInf(s.threshold, 0)) {
			return 0, fmt.Errorf("node %d: threshold %v cannot be compared", it.src, s.threshold)
		}
		for k, c := range slots {
			side := "left"
			if c == s.right && (c != s.left || k == 1) {
				side = "right"
			}
			if c < 0 || c >= len(src) {
				return 0, fmt.Errorf("node %d: %s child %d out of range [0,%d)", it.src, side, c, len(src))
			}
			if seen[c] {
				return 0, fmt.Errorf("node %d: %s child %d is reached twice (cycle or shared subtree)", it.src, side, c)
			}
			seen[c] = true
			queue = append(queue, item{c, kids + k, it.depth + 1})
		}
		m.nodes = append(m.nodes, node{}, node{})
		m.values = append(m.values, 0, 0)
		m.nodes[it.dst] = node{val: val, kids: int32(kids), meta: uint32(s.feature) | s.flags}
		slow = slow || s.flags&slowMask != 0
	}
	m.roots = append(m.roots, int32(base))
	m.groups = append(m.groups, int32(group))
	m.depths = append(m.depths, int32(maxDepth))
	m.slow = append(m.slow, slow)
	// Lockstep walks take max-depth steps for every row; worth it unless
	// the tree is lopsided (LightGBM grows leaf-wise).
	m.lockstep = append(m.lockstep, maxDepth*leaves <= 2*sumDepth+leaves)
	return len(m.nodes) - base, nil
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
// x >= T (right) form. t must not be +Inf (the loader rejects it; LightGBM
// clamps thresholds to ±1e300 when it trains).
func lgbThreshold(t float64) float64 {
	return math.Nextafter(t, math.Inf(1))
}
