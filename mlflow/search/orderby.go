package search

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/hangar-ml/hangar"
)

// MaxOrderByKeys is the most order_by items one request may give; each is a
// join or a sort column in the SQL store.
const MaxOrderByKeys = 32

// OrderBy is a parsed order_by: the caller's keys followed by the keys MLflow
// adds (the default order when the caller gives none, then tie-breakers), so
// that sorting by all of Keys gives MLflow's order.
type OrderBy struct {
	Target Target
	Keys   []OrderKey
}

// OrderKey is one sort key.
type OrderKey struct {
	Kind Kind   // Attribute, Metric, Param or Tag
	Key  string // canonical: aliases resolved, as in Clause.Key
	// Numeric is set for metrics and numeric attributes; other keys sort as
	// strings, byte by byte.
	Numeric bool
	Desc    bool
	// Implicit marks a key MLflow adds (default order, tie-breaker) rather
	// than one the caller gave.
	Implicit bool
}

// ParseOrderBy parses the order_by items of a search of the target, each
// "<key> [ASC|DESC]" (ASC by default, either in any case), the key written as
// in filters (metrics.acc, tags.`a b`, start_time). A key given twice is
// refused. Errors are hangar.EINVALID and name the item, the token and its
// position.
func ParseOrderBy(t Target, items []string) (OrderBy, error) {
	o := OrderBy{Target: t}
	if t < Runs || t > ModelVersions {
		return o, hangar.Errorf(hangar.EINVALID, "invalid order_by: unknown search target %d", int(t))
	}
	if len(items) > MaxOrderByKeys {
		return o, hangar.Errorf(hangar.EINVALID, "invalid order_by: %d items; the limit is %d", len(items), MaxOrderByKeys)
	}
	total := 0
	for _, it := range items {
		total += len(it)
	}
	if total > MaxFilterLength {
		return o, hangar.Errorf(hangar.EINVALID, "invalid order_by: its items are %d bytes long together; the limit is %d", total, MaxFilterLength)
	}
	for i, it := range items {
		k, err := parseOrderItem(t, i+1, it)
		if err != nil {
			return o, err
		}
		for j, prev := range o.Keys {
			if prev.Kind == k.Kind && prev.Key == k.Key {
				return o, hangar.Errorf(hangar.EINVALID, "invalid order_by: `order_by` contains duplicate fields: %s (items %d and %d both sort by %s)",
					pyList(items), j+1, i+1, clip(keyString(t, k.Kind, k.Key)))
			}
		}
		o.Keys = append(o.Keys, k)
	}
	o.Keys = appendImplicit(t, o.Keys)
	return o, nil
}

// appendImplicit adds MLflow's default order and tie-breakers (SQL stores:
// tracking 2.10, registry 3.x). A tie-breaker on a key the caller already
// sorts by is left out: it could never decide anything.
func appendImplicit(t Target, keys []OrderKey) []OrderKey {
	implicit := func(kind Kind, key string, numeric, desc bool) {
		for _, k := range keys {
			if k.Kind == kind && k.Key == key {
				return
			}
		}
		keys = append(keys, OrderKey{Kind: kind, Key: key, Numeric: numeric, Desc: desc, Implicit: true})
	}
	given := len(keys) > 0
	switch t {
	case Runs:
		implicit(Attribute, "start_time", true, true)
		implicit(Attribute, "run_id", false, false)
	case Experiments:
		if !given {
			implicit(Attribute, "creation_time", true, true)
			implicit(Attribute, "experiment_id", true, false)
		}
		implicit(Attribute, "experiment_id", true, true)
	case RegisteredModels:
		implicit(Attribute, "name", false, false)
	case ModelVersions:
		if !given {
			implicit(Attribute, "last_updated_timestamp", true, true)
		}
		implicit(Attribute, "name", false, false)
		implicit(Attribute, "version_number", true, true)
	}
	return keys
}

// parseOrderItem parses one order_by item (n counts from 1, for messages).
func parseOrderItem(t Target, n int, s string) (OrderKey, error) {
	p := &parser{src: s, what: fmt.Sprintf("order_by item %d", n), order: true}
	if err := p.checkInput(MaxFilterLength); err != nil {
		return OrderKey{}, err
	}
	p.skipSpace()
	if p.eof() {
		return OrderKey{}, p.fail(0, "Invalid order_by clause '%s'. Could not be parsed.", p.shown())
	}
	id, err := p.ident()
	if err != nil {
		return OrderKey{}, err
	}
	var k OrderKey
	p.skipSpace()
	if !p.eof() {
		at := p.pos
		switch w := p.word(); strings.ToUpper(w) {
		case "ASC":
		case "DESC":
			k.Desc = true
		case "":
			return OrderKey{}, p.fail(at, "Invalid order_by clause '%s'. Could not be parsed: expected ASC or DESC after '%s', found %s", p.shown(), clip(id.text), p.found())
		default:
			return OrderKey{}, p.fail(at, "Invalid ordering key in order_by clause '%s'. Expected ASC or DESC, found '%s'", p.shown(), clip(w))
		}
		p.skipSpace()
		if !p.eof() {
			return OrderKey{}, p.fail(p.pos, "Invalid order_by clause '%s'. Could not be parsed: unexpected %s after the direction", p.shown(), p.found())
		}
	}

	kind := Attribute
	if id.hasEntity {
		var ok bool
		if kind, ok = entityKind(t, id.entity); !ok {
			return OrderKey{}, p.fail(id.start, "%s", entityError(t, clip(id.entity)))
		}
	}
	switch {
	case kind == Dataset:
		return OrderKey{}, p.fail(id.start, "Invalid identifier type 'dataset'; runs cannot be ordered by their datasets")
	case kind == Tag && t != Runs:
		if t == ModelVersions || t == RegisteredModels {
			return OrderKey{}, p.fail(id.start, "Invalid order by key '%s' specified. Valid keys are %s", clip(id.text), orderAttributeKeys(t))
		}
		return OrderKey{}, p.fail(id.start, "Invalid order_by entity: tag")
	case kind == Attribute:
		a, ok := orderAttribute(t, id.key)
		if !ok {
			if t == Runs || t == Experiments {
				return OrderKey{}, p.fail(id.keyPos, "Invalid attribute key '%s' specified. Valid keys are %s", clip(id.key), orderAttributeKeys(t))
			}
			return OrderKey{}, p.fail(id.keyPos, "Invalid order by key '%s' specified. Valid keys are %s", clip(id.key), orderAttributeKeys(t))
		}
		k.Kind, k.Key, k.Numeric = Attribute, a.key, a.numeric
	default:
		k.Kind, k.Key, k.Numeric = kind, id.key, kind == Metric
	}
	return k, nil
}

// pyList renders the items as MLflow's message does: ['a', 'b'].
func pyList(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + clip(it) + "'")
	}
	b.WriteByte(']')
	return b.String()
}

func keyString(t Target, k Kind, key string) string {
	var b strings.Builder
	writeKey(&b, t, k, key)
	return b.String()
}

// Strings returns the caller's keys in canonical form ("metrics.acc DESC",
// "name ASC"), which ParseOrderBy turns back into an equal OrderBy. Implicit
// keys are left out: parsing adds them again.
func (o OrderBy) Strings() []string {
	var out []string
	for _, k := range o.Keys {
		if k.Implicit {
			continue
		}
		dir := " ASC"
		if k.Desc {
			dir = " DESC"
		}
		out = append(out, keyString(o.Target, k.Kind, k.Key)+dir)
	}
	return out
}

// Compare orders two records by the keys in turn, for slices.SortFunc:
// negative when a sorts first. In both directions records that have a value
// come first, then those whose metric is NaN, then those that lack the key,
// as MLflow's SQL store sorts (2.10: a CASE column per key, always ascending,
// before the value). Strings compare byte by byte.
func (o OrderBy) Compare(a, b Record) int {
	for _, k := range o.Keys {
		if c := k.compare(a, b); c != 0 {
			return c
		}
	}
	return 0
}

// Less reports whether a sorts before b.
func (o OrderBy) Less(a, b Record) bool { return o.Compare(a, b) < 0 }

// presence ranks: a value, NaN (metrics only), absent.
const (
	rankValue = iota
	rankNaN
	rankAbsent
)

func (k OrderKey) compare(a, b Record) int {
	var ra, rb, c int
	switch {
	case k.Kind == Metric:
		va, oka := a.Metric(k.Key)
		vb, okb := b.Metric(k.Key)
		ra, rb = metricRank(va, oka), metricRank(vb, okb)
		c = cmp.Compare(va, vb)
	case k.Kind == Attribute && k.Numeric:
		va, oka := a.NumericAttribute(k.Key)
		vb, okb := b.NumericAttribute(k.Key)
		ra, rb = rank(oka), rank(okb)
		c = cmp.Compare(va, vb)
	default:
		get := func(r Record) (string, bool) {
			switch k.Kind {
			case Param:
				return r.Param(k.Key)
			case Tag:
				return r.Tag(k.Key)
			}
			return r.StringAttribute(k.Key)
		}
		va, oka := get(a)
		vb, okb := get(b)
		ra, rb = rank(oka), rank(okb)
		c = strings.Compare(va, vb)
	}
	if ra != rb {
		return cmp.Compare(ra, rb) // placement does not depend on the direction
	}
	if ra != rankValue {
		return 0
	}
	if k.Desc {
		return -c
	}
	return c
}

func rank(ok bool) int {
	if ok {
		return rankValue
	}
	return rankAbsent
}

func metricRank(v float64, ok bool) int {
	switch {
	case !ok:
		return rankAbsent
	case math.IsNaN(v):
		return rankNaN
	}
	return rankValue
}
