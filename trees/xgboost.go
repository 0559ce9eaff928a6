package trees

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/hangar-ml/hangar"
)

// maxModelBytes bounds what a loader reads, so a hostile or runaway stream
// cannot exhaust memory.
const maxModelBytes = 2 << 30

// The XGBoost JSON schema (Booster.save_model("m.json"), 1.x to 3.x), only the
// fields prediction needs.
type xgbFile struct {
	Learner *struct {
		FeatureNames      []string        `json:"feature_names"`
		FeatureTypes      []string        `json:"feature_types"`
		GradientBooster   json.RawMessage `json:"gradient_booster"`
		LearnerModelParam struct {
			BaseScore  string `json:"base_score"`
			NumClass   string `json:"num_class"`
			NumFeature string `json:"num_feature"`
			NumTarget  string `json:"num_target"`
		} `json:"learner_model_param"`
		Objective struct {
			Name string `json:"name"`
		} `json:"objective"`
	} `json:"learner"`
	Version []int `json:"version"`
}

type xgbBooster struct {
	Name       string       `json:"name"`
	Model      *xgbGBTree   `json:"model"`
	GBTree     *xgbBooster  `json:"gbtree"` // dart wraps a gbtree
	WeightDrop []xgbFloat32 `json:"weight_drop"`
}

type xgbGBTree struct {
	TreeInfo []int     `json:"tree_info"`
	Trees    []xgbTree `json:"trees"`
}

type xgbTree struct {
	LeftChildren       []int        `json:"left_children"`
	RightChildren      []int        `json:"right_children"`
	SplitIndices       []int        `json:"split_indices"`
	SplitConditions    []xgbFloat32 `json:"split_conditions"`
	DefaultLeft        []xgbBool    `json:"default_left"`
	SplitType          []int        `json:"split_type"`
	Categories         []int        `json:"categories"`
	CategoriesNodes    []int        `json:"categories_nodes"`
	CategoriesSegments []int        `json:"categories_segments"`
	CategoriesSizes    []int        `json:"categories_sizes"`
	TreeParam          struct {
		NumNodes       string `json:"num_nodes"`
		SizeLeafVector string `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

// xgbFloat32 is a float XGBoost wrote: a JSON number, or NaN/±Infinity,
// which XGBoost writes bare and sanitizeJSON quotes. It is parsed straight to
// float32, as XGBoost parses it, so no double rounding can move a threshold.
type xgbFloat32 float32

func (f *xgbFloat32) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch s {
	case `"NaN"`:
		*f = xgbFloat32(math.NaN())
		return nil
	case `"Infinity"`:
		*f = xgbFloat32(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = xgbFloat32(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return fmt.Errorf("bad float %.40q", s)
	}
	*f = xgbFloat32(v)
	return nil
}

// xgbBool is default_left: 0/1 in XGBoost ≥1.6, true/false in older files.
type xgbBool bool

func (v *xgbBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "1", "true":
		*v = true
	case "0", "false":
		*v = false
	default:
		return fmt.Errorf("bad default_left value %.40q", b)
	}
	return nil
}

// sanitizeJSON quotes the bare NaN, Infinity and -Infinity tokens XGBoost
// writes (for categorical split conditions, for instance), which are not
// JSON. Text inside strings is left alone.
func sanitizeJSON(b []byte) []byte {
	var out []byte
	last := 0
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		var tok string
		switch c {
		case '"':
			inStr = true
			continue
		case 'N':
			tok = "NaN"
		case 'I':
			tok = "Infinity"
		case '-':
			tok = "-Infinity"
		default:
			continue
		}
		if !bytes.HasPrefix(b[i:], []byte(tok)) {
			continue
		}
		out = append(out, b[last:i]...)
		out = append(out, '"')
		out = append(out, tok...)
		out = append(out, '"')
		i += len(tok) - 1
		last = i + 1
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

func invalid(format string, args ...any) error {
	return hangar.Errorf(hangar.EINVALID, format, args...)
}

// jsonProblem says what is wrong with a model file's JSON in the file's
// terms: where a value of the wrong kind is (its key path below prefix)
// and what it should be, or where the syntax breaks. The decoder's own
// text names the Go types it decodes into, which mean nothing to whoever
// saved the model.
func jsonProblem(prefix string, err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		at := strings.TrimSuffix(prefix+te.Field, ".")
		if at == "" {
			at = "the document"
		}
		if _, lit, ok := strings.Cut(te.Value, " "); ok {
			// "number 1.5": a number that does not fit.
			return fmt.Sprintf("%s is %s, want %s", at, lit, jsonWant(te.Type))
		}
		return fmt.Sprintf("%s is a JSON %s, want %s", at, te.Value, jsonWant(te.Type))
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, se.Error())
	case prefix == "":
		return "not valid JSON: " + err.Error()
	}
	return strings.TrimSuffix(prefix, ".") + ": " + err.Error()
}

// jsonWant names the JSON a value of type t is read from.
func jsonWant(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another value"
}

// LoadXGBoostJSON reads a model saved by XGBoost's Booster.save_model as JSON
// (schema of XGBoost 1.x to 3.x; gbtree and dart boosters). It rejects
// UBJSON (save_model with a .ubj name), gblinear models, multi-target (vector-leaf) trees and unknown objectives.
// Errors carry the code hangar.EINVALID and name the problem.
func LoadXGBoostJSON(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read XGBoost model: %w", err)
	}
	if len(b) > maxModelBytes {
		return nil, invalid("XGBoost model: larger than %d bytes", maxModelBytes)
	}
	if isUBJSON(b) {
		return nil, invalid("XGBoost UBJSON models are not supported: re-save with save_model('m.json')")
	}
	m, err := parseXGBoost(b)
	if err != nil {
		return nil, fmt.Errorf("XGBoost model: %w", err)
	}
	return m, nil
}

// isUBJSON reports whether b, after leading JSON whitespace, starts an
// object in Universal Binary JSON (XGBoost's save_model with a .ubj name, the
// default format of XGBoost 2.x): '{' followed by a UBJSON marker (a key
// length's integer type, a container's '$' type or '#' count, or the 'N'
// no-op) where JSON has whitespace, '"' or '}'.
func isUBJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) >= 2 && b[0] == '{' && bytes.IndexByte([]byte("iUIlL$#N"), b[1]) >= 0
}

func parseXGBoost(b []byte) (*Model, error) {
	var f xgbFile
	if err := json.Unmarshal(sanitizeJSON(b), &f); err != nil {
		return nil, invalid("%s", jsonProblem("", err))
	}
	l := f.Learner
	if l == nil {
		return nil, invalid("no \"learner\" object (not an XGBoost JSON model)")
	}
	var gb xgbBooster
	if len(l.GradientBooster) == 0 {
		return nil, invalid("no learner.gradient_booster")
	}
	if err := json.Unmarshal(l.GradientBooster, &gb); err != nil {
		return nil, invalid("%s", jsonProblem("learner.gradient_booster.", err))
	}
	m := &Model{f32: true, average: 1}
	m.source = Source{Format: "xgboost-json", Booster: gb.Name, Objective: l.Objective.Name}
	if len(f.Version) > 0 {
		parts := make([]string, len(f.Version))
		for i, v := range f.Version {
			parts[i] = strconv.Itoa(v)
		}
		m.source.Version = strings.Join(parts, ".")
	}

	var model *xgbGBTree
	switch gb.Name {
	case "gbtree":
		model = gb.Model
	case "dart":
		if gb.GBTree == nil {
			return nil, invalid("dart booster without a \"gbtree\" object")
		}
		model = gb.GBTree.Model
	case "gblinear":
		return nil, invalid("gblinear (linear booster) models are not supported; only tree boosters (gbtree, dart)")
	case "":
		return nil, invalid("learner.gradient_booster has no name")
	default:
		return nil, invalid("unsupported booster %q; only gbtree and dart", gb.Name)
	}
	if model == nil {
		return nil, invalid("%s booster has no \"model\" object", gb.Name)
	}

	// Shape of the model.
	p := l.LearnerModelParam
	nf, err := paramInt("num_feature", p.NumFeature, 0)
	if err != nil {
		return nil, err
	}
	if nf >= maxFeatures {
		return nil, invalid("num_feature %d exceeds the supported %d", nf, maxFeatures)
	}
	numClass, err := paramInt("num_class", p.NumClass, 0)
	if err != nil {
		return nil, err
	}
	if numClass > 1<<20 {
		return nil, invalid("num_class %d is too large", numClass)
	}
	if p.NumTarget != "" {
		nt, err := paramInt("num_target", p.NumTarget, 1)
		if err != nil {
			return nil, err
		}
		if nt > 1 {
			return nil, invalid("multi-target models (num_target=%d) are not supported", nt)
		}
	}
	m.numFeatures = nf
	m.numOutputs = max(1, numClass)

	obj, ok := xgbObjectives[l.Objective.Name]
	if !ok {
		if l.Objective.Name == "" {
			return nil, invalid("no learner.objective.name")
		}
		return nil, invalid("unsupported objective %q", l.Objective.Name)
	}
	if strings.HasPrefix(l.Objective.Name, "multi:") && numClass < 1 {
		return nil, invalid("objective %s needs num_class >= 1, file has %d", l.Objective.Name, numClass)
	}
	m.objective = l.Objective.Name
	if m.objective == "reg:linear" {
		m.objective = hangar.ObjectiveRegSquaredError // the pre-1.0 name of the same objective
	}
	m.link = obj.link

	base, err := parseBaseScore(p.BaseScore, m.numOutputs)
	if err != nil {
		return nil, err
	}
	m.baseMargin = make([]float64, m.numOutputs)
	for i, v := range base {
		mv, err := obj.probToMargin(v)
		if err != nil {
			return nil, err
		}
		m.baseMargin[i] = float64(mv)
	}

	features, err := featureList(nf, l.FeatureNames, l.FeatureTypes)
	if err != nil {
		return nil, err
	}
	m.features = features

	// Trees.
	nt := len(model.Trees)
	if len(model.TreeInfo) != nt {
		return nil, invalid("tree_info has %d entries for %d trees", len(model.TreeInfo), nt)
	}
	if gb.Name == "dart" {
		if len(gb.WeightDrop) != nt {
			return nil, invalid("dart weight_drop has %d entries for %d trees", len(gb.WeightDrop), nt)
		}
		m.weights = make([]float64, nt)
		for i, w := range gb.WeightDrop {
			if !isFinite(float64(w)) {
				return nil, invalid("dart weight_drop[%d] is %v", i, float32(w))
			}
			m.weights[i] = float64(w)
		}
	}
	for i := range model.Trees {
		g := model.TreeInfo[i]
		if g < 0 || g >= m.numOutputs {
			return nil, invalid("tree_info[%d] = %d, outside [0,%d)", i, g, m.numOutputs)
		}
		if err := m.addXGBTree(&model.Trees[i], nf, g); err != nil {
			return nil, invalid("tree %d: %v", i, err)
		}
	}
	m.finish()
	return m, nil
}

func (m *Model) addXGBTree(t *xgbTree, nf, group int) error {
	n := len(t.LeftChildren)
	if t.TreeParam.NumNodes != "" {
		nn, err := strconv.Atoi(t.TreeParam.NumNodes)
		if err != nil || nn != n {
			return fmt.Errorf("tree_param.num_nodes %q does not match %d left_children", t.TreeParam.NumNodes, n)
		}
	}
	if s := t.TreeParam.SizeLeafVector; s != "" && s != "0" && s != "1" {
		return fmt.Errorf("vector-leaf trees (size_leaf_vector=%s) are not supported", s)
	}
	if n == 0 {
		return fmt.Errorf("no nodes")
	}
	for _, a := range []struct {
		name string
		n    int
	}{
		{"right_children", len(t.RightChildren)},
		{"split_indices", len(t.SplitIndices)},
		{"split_conditions", len(t.SplitConditions)},
		{"default_left", len(t.DefaultLeft)},
	} {
		if a.n != n {
			return fmt.Errorf("%s has %d entries, left_children %d", a.name, a.n, n)
		}
	}
	if len(t.SplitType) != 0 && len(t.SplitType) != n {
		return fmt.Errorf("split_type has %d entries, left_children %d", len(t.SplitType), n)
	}

	// Categorical splits: node -> categories going right.
	catOf := map[int]int{} // node -> index into categories_nodes
	if len(t.CategoriesNodes) != len(t.CategoriesSegments) || len(t.CategoriesNodes) != len(t.CategoriesSizes) {
		return fmt.Errorf("categories_nodes, categories_segments and categories_sizes differ in length (%d, %d, %d)",
			len(t.CategoriesNodes), len(t.CategoriesSegments), len(t.CategoriesSizes))
	}
	for i, nid := range t.CategoriesNodes {
		if nid < 0 || nid >= n {
			return fmt.Errorf("categories_nodes[%d] = %d out of range [0,%d)", i, nid, n)
		}
		beg, size := t.CategoriesSegments[i], t.CategoriesSizes[i]
		if beg < 0 || size < 0 || beg > len(t.Categories) || size > len(t.Categories)-beg {
			return fmt.Errorf("node %d: category segment [%d,+%d) outside categories (%d)", nid, beg, size, len(t.Categories))
		}
		catOf[nid] = i
	}

	src := make([]srcNode, n)
	for i := range n {
		l, r := t.LeftChildren[i], t.RightChildren[i]
		cond := float32(t.SplitConditions[i])
		if l == -1 {
			if r != -1 {
				return fmt.Errorf("node %d: left child is -1 (leaf) but right child is %d", i, r)
			}
			if !isFinite(float64(cond)) {
				return fmt.Errorf("node %d: leaf value is %v", i, cond)
			}
			src[i] = srcNode{leaf: true, value: float64(cond)}
			continue
		}
		f := t.SplitIndices[i]
		if f < 0 || f >= nf {
			return fmt.Errorf("node %d: split feature %d outside [0,%d) (num_feature)", i, f, nf)
		}
		s := srcNode{left: l, right: r, feature: f}
		if t.DefaultLeft[i] {
			s.flags |= flagDefaultLeft
		}
		st := 0
		if len(t.SplitType) > 0 {
			st = t.SplitType[i]
		}
		switch st {
		case 0:
			if !isFinite(float64(cond)) {
				return fmt.Errorf("node %d: split condition is %v", i, cond)
			}
			s.threshold = xgbThreshold(cond)
		case 1:
			ci, ok := catOf[i]
			if !ok {
				return fmt.Errorf("node %d: categorical split missing from categories_nodes", i)
			}
			set, err := m.addXGBCategories(t, ci)
			if err != nil {
				return fmt.Errorf("node %d: %v", i, err)
			}
			s.flags |= flagCat
			s.cat = set
		default:
			return fmt.Errorf("node %d: unknown split_type %d", i, st)
		}
		src[i] = s
	}
	_, err := m.addTree(src, 0, group)
	return err
}

// addXGBCategories builds the bitset of categories_nodes[ci] and returns its
// catSet index.
func (m *Model) addXGBCategories(t *xgbTree, ci int) (int, error) {
	beg, size := t.CategoriesSegments[ci], t.CategoriesSizes[ci] // checked by addXGBTree
	cats := t.Categories[beg : beg+size]
	maxCat := -1
	for _, c := range cats {
		if c < 0 || c >= xgbMaxCat {
			return 0, fmt.Errorf("category %d outside [0,%d)", c, xgbMaxCat)
		}
		maxCat = max(maxCat, c)
	}
	words := make([]uint32, (maxCat+1+31)/32)
	for _, c := range cats {
		words[c/32] |= 1 << (uint(c) % 32)
	}
	return m.addCatSet(words)
}

func (m *Model) addCatSet(words []uint32) (int, error) {
	if len(m.catWords)+len(words) > math.MaxInt32 {
		return 0, fmt.Errorf("categorical bitsets too large")
	}
	m.catSets = append(m.catSets, catSet{off: int32(len(m.catWords)), n: int32(len(words))})
	m.catWords = append(m.catWords, words...)
	return len(m.catSets) - 1, nil
}

// xgbObjective is how an XGBoost objective links margins and probabilities.
type xgbObjective struct {
	link transform
	// margin converts base_score (kept in the objective's output space by
	// XGBoost 1.x-2.x) to a margin, as the objective's ProbToMargin does.
	margin marginKind
}

type marginKind uint8

const (
	marginIdentity marginKind = iota
	marginLogit
	marginLog
)

var xgbObjectives = map[string]xgbObjective{
	hangar.ObjectiveRegSquaredError: {linkIdentity, marginIdentity},
	"reg:linear":                    {linkIdentity, marginIdentity},
	"reg:squaredlogerror":           {linkIdentity, marginIdentity},
	"reg:pseudohubererror":          {linkIdentity, marginIdentity},
	"reg:absoluteerror":             {linkIdentity, marginIdentity},
	"reg:quantileerror":             {linkIdentity, marginIdentity},
	"reg:logistic":                  {linkSigmoid32, marginLogit},
	hangar.ObjectiveBinaryLogistic:  {linkSigmoid32, marginLogit},
	"binary:logitraw":               {linkIdentity, marginIdentity},
	"binary:hinge":                  {linkHinge, marginIdentity},
	"count:poisson":                 {linkExp32, marginLog},
	"reg:gamma":                     {linkExp32, marginLog},
	"reg:tweedie":                   {linkExp32, marginLog},
	"survival:cox":                  {linkExp32, marginLog},
	"survival:aft":                  {linkExp32, marginLog},
	hangar.ObjectiveMultiSoftprob:   {linkSoftmax32, marginIdentity},
	hangar.ObjectiveMultiSoftmax:    {linkSoftmax32, marginIdentity},
	"rank:pairwise":                 {linkIdentity, marginIdentity},
	"rank:ndcg":                     {linkIdentity, marginIdentity},
	"rank:map":                      {linkIdentity, marginIdentity},
}

// probToMargin mirrors XGBoost's ProbToMargin, in float32 as XGBoost computes it.
func (o xgbObjective) probToMargin(b float32) (float32, error) {
	switch o.margin {
	case marginLogit:
		if !(b > 0 && b < 1) {
			return 0, invalid("base_score %v must be in (0,1) for a logistic objective", b)
		}
		return -float32(math.Log(float64(float32(1)/b - 1))), nil
	case marginLog:
		if !(b > 0) {
			return 0, invalid("base_score %v must be positive for a log-link objective", b)
		}
		return float32(math.Log(float64(b))), nil
	}
	if !isFinite(float64(b)) {
		return 0, invalid("base_score is %v", b)
	}
	return b, nil
}

// parseBaseScore reads base_score: "5E-1" (1.x, 2.x) or "[5E-1]" or a
// per-output vector "[a,b,c]" (3.x).
func parseBaseScore(s string, outputs int) ([]float32, error) {
	if s == "" {
		return []float32{0.5}, nil // XGBoost's default when the field is absent
	}
	body := strings.TrimSpace(s)
	if strings.HasPrefix(body, "[") {
		if !strings.HasSuffix(body, "]") {
			return nil, invalid("base_score %q: unterminated vector", s)
		}
		body = body[1 : len(body)-1]
	}
	var out []float32
	for _, part := range strings.Split(body, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 32)
		if err != nil {
			return nil, invalid("base_score %q is not a number", s)
		}
		out = append(out, float32(v))
	}
	if len(out) == 1 {
		for len(out) < outputs {
			out = append(out, out[0])
		}
	}
	if len(out) != outputs {
		return nil, invalid("base_score has %d values for %d outputs", len(out), outputs)
	}
	return out, nil
}

// paramInt parses one of XGBoost's string-valued integer parameters.
func paramInt(name, s string, dflt int) (int, error) {
	if s == "" {
		return dflt, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, invalid("%s %q is not a non-negative integer", name, s)
	}
	return v, nil
}

// featureList names and types nf features from the file's lists, which are
// either empty or one entry per feature; nil when both are empty.
func featureList(nf int, names, types []string) ([]Feature, error) {
	if len(names) != 0 && len(names) != nf {
		return nil, invalid("%d feature_names for %d features", len(names), nf)
	}
	if len(types) != 0 && len(types) != nf {
		return nil, invalid("%d feature_types for %d features", len(types), nf)
	}
	if len(names) == 0 && len(types) == 0 {
		// Synthesised on demand by Features: a tiny file may declare
		// millions of features, and names it does not carry cost nothing.
		return nil, nil
	}
	fs := make([]Feature, nf)
	for i := range fs {
		if len(names) > 0 {
			fs[i].Name = names[i]
		} else {
			fs[i].Name = "f" + strconv.Itoa(i)
		}
		if len(types) > 0 {
			fs[i].Type = types[i]
		}
	}
	return fs, nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
