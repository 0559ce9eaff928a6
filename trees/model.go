// Package trees is Hangar's native runtime for tree ensembles: it loads
// XGBoost JSON models (the format Hangar's own trainers write) and LightGBM
// text models into one flat, cache-friendly in-memory form and scores rows
// with the same arithmetic as the library that trained them, so a model
// served by Hangar predicts what it predicted in the notebook.
//
// Semantics are the trainers' own: XGBoost compares the feature as float32
// (fvalue < split_condition goes left), sends NaN the node's default way and
// sums leaves in float32; LightGBM compares in float64 (fvalue <= threshold
// goes left) with its per-node missing-value rules (None, Zero, NaN) and sums
// in float64. NaN in a row always means "missing".
package trees

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
)

// Feature is one input column of a model.
type Feature struct {
	// Name is the name the file gives, or f0..fN-1 when it gives none.
	Name string
	// Type is the type the file gives: XGBoost's "float", "int", "i", "q",
	// "c"; for LightGBM "c" for categorical features and "float" otherwise;
	// "" when the file says nothing.
	Type string
}

// Source describes where a model came from, in the file's own terms.
type Source struct {
	// Format is "xgboost-json" or "lightgbm-text".
	Format string
	// Version is the library version recorded in the file ("1.7.4", "v4"),
	// or "" when the file records none.
	Version string
	// Booster is "gbtree" or "dart" for XGBoost, "gbdt" or "rf" for LightGBM
	// (rf when the file averages its trees).
	Booster string
	// Objective is the objective line exactly as the file spells it, such as
	// "binary sigmoid:1" for LightGBM or "binary:logistic" for XGBoost.
	Objective string
}

// transform is the link from margins to predictions.
type transform uint8

const (
	linkIdentity     transform = iota
	linkSigmoid32              // XGBoost logistic: 1/(1+expf(-x)) in float32
	linkSoftmax32              // XGBoost softmax in float32 with a float64 sum
	linkExp32                  // XGBoost log link: expf(x)
	linkHinge                  // XGBoost binary:hinge: 1 if x > 0 else 0
	linkSigmoid64              // LightGBM: 1/(1+exp(-s*x)) in float64
	linkSoftmax64              // LightGBM multiclass
	linkOVA64                  // LightGBM multiclassova: a sigmoid per class
	linkExp64                  // LightGBM poisson, gamma, tweedie
	linkSignSquare64           // LightGBM "regression sqrt": sign(x)*x*x
)

// Model is a loaded tree ensemble. It is immutable after loading and safe
// for concurrent use by any number of goroutines.
type Model struct {
	nodes    []node    // all trees, each laid out breadth-first with siblings adjacent
	values   []float64 // leaf values, parallel to nodes
	roots    []int32   // index of each tree's root in nodes
	groups   []int32   // output (class) each tree adds to
	depths   []int32   // each tree's depth (edges from root to deepest leaf)
	lockstep []bool    // whether batches walk the tree depth levels in lockstep
	slow     []bool    // whether the tree has categorical or LightGBM Zero/None splits
	// groupDepth is, per group of singleGroup trees, the depth to walk them
	// in lockstep for one row, or -1 to walk them one by one.
	groupDepth []int32
	weights    []float64 // per-tree weight (XGBoost dart); nil when all are 1
	catWords   []uint32  // bitsets of categorical splits, indexed by catSet
	catSets    []catSet

	f32        bool      // accumulate in float32 as XGBoost does
	baseMargin []float64 // starting margin per output
	average    float64   // divide the tree sum by this (LightGBM rf); 1 otherwise
	link       transform
	sigmoid    float64 // LightGBM sigmoid scale

	numFeatures int
	numOutputs  int
	features    []Feature
	objective   string
	source      Source
}

// NumFeatures returns the number of input columns a row must have.
func (m *Model) NumFeatures() int { return m.numFeatures }

// Features returns the model's input columns, in order. The slice is a copy.
func (m *Model) Features() []Feature {
	if m.features == nil {
		fs := make([]Feature, m.numFeatures)
		for i := range fs {
			fs[i].Name = "f" + strconv.Itoa(i)
		}
		return fs
	}
	return append([]Feature(nil), m.features...)
}

// Objective returns the objective in XGBoost's spelling ("reg:squarederror",
// "binary:logistic", "multi:softprob", ...). LightGBM objectives are mapped:
// regression→reg:squarederror, binary→binary:logistic,
// multiclass→multi:softprob, cross_entropy→reg:logistic,
// regression_l1→reg:absoluteerror, huber→reg:pseudohubererror,
// quantile→reg:quantileerror, poisson→count:poisson, gamma→reg:gamma,
// tweedie→reg:tweedie, lambdarank and rank_xendcg→rank:ndcg, and
// multiclassova, which XGBoost lacks, is "multi:ova". Source().Objective
// keeps the file's own spelling.
func (m *Model) Objective() string { return m.objective }

// Source returns the file format, version and objective as the file states them.
func (m *Model) Source() Source { return m.source }

// NumOutputs returns the number of values predicted per row: 1, or the
// number of classes of a multiclass model.
func (m *Model) NumOutputs() int { return m.numOutputs }

// NumTrees returns the number of trees in the ensemble.
func (m *Model) NumTrees() int { return len(m.roots) }

func (m *Model) checkArgs(row, out []float64) {
	if len(row) < m.numFeatures {
		panic(fmt.Sprintf("trees: row has %d values, model needs %d features", len(row), m.numFeatures))
	}
	if len(out) < m.numOutputs {
		panic(fmt.Sprintf("trees: out has %d values, model has %d outputs", len(out), m.numOutputs))
	}
}

// PredictRaw writes the margins (untransformed scores) of one row into
// out[:NumOutputs()]. NaN in row means missing. It panics when row is shorter
// than NumFeatures() or out shorter than NumOutputs(). It does not allocate.
func (m *Model) PredictRaw(row []float64, out []float64) {
	m.checkArgs(row, out)
	m.raw(row[:m.numFeatures], out[:m.numOutputs])
}

// Predict writes the transformed predictions of one row into
// out[:NumOutputs()]: probabilities for logistic and multiclass objectives
// (per-class probabilities for multi:softmax too: take the argmax for the
// class), exp(margin) for log-link objectives, the value for regression. It
// panics like PredictRaw and does not allocate.
func (m *Model) Predict(row []float64, out []float64) {
	m.checkArgs(row, out)
	out = out[:m.numOutputs]
	m.raw(row[:m.numFeatures], out)
	m.transform(out)
}

// singleGroup is how many trees a single-row prediction walks in lockstep:
// independent walks let the CPU overlap their loads.
const singleGroup = 8

// maxPadded bounds the features of rows that raw copies onto the stack to
// append the zero column leaves read.
const maxPadded = 128

// raw sums the trees for one row.
func (m *Model) raw(row []float64, out []float64) {
	copy(out, m.baseMargin)
	nf := m.numFeatures
	var buf [maxPadded]float64
	var padded []float64
	if nf < maxPadded {
		copy(buf[:nf], row)
		padded = buf[:nf+1] // buf[nf] is the zero column
	}
	var idx [singleGroup]int32
	var vals [singleGroup]float64
	nodes := m.nodes
	for t0 := 0; t0 < len(m.roots); t0 += singleGroup {
		k := min(singleGroup, len(m.roots)-t0)
		if d := m.groupDepth[t0/singleGroup]; d >= 0 && padded != nil {
			for j := range k {
				idx[j] = m.roots[t0+j]
			}
			for range d {
				for j := range k {
					nd := &nodes[idx[j]]
					x := padded[nd.meta&featMask]
					if nd.meta&slowMask != 0 {
						idx[j] = m.slowNext(*nd, x)
					} else {
						idx[j] = fastStep(nd, x)
					}
				}
			}
			for j := range k {
				vals[j] = m.values[idx[j]]
			}
		} else {
			for j := range k {
				vals[j] = m.leaf(nodes, m.roots[t0+j], row)
			}
		}
		// Sum in tree order: XGBoost's float32 sums depend on it.
		for j := range k {
			t := t0 + j
			g := m.groups[t]
			switch {
			case m.f32 && m.weights != nil:
				v := float32(float64(float32(vals[j])) * m.weights[t])
				out[g] = float64(float32(out[g]) + v)
			case m.f32:
				out[g] = float64(float32(out[g]) + float32(vals[j]))
			default:
				out[g] += vals[j]
			}
		}
	}
	if m.average != 1 {
		for i := range out {
			out[i] /= m.average
		}
	}
}

// finish computes what prediction needs beyond the trees themselves; the
// loaders call it last.
func (m *Model) finish() {
	m.groupDepth = make([]int32, (len(m.roots)+singleGroup-1)/singleGroup)
	for g := range m.groupDepth {
		d := int32(0)
		for t := g * singleGroup; t < min((g+1)*singleGroup, len(m.roots)); t++ {
			if !m.lockstep[t] {
				d = -1
				break
			}
			d = max(d, m.depths[t])
		}
		m.groupDepth[g] = d
	}
}

// transform applies the objective's link to margins in place.
func (m *Model) transform(out []float64) {
	switch m.link {
	case linkIdentity:
	case linkSigmoid32:
		for i, x := range out {
			out[i] = float64(float32(1) / (float32(1) + expf(-float32(x))))
		}
	case linkSoftmax32:
		wmax := float32(out[0])
		for _, x := range out[1:] {
			wmax = max(wmax, float32(x))
		}
		var sum float64
		for i, x := range out {
			e := expf(float32(x) - wmax)
			out[i] = float64(e)
			sum += float64(e)
		}
		s := float32(sum)
		for i, x := range out {
			out[i] = float64(float32(x) / s)
		}
	case linkExp32:
		for i, x := range out {
			out[i] = float64(expf(float32(x)))
		}
	case linkHinge:
		for i, x := range out {
			if x > 0 {
				out[i] = 1
			} else {
				out[i] = 0
			}
		}
	case linkSigmoid64, linkOVA64:
		for i, x := range out {
			out[i] = 1 / (1 + math.Exp(-m.sigmoid*x))
		}
	case linkSoftmax64:
		wmax := out[0]
		for _, x := range out[1:] {
			wmax = max(wmax, x)
		}
		var sum float64
		for i, x := range out {
			out[i] = math.Exp(x - wmax)
			sum += out[i]
		}
		for i := range out {
			out[i] /= sum
		}
	case linkExp64:
		for i, x := range out {
			out[i] = math.Exp(x)
		}
	case linkSignSquare64:
		for i, x := range out {
			out[i] = x * math.Abs(x)
		}
	}
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// blockRows is how many rows a batch walks through each tree together: the
// tree's nodes stay in cache while the rows take turns.
const blockRows = 64

// PredictBatch scores nrows rows stored row-major in rows
// (nrows×NumFeatures()) and writes the transformed predictions row-major into
// out (nrows×NumOutputs()), splitting the rows over threads goroutines
// (threads <= 0 means GOMAXPROCS). It panics when rows or out is too short.
func (m *Model) PredictBatch(rows []float64, nrows int, out []float64, threads int) {
	m.batch(rows, nrows, out, threads, true)
}

// PredictBatchRaw is PredictBatch without the objective's transform: it
// writes margins.
func (m *Model) PredictBatchRaw(rows []float64, nrows int, out []float64, threads int) {
	m.batch(rows, nrows, out, threads, false)
}

func (m *Model) batch(rows []float64, nrows int, out []float64, threads int, transformed bool) {
	nf, no := m.numFeatures, m.numOutputs
	if nrows < 0 {
		panic(fmt.Sprintf("trees: negative row count %d", nrows))
	}
	if len(rows) < nrows*nf {
		panic(fmt.Sprintf("trees: rows has %d values, %d rows of %d features need %d", len(rows), nrows, nf, nrows*nf))
	}
	if len(out) < nrows*no {
		panic(fmt.Sprintf("trees: out has %d values, %d rows of %d outputs need %d", len(out), nrows, no, nrows*no))
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	nblocks := (nrows + blockRows - 1) / blockRows
	if threads > nblocks {
		threads = nblocks
	}
	if threads <= 1 {
		m.batchRange(rows, out, 0, nrows, transformed)
		return
	}
	// Contiguous chunks of whole blocks, one per goroutine: rows are
	// independent, so no coordination is needed beyond the final wait.
	per := (nblocks + threads - 1) / threads * blockRows
	var wg sync.WaitGroup
	for lo := 0; lo < nrows; lo += per {
		hi := min(lo+per, nrows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.batchRange(rows, out, lo, hi, transformed)
		}()
	}
	wg.Wait()
}

// batchRange scores rows [lo, hi) block by block: each tree is walked for
// all rows of a block before the next tree, so its nodes stay in cache.
func (m *Model) batchRange(rows, out []float64, lo, hi int, transformed bool) {
	nf, no := m.numFeatures, m.numOutputs
	var acc32 [blockRows]float32
	var idxBuf [blockRows]int32
	// Each block is copied with a zero column appended to every row: the
	// leaves of lockstep walks read it (see node).
	stride := nf + 1
	block := make([]float64, blockRows*stride)
	for b := lo; b < hi; b += blockRows {
		e := min(b+blockRows, hi)
		n := e - b
		for i := range n {
			copy(block[i*stride:i*stride+nf], rows[(b+i)*nf:(b+i+1)*nf])
		}
		dst := out[b*no : e*no]
		idx := idxBuf[:n]
		if m.f32 && no == 1 && m.weights == nil {
			// The common XGBoost case: one output, float32 sums kept in a
			// stack array.
			base := float32(m.baseMargin[0])
			for i := range n {
				acc32[i] = base
			}
			for t := range m.roots {
				m.walkTree(t, block, stride, idx)
				for i, l := range idx {
					acc32[i] += float32(m.values[l])
				}
			}
			for i := range n {
				dst[i] = float64(acc32[i])
			}
		} else {
			for i := range n {
				copy(dst[i*no:i*no+no], m.baseMargin)
			}
			for t := range m.roots {
				m.walkTree(t, block, stride, idx)
				g := int(m.groups[t])
				switch {
				case m.f32 && m.weights != nil:
					w := m.weights[t]
					for i, l := range idx {
						v := float32(float64(float32(m.values[l])) * w)
						dst[i*no+g] = float64(float32(dst[i*no+g]) + v)
					}
				case m.f32:
					for i, l := range idx {
						dst[i*no+g] = float64(float32(dst[i*no+g]) + float32(m.values[l]))
					}
				default:
					for i, l := range idx {
						dst[i*no+g] += m.values[l]
					}
				}
			}
			if m.average != 1 {
				for i := range dst {
					dst[i] /= m.average
				}
			}
		}
		if transformed && m.link != linkIdentity {
			for i := range n {
				m.transform(dst[i*no : i*no+no])
			}
		}
	}
}

// walkTree finds the leaf of tree t for each row of the block (row stride
// stride).
func (m *Model) walkTree(t int, block []float64, stride int, idx []int32) {
	root := m.roots[t]
	if m.lockstep[t] {
		m.walkBlock(root, int(m.depths[t]), m.slow[t], block, stride, idx)
		return
	}
	nodes := m.nodes
	for i := range idx {
		row := block[i*stride : i*stride+stride]
		n := root
		for nodes[n].meta&flagLeaf == 0 {
			nd := &nodes[n]
			if nd.meta&slowMask != 0 {
				n = m.slowNext(*nd, row[nd.meta&featMask])
			} else {
				n = fastStep(nd, row[nd.meta&featMask])
			}
		}
		idx[i] = n
	}
}
