package httpapi

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/lineage"
)

// polyline returns the points of a chart's line.
func polyline(t *testing.T, svg string) [][2]float64 {
	t.Helper()
	m := regexp.MustCompile(`<polyline class="line" points="([^"]*)"`).FindStringSubmatch(svg)
	if m == nil {
		return nil
	}
	var out [][2]float64
	for _, f := range strings.Fields(m[1]) {
		x, y, _ := strings.Cut(f, ",")
		fx, err1 := strconv.ParseFloat(x, 64)
		fy, err2 := strconv.ParseFloat(y, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("point %q", f)
		}
		out = append(out, [2]float64{fx, fy})
	}
	return out
}

func TestMetricChart(t *testing.T) {
	series := func(n int, f func(i int) (step int64, ts int64, v float64)) []hangar.Metric {
		out := make([]hangar.Metric, n)
		for i := range out {
			s, ts, v := f(i)
			out[i] = hangar.Metric{Key: "m", Step: s, Timestamp: ts, Value: v}
		}
		return out
	}
	tests := []struct {
		name   string
		points []hangar.Metric
		check  func(t *testing.T, svg string)
	}{
		{"none finite", series(3, func(i int) (int64, int64, float64) { return int64(i), 0, math.NaN() }), func(t *testing.T, svg string) {
			if !strings.Contains(svg, "no finite values") || strings.Contains(svg, "<polyline") {
				t.Errorf("got %s", svg)
			}
		}},
		{"one point", series(1, func(int) (int64, int64, float64) { return 3, 0, 0.5 }), func(t *testing.T, svg string) {
			if !strings.Contains(svg, "<circle") || strings.Contains(svg, "<polyline") {
				t.Errorf("got %s", svg)
			}
		}},
		{"by step, NaN and infinities left out", series(5, func(i int) (int64, int64, float64) {
			return int64(i), 0, []float64{1, math.NaN(), 2, math.Inf(1), 3}[i]
		}), func(t *testing.T, svg string) {
			pts := polyline(t, svg)
			if len(pts) != 3 || !strings.Contains(svg, ">step<") {
				t.Fatalf("got %v in %s", pts, svg)
			}
			// Rising values draw upwards (SVG's y grows downwards).
			if !(pts[0][1] > pts[1][1] && pts[1][1] > pts[2][1]) || pts[0][0] != chartLeft || pts[2][0] != chartLeft+chartPlotW {
				t.Errorf("points %v", pts)
			}
		}},
		{"one step: by time", series(4, func(i int) (int64, int64, float64) { return 0, int64(i) * 2000, float64(i) }), func(t *testing.T, svg string) {
			if len(polyline(t, svg)) != 4 || !strings.Contains(svg, ">seconds<") || !strings.Contains(svg, ">6<") {
				t.Errorf("got %s", svg)
			}
		}},
		{"long history keeps its spike", series(100000, func(i int) (int64, int64, float64) {
			if i == 77777 {
				return int64(i), 0, 1000
			}
			return int64(i), 0, float64(i % 7)
		}), func(t *testing.T, svg string) {
			pts := polyline(t, svg)
			if len(pts) > chartMaxPoints || len(pts) < chartMaxPoints/2 {
				t.Fatalf("drew %d points, want at most %d", len(pts), chartMaxPoints)
			}
			top := false
			for i, p := range pts {
				if i > 0 && p[0] < pts[i-1][0] {
					t.Fatalf("x goes back at %d: %v", i, p)
				}
				top = top || p[1] == chartTop
			}
			if !top {
				t.Errorf("the spike is not drawn")
			}
		}},
		{"extreme values", series(3, func(i int) (int64, int64, float64) {
			return int64(i), 0, []float64{-1.7e308, 0, 1.7e308}[i]
		}), func(t *testing.T, svg string) {
			pts := polyline(t, svg)
			if len(pts) != 3 || strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") || pts[0][1] != chartTop+chartPlotH || pts[2][1] != chartTop {
				t.Errorf("got %v in %s", pts, svg)
			}
		}},
		{"flat at the largest value", series(2, func(i int) (int64, int64, float64) { return int64(i), 0, 1.75e308 }), func(t *testing.T, svg string) {
			if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") || len(polyline(t, svg)) != 2 {
				t.Errorf("got %s", svg)
			}
		}},
		{"key escaped", []hangar.Metric{{Key: "<x>", Value: 1}, {Key: "<x>", Step: 1, Value: 2}}, func(t *testing.T, svg string) {
			if strings.Contains(svg, "<x>") {
				t.Errorf("unescaped key in %s", svg)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "m"
			if len(tt.points) > 0 {
				key = tt.points[0].Key
			}
			tt.check(t, string(metricChart(key, tt.points)))
		})
	}
}

func TestLineageDepths(t *testing.T) {
	g := &lineage.Graph{Root: "m",
		Nodes: []lineage.Node{{ID: "m"}, {ID: "run"}, {ID: "job"}, {ID: "data"}, {ID: "a"}, {ID: "b"}, {ID: "alone"}},
		Edges: []lineage.Edge{
			{From: "run", To: "m"}, {From: "job", To: "run"}, {From: "data", To: "job"}, {From: "data", To: "m"},
			// A cycle, which a lineage never has: not followed round.
			{From: "a", To: "b"}, {From: "b", To: "a"}, {From: "b", To: "run"},
		}}
	got := lineageDepths(g)
	want := map[string]int{"m": 0, "run": 1, "job": 2, "data": 3, "b": 2, "a": 3}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("depth of %s: got %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
