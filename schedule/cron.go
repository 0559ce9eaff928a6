package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Cron is a parsed five-field cron expression: MIN HOUR DOM MON DOW. Each
// field is a bit set of the values it allows.
type Cron struct {
	Minute, Hour, Dom, Month, Dow uint64
	// DomAny and DowAny record a field written "*" (or "?"): as in Vixie
	// cron, when both day fields are restricted a day matching either
	// fires, and when one is "*" the other alone decides.
	DomAny, DowAny bool
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	// 7 is Sunday too.
	{name: "day of week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// maxCronLength bounds an expression's text.
const maxCronLength = 1024

// ParseCron parses a five-field cron expression. Each field is "*", a
// value, a range a-b, any of these with a step /n, or a comma-separated
// list of them; months and week days may be named (JAN, MON). Day of week
// 0 and 7 are Sunday. The error names the field and the part at fault.
func ParseCron(expr string) (*Cron, error) {
	if len(expr) > maxCronLength {
		return nil, fmt.Errorf("the expression is %d bytes; the limit is %d", len(expr), maxCronLength)
	}
	fs := strings.Fields(expr)
	if len(fs) != 5 {
		return nil, fmt.Errorf("%q has %d fields: want five, MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK (\"0 3 * * *\")", expr, len(fs))
	}
	var c Cron
	dst := [5]*uint64{&c.Minute, &c.Hour, &c.Dom, &c.Month, &c.Dow}
	for i, f := range fs {
		set, star, err := cronFields[i].parse(f)
		if err != nil {
			return nil, fmt.Errorf("%s field %q: %v", cronFields[i].name, f, err)
		}
		*dst[i] = set
		switch i {
		case 2:
			c.DomAny = star
		case 4:
			c.DowAny = star
		}
	}
	if c.Dow&(1<<7) != 0 {
		c.Dow = c.Dow&^(1<<7) | 1
	}
	return &c, nil
}

func (f cronField) parse(s string) (uint64, bool, error) {
	if s == "*" || s == "?" {
		return f.all(), true, nil
	}
	var set uint64
	for part := range strings.SplitSeq(s, ",") {
		if part == "" {
			return 0, false, fmt.Errorf("an empty list item")
		}
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 || n > f.max {
				return 0, false, fmt.Errorf("step %q: want a whole number from 1 to %d", stepText, f.max)
			}
			step = n
		}
		lo, hi := f.min, f.max
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, false, err
			}
			hi = lo
			if isRange {
				if hi, err = f.value(b); err != nil {
					return 0, false, err
				}
				if hi < lo {
					return 0, false, fmt.Errorf("range %s runs backwards", rng)
				}
			} else if hasStep {
				hi = f.max // "5/15" is "5-max/15"
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, false, nil
}

func (f cronField) all() uint64 {
	var set uint64
	for v := f.min; v <= f.max; v++ {
		set |= 1 << uint(v)
	}
	return set
}

func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		if len(f.names) > 0 {
			return 0, fmt.Errorf("%q: want %d to %d or a name (%s…)", s, f.min, f.max, f.names[0])
		}
		return 0, fmt.Errorf("%q: want %d to %d", s, f.min, f.max)
	}
	return v, nil
}

// dayMatches reports whether a day (its day of month, month and week day,
// 0 Sunday) is one the expression fires on.
func (c *Cron) dayMatches(dom, month, dow int) bool {
	if c.Month&(1<<uint(month)) == 0 {
		return false
	}
	domOK := c.Dom&(1<<uint(dom)) != 0
	dowOK := c.Dow&(1<<uint(dow)) != 0
	switch {
	case c.DomAny && c.DowAny:
		return true
	case c.DomAny:
		return dowOK
	case c.DowAny:
		return domOK
	}
	return domOK || dowOK
}

// values lists the members of a bit set in order.
func values(set uint64) []int {
	out := make([]int, 0, bits.OnesCount64(set))
	for set != 0 {
		v := bits.TrailingZeros64(set)
		out = append(out, v)
		set &^= 1 << uint(v)
	}
	return out
}
