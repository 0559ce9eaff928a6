package trees_test

import (
	"fmt"
	"log"
	"math"

	"github.com/hangar-ml/hangar/trees"
)

func ExampleLoadFile() {
	m, err := trees.LoadFile("testdata/lgb/binary.txt")
	if err != nil {
		log.Fatal(err)
	}
	row := []float64{1, math.NaN()} // NaN means missing
	out := make([]float64, m.NumOutputs())
	m.PredictRaw(row, out)
	fmt.Printf("%s margin %.2f", m.Objective(), out[0])
	m.Predict(row, out)
	fmt.Printf(" probability %.4f\n", out[0])

	// Batches are row-major: nrows×NumFeatures() in, nrows×NumOutputs() out.
	rows := []float64{-1, 0, 1, 0}
	probs := make([]float64, 2*m.NumOutputs())
	m.PredictBatch(rows, 2, probs, 2)
	fmt.Printf("%.4f %.4f\n", probs[0], probs[1])
	// Output:
	// binary:logistic margin 0.30 probability 0.6457
	// 0.3100 0.6457
}
