package score

import (
	"github.com/hangar-ml/hangar/gbdt"
	"github.com/hangar-ml/hangar/linear"
	"github.com/hangar-ml/hangar/trees"
)

type gbdtPredictor struct{ m *gbdt.Model }

func (p *gbdtPredictor) numFeatures() int   { return len(p.m.Features) }
func (p *gbdtPredictor) features() []string { return p.m.Features }
func (p *gbdtPredictor) numOutputs() int    { return p.m.NumOutputs() }
func (p *gbdtPredictor) objective() string  { return p.m.Objective }
func (p *gbdtPredictor) predictBatch(rows []float64, n int, out []float64) {
	nf, k := len(p.m.Features), p.m.NumOutputs()
	for i := range n {
		p.m.Predict(rows[i*nf:(i+1)*nf], out[i*k:(i+1)*k])
	}
}

type linearPredictor struct{ m *linear.Model }

func (p *linearPredictor) numFeatures() int   { return len(p.m.Features) }
func (p *linearPredictor) features() []string { return p.m.Features }
func (p *linearPredictor) numOutputs() int    { return p.m.NumOutputs() }
func (p *linearPredictor) objective() string  { return p.m.Objective }
func (p *linearPredictor) predictBatch(rows []float64, n int, out []float64) {
	nf, k := len(p.m.Features), p.m.NumOutputs()
	for i := range n {
		p.m.Predict(rows[i*nf:(i+1)*nf], out[i*k:(i+1)*k])
	}
}

type treesPredictor struct {
	m       *trees.Model
	threads int
}

func (p *treesPredictor) numFeatures() int { return p.m.NumFeatures() }
func (p *treesPredictor) features() []string {
	var names []string
	for _, f := range p.m.Features() {
		names = append(names, f.Name)
	}
	return names
}
func (p *treesPredictor) numOutputs() int   { return p.m.NumOutputs() }
func (p *treesPredictor) objective() string { return p.m.Objective() }
func (p *treesPredictor) predictBatch(rows []float64, n int, out []float64) {
	// A few rows (an online request) go one by one: the batch path sets up
	// a block buffer per call, which costs more than it saves below a block.
	if n < smallBatch {
		nf, k := p.m.NumFeatures(), p.m.NumOutputs()
		for i := range n {
			p.m.Predict(rows[i*nf:(i+1)*nf], out[i*k:(i+1)*k])
		}
		return
	}
	p.m.PredictBatch(rows, n, out, p.threads)
}

// smallBatch is the row count from which the tree runtime's batch path
// pays off.
const smallBatch = 8
