package gbdt

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/hangar-ml/hangar"
)

// Dataset is a table for training or validation: feature columns and labels.
type Dataset struct {
	Features []string    // feature names, one per column
	Columns  [][]float64 // Columns[j][i] is feature j of row i; NaN = missing
	Label    []float64
}

func (d *Dataset) check(what string, features []string) error {
	if d == nil {
		return hangar.Errorf(hangar.EINVALID, "%s set is missing", what)
	}
	if len(d.Columns) != len(d.Features) {
		return hangar.Errorf(hangar.EINVALID, "%s set has %d columns but %d feature names", what, len(d.Columns), len(d.Features))
	}
	if len(d.Columns) == 0 {
		return hangar.Errorf(hangar.EINVALID, "%s set has no feature columns", what)
	}
	if features != nil && !slices.Equal(features, d.Features) {
		return hangar.Errorf(hangar.EINVALID, "%s set features %v differ from training features %v", what, d.Features, features)
	}
	for j, c := range d.Columns {
		if len(c) != len(d.Label) {
			return hangar.Errorf(hangar.EINVALID, "%s set column %q has %d rows, labels %d", what, d.Features[j], len(c), len(d.Label))
		}
	}
	return nil
}

// Progress reports one boosting round to the callback.
type Progress struct {
	Iteration int     `json:"iteration"` // 0-based round
	Metric    string  `json:"metric"`    // rmse, logloss or mlogloss
	Train     float64 `json:"train"`     // metric on the training set
	Valid     float64 `json:"valid"`     // metric on the validation set; NaN without one
	Best      int     `json:"best"`      // best round so far (by Valid, else the last)
}

// Callback is called after every round; an error stops training and is
// returned by Train.
type Callback func(Progress) error

// Train fits a model. valid may be nil; it is needed for early stopping.
// Training is deterministic for a given Seed, whatever Threads is.
// Errors: EINVALID for bad parameters or data (non-finite or out-of-range
// labels, an empty set, mismatched columns), the callback's error, or the
// context's.
func Train(ctx context.Context, p Params, train, valid *Dataset, cb Callback) (*Model, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := train.check("training", nil); err != nil {
		return nil, err
	}
	K, err := checkLabels(p, train.Label, "training")
	if err != nil {
		return nil, err
	}
	if p.Objective == hangar.ObjectiveMultiSoftmax || p.Objective == hangar.ObjectiveMultiSoftprob {
		p.NumClass = K
	}
	if valid != nil {
		if err := valid.check("validation", train.Features); err != nil {
			return nil, err
		}
		if _, err := checkLabels(p, valid.Label, "validation"); err != nil {
			return nil, err
		}
	}
	if p.EarlyStoppingRounds > 0 && valid == nil {
		return nil, hangar.Errorf(hangar.EINVALID, "early_stopping_rounds needs a validation set")
	}

	t := newTrainer(p, K, train)
	var vb *binned
	if valid != nil {
		vb = newBinned(valid.Columns, t.cuts, true) // NaN may occur where training had none
	}
	m := &Model{
		Objective: p.Objective,
		Features:  slices.Clone(train.Features),
		BaseScore: p.BaseScore,
		Params:    p,
	}
	if K > 1 {
		m.NumClass = K
	}
	base := baseMargin(p)
	margin := filled(len(train.Label)*K, base)
	var vmargin []float64
	if valid != nil {
		vmargin = filled(len(valid.Label)*K, base)
	}
	metricName := p.EvalMetric()
	best, bestScore := 0, math.Inf(1)
	for it := range p.NEstimators {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		gradients(p.Objective, K, train.Label, margin, t.grad)
		for k := range K {
			tree := t.grow(t.grad[k*t.n : (k+1)*t.n])
			m.Trees = append(m.Trees, tree)
			m.TreeInfo = append(m.TreeInfo, k)
			tree.addTo(t.bins, margin, K, k)
			if vb != nil {
				tree.addTo(vb, vmargin, K, k)
			}
		}
		pr := Progress{Iteration: it, Metric: metricName, Train: metric(p.Objective, K, train.Label, margin), Valid: math.NaN()}
		score := pr.Train
		if valid != nil {
			pr.Valid = metric(p.Objective, K, valid.Label, vmargin)
			score = pr.Valid
		}
		if valid == nil {
			best = it
		} else if score < bestScore {
			best, bestScore = it, score
		}
		pr.Best = best
		m.History = append(m.History, pr)
		if cb != nil {
			if err := cb(pr); err != nil {
				return nil, err
			}
		}
		if p.EarlyStoppingRounds > 0 && it-best >= p.EarlyStoppingRounds {
			break
		}
	}
	if p.EarlyStoppingRounds > 0 {
		// Keep the best model, so every reader of the file predicts with it.
		m.BestIteration = best
		m.Trees = m.Trees[:(best+1)*K]
		m.TreeInfo = m.TreeInfo[:(best+1)*K]
	} else {
		m.BestIteration = len(m.History) - 1 // as XGBoost: all rounds are kept
	}
	return m, nil
}

func filled(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// trainer holds the binned training data and the scratch space of growing
// trees.
type trainer struct {
	p       Params
	n, nf   int
	cuts    [][]float64
	bins    *binned
	off     []int // histogram offset of each feature; its missing bin is off[f]+nbins[f]
	histLen int
	grad    []gpair // K*n: grad[k*n+i]
	threads int
	rng     *rand.Rand
	index   []int32 // row ids, each node's rows contiguous
	tmp     []int32
	pool    [][]gpair
	gbufs   [][]gpair // per worker: a node's gradients, gathered
	// Scratch of growing a tree.
	jobs        []pairJob
	level, next []int
}

func newTrainer(p Params, K int, d *Dataset) *trainer {
	n, nf := len(d.Label), len(d.Columns)
	t := &trainer{p: p, n: n, nf: nf, threads: p.threads(), rng: rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))}
	t.cuts = make([][]float64, nf)
	t.off = make([]int, nf+1)
	var wg sync.WaitGroup
	next := make(chan int, nf)
	for f := range nf {
		next <- f
	}
	close(next)
	for range min(t.threads, nf) {
		wg.Go(func() {
			scratch := make([]float64, 0, n)
			for f := range next {
				t.cuts[f] = cutsFor(d.Columns[f], p.MaxBin, scratch)
			}
		})
	}
	wg.Wait()
	// One byte per value unless some feature needs 257 codes: 256 bins
	// and a missing value.
	wide := false
	for f := range nf {
		nb := len(t.cuts[f]) + 1
		if nb > 256 || (nb == 256 && slices.ContainsFunc(d.Columns[f], math.IsNaN)) {
			wide = true
		}
		t.off[f+1] = t.off[f] + nb + 1
	}
	t.histLen = t.off[nf]
	t.bins = newBinned(d.Columns, t.cuts, wide)
	t.grad = make([]gpair, K*n)
	t.index = make([]int32, n)
	t.tmp = make([]int32, n)
	t.gbufs = make([][]gpair, t.threads)
	for w := range t.gbufs {
		t.gbufs[w] = make([]gpair, 0, n)
	}
	return t
}

func (t *trainer) getHist() []gpair {
	if k := len(t.pool); k > 0 {
		h := t.pool[k-1]
		t.pool = t.pool[:k-1]
		return h
	}
	return make([]gpair, t.histLen)
}

func (t *trainer) putHist(h []gpair) {
	if h != nil {
		t.pool = append(t.pool, h)
	}
}

// split is a candidate split of a node: rows with bin <= bin go left,
// missing values go left when defaultLeft.
type split struct {
	gain        float64 // loss change, as XGBoost's loss_changes
	feature     int     // -1: none
	bin         int
	defaultLeft bool
	left, right gpair
}

// better reports whether s beats o; ties keep the earlier (lower feature).
func (s split) better(o split) bool { return s.feature >= 0 && (o.feature < 0 || s.gain > o.gain) }

type node struct {
	parent, left, right int
	begin, end          int // rows in t.index
	depth               int
	sum                 gpair
	split               split
	hist                []gpair
}

// kRtEps is XGBoost's smallest loss change worth a split.
const kRtEps = 1e-6

// evalFeature finds the best split of one feature from its histogram h
// (nb real bins and the missing bin last), trying missing values on the
// right (a forward scan) and, when any are missing, on the left.
func (t *trainer) evalFeature(f int, h []gpair, sum gpair, best split) split {
	nb := len(h) - 1
	miss := h[nb]
	lambda := t.p.RegLambda
	mcw := max(t.p.MinChildWeight, 0)
	if sum.h < 2*mcw || sum.h <= 0 {
		return best // no split can give both children enough weight
	}
	parent := sum.g * sum.g / (sum.h + lambda)
	bestGain, bestBin, bestLeft, found := best.gain, -1, false, best.feature >= 0
	var bestL gpair
	for pass := range 2 {
		var l gpair
		if pass == 1 {
			if miss.h == 0 && miss.g == 0 {
				break
			}
			l = miss
		}
		for j := 0; j < nb-1; j++ {
			e := h[j]
			if e.h == 0 && e.g == 0 {
				// An empty bin: splitting after it is the same split as
				// before it, already tried (or, for j = 0, an empty left).
				continue
			}
			l.g += e.g
			l.h += e.h
			rg, rh := sum.g-l.g, sum.h-l.h
			if rh < mcw || rh <= 0 {
				break // the right side only shrinks from here
			}
			if l.h < mcw || l.h <= 0 {
				continue
			}
			g := l.g*l.g/(l.h+lambda) + rg*rg/(rh+lambda) - parent
			if !found || g > bestGain {
				bestGain, bestBin, bestLeft, bestL, found = g, j, pass == 1, l, true
			}
		}
	}
	if bestBin < 0 {
		return best
	}
	return split{gain: bestGain, feature: f, bin: bestBin, defaultLeft: bestLeft, left: bestL, right: gpair{sum.g - bestL.g, sum.h - bestL.h}}
}

// grow builds one tree for the gradients g (one per row), by the grow
// policy.
func (t *trainer) grow(g []gpair) *Tree {
	p := t.p
	// Rows of this tree.
	rows := t.index[:0]
	for i := range t.n {
		if p.Subsample >= 1 || t.rng.Float64() < p.Subsample {
			rows = append(rows, int32(i))
		}
	}
	// Features of this tree.
	feats := make([]int, t.nf)
	for i := range feats {
		feats[i] = i
	}
	if p.ColsampleBytree < 1 {
		k := max(1, int(p.ColsampleBytree*float64(t.nf)))
		t.rng.Shuffle(len(feats), func(i, j int) { feats[i], feats[j] = feats[j], feats[i] })
		feats = feats[:k]
		slices.Sort(feats)
	}

	nodes := []node{{parent: -1, left: -1, right: -1, begin: 0, end: len(rows), split: split{feature: -1}}}
	root := &nodes[0]
	for _, r := range rows {
		root.sum.g += g[r].g
		root.sum.h += g[r].h
	}
	if len(rows) > 0 && t.childrenMaySplit(0, 1) {
		root.hist = t.getHist()
		t.buildLevel(g, feats, nodes, []pairJob{{small: 0, large: -1, parent: -1}})
	}
	if p.lossguide() {
		nodes = t.growLossguide(g, feats, nodes)
	} else {
		nodes = t.growDepthwise(g, feats, nodes)
	}
	for i := range nodes {
		t.putHist(nodes[i].hist)
		nodes[i].hist = nil
	}
	return t.toTree(nodes)
}

// childrenMaySplit reports whether a node at depth, in a tree of leaves
// leaves, may split: below max_depth and max_leaves, when they are set.
func (t *trainer) childrenMaySplit(depth, leaves int) bool {
	return (t.p.MaxDepth == 0 || depth < t.p.MaxDepth) && (t.p.MaxLeaves == 0 || leaves < t.p.MaxLeaves)
}

// worthSplitting reports whether a split gains enough: more than XGBoost's
// kRtEps and at least gamma.
func (t *trainer) worthSplitting(s split) bool {
	return s.feature >= 0 && s.gain > kRtEps && s.gain >= t.p.Gamma
}

// expand splits node id by its best split into two new nodes and returns
// them, the smaller (by rows) first.
func (t *trainer) expand(nodes []node, id int) (_ []node, small, large int) {
	nd := &nodes[id]
	s := nd.split
	mid := t.partition(nd.begin, nd.end, s)
	l := node{parent: id, left: -1, right: -1, begin: nd.begin, end: mid, depth: nd.depth + 1, sum: s.left, split: split{feature: -1}}
	r := node{parent: id, left: -1, right: -1, begin: mid, end: nd.end, depth: nd.depth + 1, sum: s.right, split: split{feature: -1}}
	nd.left, nd.right = len(nodes), len(nodes)+1
	small, large = nd.left, nd.right
	if mid-nd.begin > nd.end-mid {
		small, large = large, small
	}
	return append(nodes, l, r), small, large
}

// pairHists hands the parent's histogram to the larger child and a fresh
// one to the smaller, for buildLevel.
func (t *trainer) pairHists(nodes []node, parent, small, large int) {
	nodes[large].hist, nodes[parent].hist = nodes[parent].hist, nil
	nodes[small].hist = t.getHist()
}

// growDepthwise grows a level at a time, as XGBoost's depthwise policy:
// the splittable nodes of a level split in node order while the tree has
// fewer than max_leaves leaves.
func (t *trainer) growDepthwise(g []gpair, feats []int, nodes []node) []node {
	leaves := 1
	level, next := append(t.level[:0], 0), t.next[:0]
	for depth := 0; len(level) > 0 && t.childrenMaySplit(depth, leaves); depth++ {
		jobs := t.jobs[:0] // the nodes of this level that split
		for _, id := range level {
			if !t.worthSplitting(nodes[id].split) || !t.childrenMaySplit(depth, leaves) {
				t.putHist(nodes[id].hist)
				nodes[id].hist = nil
				continue
			}
			leaves++
			var small, large int
			nodes, small, large = t.expand(nodes, id)
			jobs = append(jobs, pairJob{small: small, large: large, parent: id})
		}
		t.jobs = jobs
		if !t.childrenMaySplit(depth+1, leaves) {
			// The children stay leaves: no histograms needed.
			for _, j := range jobs {
				t.putHist(nodes[j.parent].hist)
				nodes[j.parent].hist = nil
			}
			break
		}
		next = next[:0]
		for _, j := range jobs {
			t.pairHists(nodes, j.parent, j.small, j.large)
			next = append(next, nodes[j.parent].left, nodes[j.parent].right)
		}
		if len(jobs) > 0 {
			t.buildLevel(g, feats, nodes, jobs)
		}
		level, next = next, level
	}
	t.level, t.next = level, next
	return nodes
}

// growLossguide grows the leaf with the largest loss change first, as
// XGBoost's lossguide policy (ties go to the older node), while the tree
// has fewer than max_leaves leaves and the leaf is above max_depth.
func (t *trainer) growLossguide(g []gpair, feats []int, nodes []node) []node {
	q := &leafQueue{nodes: &nodes}
	push := func(id int) {
		// A leaf that can never split gives its histogram back now.
		if t.worthSplitting(nodes[id].split) {
			heap.Push(q, id)
		} else {
			t.putHist(nodes[id].hist)
			nodes[id].hist = nil
		}
	}
	push(0)
	leaves := 1
	for q.Len() > 0 {
		id := heap.Pop(q).(int)
		depth := nodes[id].depth
		if !t.childrenMaySplit(depth, leaves) {
			t.putHist(nodes[id].hist)
			nodes[id].hist = nil
			continue
		}
		leaves++
		var small, large int
		nodes, small, large = t.expand(nodes, id)
		if !t.childrenMaySplit(depth+1, leaves) {
			t.putHist(nodes[id].hist)
			nodes[id].hist = nil
			continue
		}
		t.pairHists(nodes, id, small, large)
		t.jobs = append(t.jobs[:0], pairJob{small: small, large: large, parent: id})
		t.buildLevel(g, feats, nodes, t.jobs)
		push(nodes[id].left)
		push(nodes[id].right)
	}
	return nodes
}

// leafQueue is a max-heap of node ids by loss change, ties to the lower id,
// as XGBoost's LossGuide ordering.
type leafQueue struct {
	nodes *[]node
	ids   []int
}

func (q *leafQueue) Len() int { return len(q.ids) }
func (q *leafQueue) Less(i, j int) bool {
	a, b := q.ids[i], q.ids[j]
	ga, gb := (*q.nodes)[a].split.gain, (*q.nodes)[b].split.gain
	if ga != gb {
		return ga > gb
	}
	return a < b
}
func (q *leafQueue) Swap(i, j int) { q.ids[i], q.ids[j] = q.ids[j], q.ids[i] }
func (q *leafQueue) Push(x any)    { q.ids = append(q.ids, x.(int)) }
func (q *leafQueue) Pop() any {
	id := q.ids[len(q.ids)-1]
	q.ids = q.ids[:len(q.ids)-1]
	return id
}

// pairJob asks for the histograms of two siblings: small is built from its
// rows, large is its parent's histogram (already in large's buffer) minus
// small's. A root job has large = -1.
type pairJob struct{ small, large, parent int }

// buildLevel builds the histograms of a level's new nodes and finds their
// best splits, in parallel over features: each worker owns a contiguous run
// of features, so the result does not depend on the number of threads.
func (t *trainer) buildLevel(g []gpair, feats []int, nodes []node, jobs []pairJob) {
	workers := min(t.threads, len(feats))
	rowsInLevel := 0
	for _, j := range jobs {
		rowsInLevel += nodes[j.small].end - nodes[j.small].begin
	}
	if rowsInLevel*len(feats) < 1<<14 {
		workers = 1
	}
	// best[w][2*j+side]
	best := make([][]split, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(feats)/workers, (w+1)*len(feats)/workers
		work := func() {
			b := make([]split, 2*len(jobs))
			for i := range b {
				b[i].feature = -1
			}
			gbuf := t.gbufs[w][:0]
			for ji, j := range jobs {
				sn := &nodes[j.small]
				rows := t.index[sn.begin:sn.end]
				// The node's gradients, contiguous, read once per feature.
				gbuf = gbuf[:0]
				for _, r := range rows {
					gbuf = append(gbuf, g[r])
				}
				for _, f := range feats[lo:hi] {
					a, z := t.off[f], t.off[f+1]
					hs := sn.hist[a:z]
					clear(hs)
					t.bins.histFeature(f, rows, gbuf, hs)
					b[2*ji] = t.evalFeature(f, hs, sn.sum, b[2*ji])
					if j.large >= 0 {
						ln := &nodes[j.large]
						hl := ln.hist[a:z]
						for k := range hl {
							hl[k].g -= hs[k].g
							hl[k].h -= hs[k].h
						}
						b[2*ji+1] = t.evalFeature(f, hl, ln.sum, b[2*ji+1])
					}
				}
			}
			best[w] = b
		}
		if workers == 1 {
			work()
		} else {
			wg.Go(work)
		}
	}
	wg.Wait()
	for ji, j := range jobs {
		for side, id := range []int{j.small, j.large} {
			if id < 0 {
				continue
			}
			s := split{feature: -1}
			for w := range workers {
				if c := best[w][2*ji+side]; c.better(s) {
					s = c
				}
			}
			nodes[id].split = s
		}
	}
}

// partition reorders t.index[begin:end] so the rows going left come first,
// keeping each side in ascending order, and returns where the right starts.
func (t *trainer) partition(begin, end int, s split) int {
	missing := t.bins.nbins[s.feature]
	w := begin
	right := t.tmp[:0]
	for _, r := range t.index[begin:end] {
		b := t.bins.at(s.feature, int(r))
		if (b == missing && s.defaultLeft) || (b != missing && b <= s.bin) {
			t.index[w] = r
			w++
		} else {
			right = append(right, r)
		}
	}
	copy(t.index[w:end], right)
	return w
}

// toTree turns grown nodes (in the order they were made, as XGBoost numbers
// them: breadth-first for depthwise, by expansion for lossguide) into a Tree,
// with leaf values and base weights scaled by eta and rounded to float32
// as XGBoost stores them.
func (t *trainer) toTree(nodes []node) *Tree {
	eta := t.p.LearningRate
	nn := len(nodes)
	tr := &Tree{
		Left: make([]int32, nn), Right: make([]int32, nn), Parent: make([]int32, nn),
		Feature: make([]int32, nn), Cond: make([]float32, nn), DefaultLeft: make([]bool, nn),
		LossChange: make([]float32, nn), SumHessian: make([]float32, nn), BaseWeight: make([]float32, nn),
		bin: make([]int32, nn),
	}
	for i, nd := range nodes {
		w := 0.0 // XGBoost's CalcWeight: no weight below min_child_weight
		if nd.sum.h >= t.p.MinChildWeight && nd.sum.h > 0 {
			w = -nd.sum.g / (nd.sum.h + t.p.RegLambda) * eta
		}
		tr.Parent[i] = int32(nd.parent)
		if nd.parent < 0 {
			tr.Parent[i] = math.MaxInt32 // XGBoost's "no parent"
		}
		tr.SumHessian[i] = float32(nd.sum.h)
		tr.BaseWeight[i] = float32(w)
		if nd.left < 0 {
			tr.Left[i], tr.Right[i] = -1, -1
			tr.Cond[i] = float32(w)
			continue
		}
		s := nd.split
		tr.Left[i], tr.Right[i] = int32(nd.left), int32(nd.right)
		tr.Feature[i] = int32(s.feature)
		tr.bin[i] = int32(s.bin)
		tr.Cond[i] = float32(t.cuts[s.feature][s.bin])
		tr.DefaultLeft[i] = s.defaultLeft
		tr.LossChange[i] = float32(s.gain)
	}
	return tr
}

// addTo adds the tree's leaf values to output k of the margins of the rows of b.
func (tr *Tree) addTo(b *binned, margin []float64, K, k int) {
	for i := range b.n {
		id := int32(0)
		for tr.Left[id] >= 0 {
			f := int(tr.Feature[id])
			bin := b.at(f, i)
			var left bool
			if bin == b.nbins[f] {
				left = tr.DefaultLeft[id]
			} else {
				left = bin <= int(tr.bin[id])
			}
			if left {
				id = tr.Left[id]
			} else {
				id = tr.Right[id]
			}
		}
		margin[i*K+k] += float64(tr.Cond[id])
	}
}
