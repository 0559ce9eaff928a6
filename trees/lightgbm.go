package trees

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
)

// LightGBM decision_type bits (include/LightGBM/tree.h).
const (
	lgbCategoricalMask = 1
	lgbDefaultLeftMask = 2
)

// LoadLightGBM reads a model saved by LightGBM's Booster.save_model as text
// (format versions v2 to v4). Supported objectives: regression (also
// "regression sqrt"), regression_l1, huber, quantile, binary, multiclass,
// multiclassova, cross_entropy, poisson, gamma, tweedie, lambdarank and
// rank_xendcg; the rf booster (average_output) is supported. Linear trees and
// other objectives are rejected. Errors carry the code hangar.EINVALID and
// name the problem.
func LoadLightGBM(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read LightGBM model: %w", err)
	}
	if len(b) > maxModelBytes {
		return nil, invalid("LightGBM model: larger than %d bytes", maxModelBytes)
	}
	m, err := parseLightGBM(b)
	if err != nil {
		return nil, fmt.Errorf("LightGBM model: %w", err)
	}
	return m, nil
}

// lgbLines iterates over the lines of a model file, without line endings.
type lgbLines struct {
	b    []byte
	line int
}

func (l *lgbLines) next() (string, bool) {
	if len(l.b) == 0 {
		return "", false
	}
	i := bytes.IndexByte(l.b, '\n')
	var s []byte
	if i < 0 {
		s, l.b = l.b, nil
	} else {
		s, l.b = l.b[:i], l.b[i+1:]
	}
	l.line++
	return strings.TrimRight(string(s), "\r"), true
}

func parseLightGBM(b []byte) (*Model, error) {
	lines := &lgbLines{b: b}
	first, ok := lines.next()
	if !ok || strings.TrimSpace(first) != "tree" {
		return nil, invalid("first line is not \"tree\" (not a LightGBM text model)")
	}

	if !bytes.Contains(b, []byte("\nend of trees")) {
		return nil, invalid("truncated: no \"end of trees\" line")
	}

	// Header: key=value lines (and the bare "average_output") up to the first Tree=.
	header := map[string]string{}
	var line string
	for {
		s, ok := lines.next()
		if !ok {
			return nil, invalid("truncated: no trees and no \"end of trees\"")
		}
		if strings.HasPrefix(s, "Tree=") || s == "end of trees" {
			line = s
			break
		}
		if s == "" {
			continue
		}
		k, v, found := strings.Cut(s, "=")
		if !found {
			header[s] = ""
			continue
		}
		header[k] = v
	}

	m := &Model{average: 1}
	m.source = Source{Format: "lightgbm-text", Version: header["version"], Booster: "gbdt", Objective: header["objective"]}

	numClass, err := headerInt(header, "num_class", 1)
	if err != nil {
		return nil, err
	}
	perIter, err := headerInt(header, "num_tree_per_iteration", numClass)
	if err != nil {
		return nil, err
	}
	if numClass < 1 || numClass > 1<<20 {
		return nil, invalid("num_class %d out of range", numClass)
	}
	if perIter < 1 || perIter > 1<<20 {
		return nil, invalid("num_tree_per_iteration %d out of range", perIter)
	}
	maxIdx, err := headerInt(header, "max_feature_idx", -2)
	if err != nil {
		return nil, err
	}
	if maxIdx == -2 {
		return nil, invalid("header has no max_feature_idx")
	}
	if maxIdx < -1 || maxIdx+1 >= maxFeatures {
		return nil, invalid("max_feature_idx %d out of range", maxIdx)
	}
	m.numFeatures = maxIdx + 1
	m.numOutputs = perIter

	if _, ok := header["objective"]; !ok {
		return nil, invalid("header has no objective line")
	}
	if err := m.setLGBObjective(header["objective"], numClass); err != nil {
		return nil, err
	}

	var names, infos []string
	if v, ok := header["feature_names"]; ok {
		names = strings.Fields(v)
	}
	if v, ok := header["feature_infos"]; ok {
		infos = strings.Fields(v)
	}
	var types []string
	if len(infos) > 0 {
		types = make([]string, len(infos))
		for i, inf := range infos {
			// "[min:max]" numeric, "none" unused, "0:1:5" categorical.
			types[i] = "float"
			if inf != "none" && !strings.HasPrefix(inf, "[") && inf != "" {
				types[i] = "c"
			}
		}
	}
	if m.features, err = featureList(m.numFeatures, names, types); err != nil {
		return nil, err
	}

	// Trees.
	for line != "end of trees" {
		id, found := strings.CutPrefix(line, "Tree=")
		if !found {
			return nil, invalid("line %d: expected \"Tree=N\" or \"end of trees\", got %.60q", lines.line, line)
		}
		if n, err := strconv.Atoi(id); err != nil || n != len(m.roots) {
			return nil, invalid("line %d: tree header %.60q, expected Tree=%d", lines.line, line, len(m.roots))
		}
		kv := map[string]string{}
		for {
			s, ok := lines.next()
			if !ok {
				return nil, invalid("truncated in tree %d: no \"end of trees\"", len(m.roots))
			}
			if strings.HasPrefix(s, "Tree=") || s == "end of trees" {
				line = s
				break
			}
			if s == "" {
				continue
			}
			k, v, found := strings.Cut(s, "=")
			if !found {
				return nil, invalid("line %d: expected key=value in tree %d, got %.60q", lines.line, len(m.roots), s)
			}
			kv[k] = v
		}
		t := len(m.roots)
		if err := m.addLGBTree(kv, t%perIter); err != nil {
			return nil, invalid("tree %d: %v", t, err)
		}
	}
	if len(m.roots)%perIter != 0 {
		return nil, invalid("%d trees is not a multiple of num_tree_per_iteration %d", len(m.roots), perIter)
	}
	if _, ok := header["average_output"]; ok {
		m.source.Booster = "rf"
		if iters := len(m.roots) / perIter; iters > 0 {
			m.average = float64(iters)
		}
	}
	m.baseMargin = make([]float64, m.numOutputs)
	m.finish()
	return m, nil
}

func headerInt(h map[string]string, key string, dflt int) (int, error) {
	v, ok := h[key]
	if !ok {
		return dflt, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, invalid("header %s=%.40q is not an integer", key, v)
	}
	return n, nil
}

// setLGBObjective maps LightGBM's objective line ("binary sigmoid:1",
// "multiclass num_class:3", ...) to the output transform and the XGBoost
// spelling.
func (m *Model) setLGBObjective(line string, numClass int) error {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return invalid("empty objective")
	}
	name := fields[0]
	params := map[string]string{}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, ":")
		params[k] = v
	}
	sigmoid := 1.0
	if v, ok := params["sigmoid"]; ok {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || !(s > 0) || math.IsInf(s, 0) {
			return invalid("objective %q: bad sigmoid %q", line, v)
		}
		sigmoid = s
	}
	checkClasses := func() error {
		v, ok := params["num_class"]
		if !ok {
			return invalid("objective %q has no num_class", line)
		}
		if n, err := strconv.Atoi(v); err != nil || n != numClass {
			return invalid("objective %q: num_class %q does not match header num_class %d", line, v, numClass)
		}
		if m.numOutputs != numClass {
			return invalid("objective %q: num_tree_per_iteration %d differs from num_class %d", line, m.numOutputs, numClass)
		}
		return nil
	}
	single := func() error {
		if m.numOutputs != 1 {
			return invalid("objective %q with num_tree_per_iteration %d", line, m.numOutputs)
		}
		return nil
	}
	m.link = linkIdentity
	var err error
	switch name {
	case "regression":
		m.objective = hangar.ObjectiveRegSquaredError
		if _, ok := params["sqrt"]; ok {
			m.link = linkSignSquare64
		}
		err = single()
	case "regression_l1":
		m.objective, err = "reg:absoluteerror", single()
	case "huber":
		m.objective, err = "reg:pseudohubererror", single()
	case "quantile":
		m.objective, err = "reg:quantileerror", single()
	case "binary":
		m.objective, m.link, m.sigmoid, err = hangar.ObjectiveBinaryLogistic, linkSigmoid64, sigmoid, single()
	case "cross_entropy", "xentropy":
		m.objective, m.link, m.sigmoid, err = "reg:logistic", linkSigmoid64, 1, single()
	case "poisson":
		m.objective, m.link, err = "count:poisson", linkExp64, single()
	case "gamma":
		m.objective, m.link, err = "reg:gamma", linkExp64, single()
	case "tweedie":
		m.objective, m.link, err = "reg:tweedie", linkExp64, single()
	case "lambdarank", "rank_xendcg":
		m.objective, err = "rank:ndcg", single()
	case "multiclass", "softmax":
		m.objective, m.link, err = hangar.ObjectiveMultiSoftprob, linkSoftmax64, checkClasses()
	case "multiclassova", "multiclass_ova", "ova", "ovr":
		m.objective, m.link, m.sigmoid, err = "multi:ova", linkOVA64, sigmoid, checkClasses()
	default:
		return invalid("unsupported objective %q", line)
	}
	return err
}

func (m *Model) addLGBTree(kv map[string]string, group int) error {
	nl, err := strconv.Atoi(kv["num_leaves"])
	if err != nil || nl < 1 {
		return fmt.Errorf("num_leaves %.40q is not a positive integer", kv["num_leaves"])
	}
	if nl > 1<<26 {
		return fmt.Errorf("num_leaves %d is too large", nl)
	}
	if v, ok := kv["is_linear"]; ok && v != "0" {
		return fmt.Errorf("linear trees (is_linear=%s) are not supported", v)
	}
	leaves, err := lgbFloats(kv, "leaf_value", nl)
	if err != nil {
		return err
	}
	for i, v := range leaves {
		if !isFinite(v) {
			return fmt.Errorf("leaf_value[%d] is %v", i, v)
		}
	}
	if nl == 1 {
		_, err := m.addTree([]srcNode{{leaf: true, value: leaves[0]}}, 0, group)
		return err
	}
	ni := nl - 1
	feats, err := lgbInts(kv, "split_feature", ni)
	if err != nil {
		return err
	}
	thr, err := lgbFloats(kv, "threshold", ni)
	if err != nil {
		return err
	}
	left, err := lgbInts(kv, "left_child", ni)
	if err != nil {
		return err
	}
	right, err := lgbInts(kv, "right_child", ni)
	if err != nil {
		return err
	}
	var dt []int
	if _, ok := kv["decision_type"]; ok {
		if dt, err = lgbInts(kv, "decision_type", ni); err != nil {
			return err
		}
	} else {
		dt = make([]int, ni)
	}
	numCat := 0
	if v, ok := kv["num_cat"]; ok {
		if numCat, err = strconv.Atoi(v); err != nil || numCat < 0 || numCat > ni {
			return fmt.Errorf("num_cat %.40q is not an integer in [0,%d]", v, ni)
		}
	}
	var catSets []int // per category index: catSet index in m
	if numCat > 0 {
		bounds, err := lgbInts(kv, "cat_boundaries", numCat+1)
		if err != nil {
			return err
		}
		if bounds[0] != 0 {
			return fmt.Errorf("cat_boundaries starts at %d, not 0", bounds[0])
		}
		for i := 1; i < len(bounds); i++ {
			if bounds[i] < bounds[i-1] {
				return fmt.Errorf("cat_boundaries decrease at %d", i)
			}
		}
		words, err := lgbUint32s(kv, "cat_threshold", bounds[numCat])
		if err != nil {
			return err
		}
		for i := range numCat {
			set, err := m.addCatSet(words[bounds[i]:bounds[i+1]])
			if err != nil {
				return err
			}
			catSets = append(catSets, set)
		}
	}

	// Internal nodes 0..ni-1, then leaves ni..ni+nl-1; a negative child c
	// is leaf ~c.
	src := make([]srcNode, ni+nl)
	for i, v := range leaves {
		src[ni+i] = srcNode{leaf: true, value: v}
	}
	child := func(i int, c int, side string) (int, error) {
		if c >= 0 {
			if c >= ni {
				return 0, fmt.Errorf("node %d: %s child %d out of range [0,%d)", i, side, c, ni)
			}
			return c, nil
		}
		if ^c >= nl {
			return 0, fmt.Errorf("node %d: %s child leaf %d out of range [0,%d)", i, side, ^c, nl)
		}
		return ni + ^c, nil
	}
	for i := range ni {
		f := feats[i]
		if f < 0 || f >= m.numFeatures {
			return fmt.Errorf("node %d: split feature %d outside [0,%d) (max_feature_idx+1)", i, f, m.numFeatures)
		}
		d := dt[i]
		if d < 0 || d > 15 {
			return fmt.Errorf("node %d: decision_type %d out of range", i, d)
		}
		s := srcNode{feature: f}
		if s.left, err = child(i, left[i], "left"); err != nil {
			return err
		}
		if s.right, err = child(i, right[i], "right"); err != nil {
			return err
		}
		if d&lgbDefaultLeftMask != 0 {
			s.flags |= flagDefaultLeft
		}
		t := thr[i]
		if math.IsNaN(t) || math.IsInf(t, 1) {
			return fmt.Errorf("node %d: threshold is %v", i, t)
		}
		if d&lgbCategoricalMask != 0 {
			ci := int(t)
			if float64(ci) != t || ci < 0 || ci >= numCat {
				return fmt.Errorf("node %d: categorical threshold %v is not a category index in [0,%d)", i, t, numCat)
			}
			s.flags |= flagCat | missCatLGB<<missShift
			s.cat = catSets[ci]
		} else {
			switch d >> 2 & 3 {
			case 0: // None: NaN counts as 0
				s.flags |= missNone << missShift
			case 1: // Zero: zero and NaN are missing
				s.flags |= missZero << missShift
			case 2: // NaN
				s.flags |= missNaN << missShift
			default:
				return fmt.Errorf("node %d: decision_type %d has unknown missing type 3", i, d)
			}
			s.threshold = lgbThreshold(t)
		}
		src[i] = s
	}
	// Every leaf must be reached exactly once; appendTree catches leaves
	// reached twice, and a leaf never reached means a malformed tree.
	got, err := m.addTree(src, 0, group)
	if err != nil {
		return err
	}
	if got != ni+nl {
		return fmt.Errorf("only %d of %d nodes are reachable from the root", got, ni+nl)
	}
	return nil
}

func lgbFields(kv map[string]string, key string, n int) ([]string, error) {
	v, ok := kv[key]
	if !ok {
		return nil, fmt.Errorf("no %s line", key)
	}
	f := strings.Fields(v)
	if len(f) != n {
		return nil, fmt.Errorf("%s has %d values, want %d", key, len(f), n)
	}
	return f, nil
}

// lgbValues parses the n space-separated values of a tree line with parse;
// what names the expected kind in the error.
func lgbValues[T any](kv map[string]string, key string, n int, what string, parse func(string) (T, error)) ([]T, error) {
	f, err := lgbFields(kv, key, n)
	if err != nil {
		return nil, err
	}
	out := make([]T, n)
	for i, s := range f {
		if out[i], err = parse(s); err != nil {
			return nil, fmt.Errorf("%s[%d] = %.40q is not %s", key, i, s, what)
		}
	}
	return out, nil
}

func lgbFloats(kv map[string]string, key string, n int) ([]float64, error) {
	return lgbValues(kv, key, n, "a number", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

func lgbInts(kv map[string]string, key string, n int) ([]int, error) {
	return lgbValues(kv, key, n, "a 32-bit integer", func(s string) (int, error) {
		v, err := strconv.ParseInt(s, 10, 32)
		return int(v), err
	})
}

func lgbUint32s(kv map[string]string, key string, n int) ([]uint32, error) {
	return lgbValues(kv, key, n, "an unsigned 32-bit integer", func(s string) (uint32, error) {
		v, err := strconv.ParseUint(s, 10, 32)
		return uint32(v), err
	})
}
