package search

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		in     string
		want   []Clause
		canon  string // Filter.String(); "" means the same as in
	}{
		{"empty", Runs, "", nil, ""},
		{"blank", Runs, " \t\n ", nil, ""},
		// The examples of MLflow's search-runs documentation.
		{"metric gt", Runs, "metrics.accuracy > 0.92",
			[]Clause{{Kind: Metric, Key: "accuracy", Op: Gt, Numeric: true, Num: 0.92}}, ""},
		{"status double-quoted", Runs, `attributes.status = "FINISHED"`,
			[]Clause{{Kind: Attribute, Key: "status", Op: Eq, Str: "FINISHED"}}, "attributes.status = 'FINISHED'"},
		{"created alias", Runs, "attributes.created > 1670628787527",
			[]Clause{{Kind: Attribute, Key: "start_time", Op: Gt, Numeric: true, Num: 1670628787527}}, "attributes.start_time > 1670628787527"},
		{"Created alias", Runs, "attributes.Created > 1670628787527",
			[]Clause{{Kind: Attribute, Key: "start_time", Op: Gt, Numeric: true, Num: 1670628787527}}, "attributes.start_time > 1670628787527"},
		{"backticked metric with space", Runs, "metrics.`f1 score` > 0.5",
			[]Clause{{Kind: Metric, Key: "f1 score", Op: Gt, Numeric: true, Num: 0.5}}, ""},
		{"backticked dotted tag", Runs, "tags.`mlflow.user` = 'john@mlflow.com'",
			[]Clause{{Kind: Tag, Key: "mlflow.user", Op: Eq, Str: "john@mlflow.com"}}, "tags.mlflow.user = 'john@mlflow.com'"},
		{"unquoted dotted tag", Runs, "tags.mlflow.runName = 'x'",
			[]Clause{{Kind: Tag, Key: "mlflow.runName", Op: Eq, Str: "x"}}, ""},
		{"like", Runs, "tags.`model` LIKE 'sklearn%'",
			[]Clause{{Kind: Tag, Key: "model", Op: Like, Str: "sklearn%"}}, "tags.model LIKE 'sklearn%'"},
		{"ilike lower-case", Runs, "tags.`type` ilike '%Logistic%'",
			[]Clause{{Kind: Tag, Key: "type", Op: ILike, Str: "%Logistic%"}}, "tags.type ILIKE '%Logistic%'"},
		{"run name alias", Runs, `attributes.` + "`Run Name`" + ` ILIKE "%alpha%"`,
			[]Clause{{Kind: Attribute, Key: "run_name", Op: ILike, Str: "%alpha%"}}, "attributes.run_name ILIKE '%alpha%'"},
		{"three clauses lower-case and", Runs, `params.alpha = "0.3" and params.lambda = "0.001" and metrics.error <= 0.05`,
			[]Clause{
				{Kind: Param, Key: "alpha", Op: Eq, Str: "0.3"},
				{Kind: Param, Key: "lambda", Op: Eq, Str: "0.001"},
				{Kind: Metric, Key: "error", Op: Le, Numeric: true, Num: 0.05},
			}, "params.alpha = '0.3' AND params.lambda = '0.001' AND metrics.error <= 0.05"},
		{"leading digit double-quoted", Runs, `metrics."2019-04-02 error rate" < 0.1`,
			[]Clause{{Kind: Metric, Key: "2019-04-02 error rate", Op: Lt, Numeric: true, Num: 0.1}}, "metrics.`2019-04-02 error rate` < 0.1"},
		{"param dash double-quoted key", Runs, `params."model-type" = 'cnn'`,
			[]Clause{{Kind: Param, Key: "model-type", Op: Eq, Str: "cnn"}}, "params.`model-type` = 'cnn'"},
		{"single-quoted key", Runs, `params.'a b' = 'x'`,
			[]Clause{{Kind: Param, Key: "a b", Op: Eq, Str: "x"}}, "params.`a b` = 'x'"},
		{"key holding a backtick", Runs, "tags.\"a`b\" = 'x'",
			[]Clause{{Kind: Tag, Key: "a`b", Op: Eq, Str: "x"}}, ""},
		{"empty string value", Runs, "tags.`mlflow.user` = ''",
			[]Clause{{Kind: Tag, Key: "mlflow.user", Op: Eq, Str: ""}}, "tags.mlflow.user = ''"},
		{"value holding a quote", Runs, `params.q = "it's"`,
			[]Clause{{Kind: Param, Key: "q", Op: Eq, Str: "it's"}}, ""},
		{"backslash is literal", Runs, `params.path = 'C:\data\'`,
			[]Clause{{Kind: Param, Key: "path", Op: Eq, Str: `C:\data\`}}, ""},
		{"entity aliases", Runs, "metric.a = 1 AND parameter.b = 'x' AND parameters.c = 'y' AND param.d = 'z' AND tag.e = 'w' AND attr.status = 'RUNNING' AND run.run_id = 'r' AND dataset.name = 'n'",
			[]Clause{
				{Kind: Metric, Key: "a", Op: Eq, Numeric: true, Num: 1},
				{Kind: Param, Key: "b", Op: Eq, Str: "x"},
				{Kind: Param, Key: "c", Op: Eq, Str: "y"},
				{Kind: Param, Key: "d", Op: Eq, Str: "z"},
				{Kind: Tag, Key: "e", Op: Eq, Str: "w"},
				{Kind: Attribute, Key: "status", Op: Eq, Str: "RUNNING"},
				{Kind: Attribute, Key: "run_id", Op: Eq, Str: "r"},
				{Kind: Dataset, Key: "name", Op: Eq, Str: "n"},
			}, "metrics.a = 1 AND params.b = 'x' AND params.c = 'y' AND params.d = 'z' AND tags.e = 'w' AND attributes.status = 'RUNNING' AND attributes.run_id = 'r' AND datasets.name = 'n'"},
		{"backticked entity", Runs, "`metrics`.acc >= 1",
			[]Clause{{Kind: Metric, Key: "acc", Op: Ge, Numeric: true, Num: 1}}, "metrics.acc >= 1"},
		{"bare attribute", Runs, "status != 'FAILED'",
			[]Clause{{Kind: Attribute, Key: "status", Op: Ne, Str: "FAILED"}}, "attributes.status != 'FAILED'"},
		{"numbers", Runs, "metrics.a > -1 AND metrics.b < 1e-3 AND metrics.c >= .5 AND metrics.d <= 2. AND metrics.e != 1E+5 AND metrics.f = -0.25e2",
			[]Clause{
				{Kind: Metric, Key: "a", Op: Gt, Numeric: true, Num: -1},
				{Kind: Metric, Key: "b", Op: Lt, Numeric: true, Num: 1e-3},
				{Kind: Metric, Key: "c", Op: Ge, Numeric: true, Num: 0.5},
				{Kind: Metric, Key: "d", Op: Le, Numeric: true, Num: 2},
				{Kind: Metric, Key: "e", Op: Ne, Numeric: true, Num: 1e5},
				{Kind: Metric, Key: "f", Op: Eq, Numeric: true, Num: -25},
			}, "metrics.a > -1 AND metrics.b < 0.001 AND metrics.c >= 0.5 AND metrics.d <= 2 AND metrics.e != 100000 AND metrics.f = -25"},
		{"no spaces", Runs, "metrics.a>=1 AND params.b='x'",
			[]Clause{
				{Kind: Metric, Key: "a", Op: Ge, Numeric: true, Num: 1},
				{Kind: Param, Key: "b", Op: Eq, Str: "x"},
			}, "metrics.a >= 1 AND params.b = 'x'"},
		{"run_id in", Runs, "attributes.run_id IN ('a1', 'b2')",
			[]Clause{{Kind: Attribute, Key: "run_id", Op: In, List: []string{"a1", "b2"}}}, ""},
		{"run_id not in, upper kept", Runs, "run_id not in ('ABC','def')",
			[]Clause{{Kind: Attribute, Key: "run_id", Op: NotIn, List: []string{"ABC", "def"}}}, "attributes.run_id NOT IN ('ABC', 'def')"},
		{"dataset in", Runs, "datasets.digest IN ('s8ds293b', 'jks834s2') AND datasets.context = 'train'",
			[]Clause{
				{Kind: Dataset, Key: "digest", Op: In, List: []string{"s8ds293b", "jks834s2"}},
				{Kind: Dataset, Key: "context", Op: Eq, Str: "train"},
			}, ""},
		{"is null", Runs, "tags.env IS NULL AND params.lr is not null",
			[]Clause{
				{Kind: Tag, Key: "env", Op: IsNull},
				{Kind: Param, Key: "lr", Op: IsNotNull},
			}, "tags.env IS NULL AND params.lr IS NOT NULL"},
		{"unicode key and value", Runs, "params.größe = 'ß→x'",
			[]Clause{{Kind: Param, Key: "größe", Op: Eq, Str: "ß→x"}}, ""},

		{"experiment name", Experiments, "name = 'x'",
			[]Clause{{Kind: Attribute, Key: "name", Op: Eq, Str: "x"}}, ""},
		{"experiment attributes prefix", Experiments, "attributes.name LIKE 'x%' AND tags.group != 'x'",
			[]Clause{
				{Kind: Attribute, Key: "name", Op: Like, Str: "x%"},
				{Kind: Tag, Key: "group", Op: Ne, Str: "x"},
			}, "name LIKE 'x%' AND tags.group != 'x'"},
		{"experiment time", Experiments, "attribute.creation_time >= 10 AND last_update_time < 20",
			[]Clause{
				{Kind: Attribute, Key: "creation_time", Op: Ge, Numeric: true, Num: 10},
				{Kind: Attribute, Key: "last_update_time", Op: Lt, Numeric: true, Num: 20},
			}, "creation_time >= 10 AND last_update_time < 20"},
		{"experiment tag is null", Experiments, "tag.owner IS NULL",
			[]Clause{{Kind: Tag, Key: "owner", Op: IsNull}}, "tags.owner IS NULL"},
		{"registered model", RegisteredModels, "name ILIKE '%fraud%' AND tags.`team` = 'risk'",
			[]Clause{
				{Kind: Attribute, Key: "name", Op: ILike, Str: "%fraud%"},
				{Kind: Tag, Key: "team", Op: Eq, Str: "risk"},
			}, "name ILIKE '%fraud%' AND tags.team = 'risk'"},
		{"model version", ModelVersions, "name = 'm' AND version_number > 2 AND run_id IN ('r1') AND source_path LIKE 'mlflow-artifacts:/%'",
			[]Clause{
				{Kind: Attribute, Key: "name", Op: Eq, Str: "m"},
				{Kind: Attribute, Key: "version_number", Op: Gt, Numeric: true, Num: 2},
				{Kind: Attribute, Key: "run_id", Op: In, List: []string{"r1"}},
				{Kind: Attribute, Key: "source_path", Op: Like, Str: "mlflow-artifacts:/%"},
			}, ""},
		{"model version quoted number", ModelVersions, "version_number = '3'",
			[]Clause{{Kind: Attribute, Key: "version_number", Op: Eq, Numeric: true, Num: 3}}, "version_number = 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.target, tt.in)
			if err != nil {
				t.Fatalf("ParseFilter(%v, %q): %v", tt.target, tt.in, err)
			}
			if f.Target != tt.target || !reflect.DeepEqual(f.Clauses, tt.want) {
				t.Errorf("ParseFilter(%v, %q)\ngot  %+v\nwant %+v", tt.target, tt.in, f.Clauses, tt.want)
			}
			canon := tt.canon
			if canon == "" && tt.want != nil {
				canon = tt.in
			}
			if got := f.String(); got != canon {
				t.Errorf("String() = %q, want %q", got, canon)
			}
			again, err := ParseFilter(tt.target, f.String())
			if err != nil || !reflect.DeepEqual(again, f) {
				t.Errorf("String() %q parses to %#v, %v; want %#v", f.String(), again, err, f)
			}
		})
	}
}

func TestParseFilterNamedConstructors(t *testing.T) {
	for _, tt := range []struct {
		parse  func(string) (Filter, error)
		target Target
	}{
		{ParseRunFilter, Runs},
		{ParseExperimentFilter, Experiments},
		{ParseRegisteredModelFilter, RegisteredModels},
		{ParseModelVersionFilter, ModelVersions},
	} {
		f, err := tt.parse("tags.a = 'b'")
		if err != nil || f.Target != tt.target {
			t.Errorf("%v: got %+v, %v; want target %v", tt.target, f, err, tt.target)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		in     string
		want   []string // substrings of the message
	}{
		{"bad comparator", Runs, "metrics.acc >>> 0.5", []string{`invalid filter "metrics.acc >>> 0.5": `, "Invalid comparator '>>>' not one of =, !=, <, <=, >, >=", "(at position 13)"}},
		{"like on metric", Runs, "metrics.acc LIKE '1%'", []string{"Invalid comparator 'LIKE' not one of =, !=, <, <=, >, >=", "position 13"}},
		{"double equals", Runs, "params.a == 'x'", []string{"Invalid comparator '==' not one of =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL", "position 10"}},
		{"sql not equal", Runs, "params.a <> 'x'", []string{"Invalid comparator '<>'"}},
		{"numeric attribute comparator", Runs, "attributes.start_time LIKE '1%'", []string{"Invalid comparator 'LIKE' not one of =, !=, <, <=, >, >="}},
		{"string attribute comparator", Runs, "attributes.status > 'A'", []string{"Invalid comparator '>' not one of =, !=, LIKE, ILIKE, IN, NOT IN"}},
		{"in on status", Runs, "attributes.status IN ('FAILED')", []string{"Only the 'run_id' attribute supports comparison with a list of quoted string values.", "position 19"}},
		{"in on param", Runs, "params.a IN ('x')", []string{"Invalid comparator 'IN'"}},
		{"is null on metric", Runs, "metrics.a IS NULL", []string{"Invalid comparator 'IS NULL' not one of =, !=, <, <=, >, >="}},
		{"is null on attribute", Runs, "attributes.run_name IS NULL", []string{"Invalid comparator 'IS NULL'"}},
		{"is garbage", Runs, "tags.a IS EMPTY", []string{"expected NULL or NOT NULL after 'IS', found 'EMPTY'", "position 11"}},
		{"is not garbage", Runs, "tags.a IS NOT 'x'", []string{"expected NULL after 'IS NOT', found ''x''"}},
		{"not like", Runs, "params.a NOT LIKE 'x'", []string{"Invalid comparator 'NOT LIKE'"}},
		{"unknown word comparator", Runs, "params.a CONTAINS 'x'", []string{"Invalid comparator 'CONTAINS'"}},
		{"or", Runs, "metrics.a > 1 OR metrics.b < 2", []string{"Invalid clause(s) in filter string: 'OR'; clauses are joined by AND only", "(at position 15)"}},
		{"garbage after clause", Runs, "metrics.a > 1 metrics.b < 2", []string{"Invalid clause(s) in filter string: 'metrics'", "position 15"}},
		{"parentheses", Runs, "(metrics.a > 1)", []string{"Invalid clause(s) in filter string: '('", "position 1"}},
		{"trailing and", Runs, "metrics.a > 1 AND ", []string{"expected a clause after 'AND', found the end of the filter", "position 15"}},
		{"semicolon", Runs, "metrics.a > 1; DROP TABLE runs", []string{"Search filter contained multiple expression", "Provide AND-ed expression list.", "position 14"}},
		{"bad entity", Runs, "metricz.a > 1", []string{"Invalid entity type 'metricz'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']", "position 1"}},
		{"entity case-sensitive", Runs, "Metrics.a > 1", []string{"Invalid entity type 'Metrics'"}},
		{"bad attribute", Runs, "attributes.lifecycle_stage = 'active'", []string{"Invalid attribute key 'lifecycle_stage' specified. Valid keys are 'artifact_uri',", "position 12"}},
		{"experiment_id is not a run attribute", Runs, "experiment_id = '1'", []string{"Invalid attribute key 'experiment_id'"}},
		{"bad dataset key", Runs, "datasets.schema = 'x'", []string{"Invalid dataset key 'schema' specified. Valid keys are 'name', 'digest', 'context'"}},
		{"string for metric", Runs, "metrics.a > '1'", []string{"Expected numeric value type for metric. Found '1'", "position 13"}},
		{"string for start_time", Runs, "attributes.start_time > '1'", []string{"Expected numeric value type for numeric attribute: start_time. Found '1'"}},
		{"number for param", Runs, "params.a = 1", []string{"Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1", "position 12"}},
		{"number for tag", Runs, "tags.a = 1", []string{"Expected a quoted string value for tag (e.g. 'my-value'). Got value 1"}},
		{"number for attribute", Runs, "attributes.status = 1", []string{"Expected a quoted string value for attributes. Got value 1"}},
		{"number for dataset", Runs, "datasets.name = 1", []string{"Expected a quoted string value for dataset attributes. Got value 1"}},
		{"unquoted value", Runs, "params.a = abc", []string{"Parameter value is either not quoted or unidentified quote types used for string value abc. Use either single or double quotes.", "position 12"}},
		{"backticked value", Runs, "params.a = `abc`", []string{"Parameter value is either not quoted", "`abc`"}},
		{"unterminated string", Runs, "params.a = 'abc", []string{"the string opened with ' has no closing '", "position 12"}},
		{"doubled quote", Runs, "params.a = 'it''s'", []string{"MLflow has no escape for ' inside a '-quoted string", "position 16"}},
		{"unterminated key", Runs, "params.`abc = 'x'", []string{"the string opened with ` has no closing `"}},
		{"dashed key unquoted", Runs, "metrics.f1-score > 1", []string{"expected a comparator after 'metrics.f1', found '-'", "quote keys", "position 11"}},
		{"empty key", Runs, "metrics.`` > 1", []string{"empty key", "position 9"}},
		{"nothing after dot", Runs, "metrics. > 1", []string{"expected a key after 'metrics.', found ' '"}},
		{"dot at end", Runs, "metrics.", []string{"expected a key after 'metrics.', found the end of the filter"}},
		{"no comparator", Runs, "metrics.a", []string{"expected a comparator after 'metrics.a', found the end of the filter", "position 10"}},
		{"no value", Runs, "metrics.a >", []string{"expected a value after '>', found the end of the filter", "position 12"}},
		{"bad number", Runs, "metrics.a > 1.2.3", []string{"'1.2.3' is not a number", "position 13"}},
		{"number with letters", Runs, "metrics.a > 1abc", []string{"'1abc' is not a number"}},
		{"lone exponent", Runs, "metrics.a > 1e", []string{"'1e' is not a number"}},
		{"hex", Runs, "metrics.a > 0x10", []string{"'0x10' is not a number"}},
		{"lone minus", Runs, "metrics.a > -", []string{"'-' is not a number"}},
		{"out of range", Runs, "metrics.a > 1e400", []string{"number 1e400 is out of range"}},
		{"list without in", Runs, "attributes.run_id = ('a')", []string{"a list of values needs IN or NOT IN, not '='"}},
		{"in without list", Runs, "attributes.run_id IN 'a'", []string{"IN needs a parenthesised list of quoted strings", "found ''a''", "position 22"}},
		{"empty list", Runs, "attributes.run_id IN ()", []string{"While parsing a list in the query, expected a non-empty list of string values, but got empty list", "position 22"}},
		{"double-quoted list item", Runs, `attributes.run_id IN ("a")`, []string{"expected string value, punctuation, or whitespace, but got different type in list: '\"a\"'"}},
		{"number in list", Runs, "attributes.run_id IN ('a', 1)", []string{"but got different type in list: '1'", "position 28"}},
		{"trailing comma", Runs, "attributes.run_id IN ('a',)", []string{"but got different type in list: ')'"}},
		{"missing comma", Runs, "attributes.run_id IN ('a' 'b')", []string{"got ill-formed list: expected ',' or ')', found ''b''"}},
		{"unclosed list", Runs, "attributes.run_id IN ('a', 'b'", []string{"ill-formed list: '(' has no closing ')'", "position 22"}},
		{"quoted attribute with dot", Runs, `"status".x = 'a'`, []string{"expected a comparator after '\"status\"', found '.'"}},
		{"single-quoted lhs", Runs, "'status' = 'a'", []string{"Invalid clause(s) in filter string: ''status''"}},
		{"nul", Runs, "params.a = 'x\x00'", []string{"the NUL character is not allowed", "position 14"}},
		{"control characters blanked", Runs, "params.a\n>>> 'x'", []string{`invalid filter "params.a >>> 'x'"`, "position 10"}},
		{"non-ascii position counts characters", Runs, "params.größe >>> 'x'", []string{"(at position 14)"}},

		{"experiment attr prefix", Experiments, "attr.name = 'x'", []string{"Invalid entity type 'attr'. Valid entity types are ('attribute', 'tag', 'tags')"}},
		{"experiment metric", Experiments, "metrics.a > 1", []string{"Invalid entity type 'metrics'"}},
		{"experiment bad key", Experiments, "experiment_id = '1'", []string{"Invalid attribute key 'experiment_id' specified. Valid keys are 'name', 'creation_time', 'last_update_time'"}},
		{"experiment name in", Experiments, "name IN ('a')", []string{"Invalid comparator for string attribute: IN; valid comparators are =, !=, LIKE, ILIKE"}},
		{"experiment numeric like", Experiments, "creation_time LIKE '1'", []string{"Invalid comparator for numeric attribute: LIKE"}},
		{"experiment tag in", Experiments, "tags.a IN ('x')", []string{"Invalid comparator for tag: IN"}},
		{"registered model bad key", RegisteredModels, "source_path = 'x'", []string{"Invalid attribute key 'source_path' specified. Valid keys are 'name'"}},
		{"registered model comparator", RegisteredModels, "name > 'fraud'", []string{"Invalid comparator for attribute: >; valid comparators are =, !=, LIKE, ILIKE"}},
		{"registered model tag in", RegisteredModels, "tags.team IN ('risk', 'platform')", []string{"Invalid comparator for tag: IN"}},
		{"registered model tag is null", RegisteredModels, "tags.team IS NULL", []string{"Invalid comparator for tag: IS NULL"}},
		{"model version name in", ModelVersions, "name IN ('fraud', 'credit')", []string{"Only the 'run_id' attribute supports comparison with a list of quoted string values."}},
		{"model version not in", ModelVersions, "run_id NOT IN ('a')", []string{"Invalid comparator for attribute: NOT IN"}},
		{"model version number like", ModelVersions, "version_number LIKE '2'", []string{"Invalid comparator for attribute version_number: LIKE"}},
		{"model version name gt", ModelVersions, "name > 'fraud'", []string{"Invalid comparator for attribute: >"}},
		{"model version tag gt", ModelVersions, "tags.team > 'risk'", []string{"Invalid comparator for tag: >"}},
		{"model version bad key", ModelVersions, "unknown_attribute = 'fraud'", []string{"Invalid attribute key 'unknown_attribute'"}},
		{"model version non-numeric string", ModelVersions, "version_number = 'two'", []string{"Expected numeric value type for numeric attribute: version_number. Found 'two'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.target, tt.in)
			if err == nil {
				t.Fatalf("ParseFilter(%v, %q) = %#v, want an error", tt.target, tt.in, f)
			}
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("error code %q, want %q", hangar.ErrorCode(err), hangar.EINVALID)
			}
			msg := hangar.ErrorMessage(err)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q\nwant it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestParseFilterLimits(t *testing.T) {
	long := "params.a = '" + strings.Repeat("x", MaxFilterLength) + "'"
	clauses := strings.Repeat("metrics.a > 1 AND ", MaxClauses) + "metrics.a > 1"
	items := make([]string, MaxListLength+1)
	for i := range items {
		items[i] = "'x'"
	}
	list := "attributes.run_id IN (" + strings.Join(items, ",") + ")"
	tests := []struct {
		name, in, want string
	}{
		{"length", long, "the limit is 65536"},
		{"clauses", clauses, "at most 100 clauses"},
		{"list", list, "at most 2000 values"},
		{"utf-8", "params.a = '\xff'", "byte 12 is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRunFilter(tt.in)
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(hangar.ErrorMessage(err), tt.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
	// One below each limit parses.
	ok := []string{
		"params.a = '" + strings.Repeat("x", MaxFilterLength-len("params.a = ''")) + "'",
		strings.Repeat("metrics.a > 1 AND ", MaxClauses-1) + "metrics.a > 1",
		"attributes.run_id IN (" + strings.Join(items[:MaxListLength], ",") + ")",
	}
	for i, in := range ok {
		if _, err := ParseRunFilter(in); err != nil {
			t.Errorf("at the limit %d: %v", i, err)
		}
	}
	// Messages quote at most 200 characters of a long filter.
	_, err := ParseRunFilter(strings.Repeat("x", 300) + " >>> 1")
	if msg := hangar.ErrorMessage(err); !strings.Contains(msg, strings.Repeat("x", 200)+"…\"") || strings.Contains(msg, strings.Repeat("x", 201)) {
		t.Errorf("message %q does not quote the first 200 characters", msg)
	}
}

func TestParseFilterUnknownTarget(t *testing.T) {
	if _, err := ParseFilter(Target(0), "a = 'b'"); !hangar.IsCode(err, hangar.EINVALID) {
		t.Errorf("got %v, want EINVALID", err)
	}
}
