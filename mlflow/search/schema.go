package search

import "strings"

// Target is what a filter or an order_by searches. Each target has its own
// vocabulary of entity prefixes, attribute keys and comparators.
type Target int

// The four searchable targets of the MLflow REST API.
const (
	Runs             Target = iota + 1 // runs/search
	Experiments                        // experiments/search
	RegisteredModels                   // registered-models/search
	ModelVersions                      // model-versions/search
	LoggedModels                       // logged-models/search (MLflow 3.x): filters only, see ParseLoggedModelFilter
)

// String returns the target's name as the API routes spell it.
func (t Target) String() string {
	switch t {
	case Runs:
		return "runs"
	case Experiments:
		return "experiments"
	case RegisteredModels:
		return "registered-models"
	case ModelVersions:
		return "model-versions"
	case LoggedModels:
		return "logged-models"
	}
	return "unknown"
}

// Kind is the part of a record a clause or an order key reads.
type Kind int

// The kinds of key. Runs have all five; experiments, registered models and
// model versions have attributes and tags only.
const (
	Attribute Kind = iota + 1 // a column of the entity: run_id, start_time, name, …
	Metric                    // a run's latest metric value
	Param                     // a run parameter
	Tag                       // a tag of the entity
	Dataset                   // a dataset input of a run: name, digest or context
)

// String returns the kind's canonical entity prefix, as Filter.String writes it.
func (k Kind) String() string {
	switch k {
	case Attribute:
		return "attributes"
	case Metric:
		return "metrics"
	case Param:
		return "params"
	case Tag:
		return "tags"
	case Dataset:
		return "datasets"
	}
	return "unknown"
}

// Op is a comparator.
type Op int

// The comparators of MLflow's filter grammar.
const (
	Eq        Op = iota + 1 // =
	Ne                      // !=
	Lt                      // <
	Le                      // <=
	Gt                      // >
	Ge                      // >=
	Like                    // LIKE: % any run of characters, _ one character; case-sensitive
	ILike                   // ILIKE: LIKE with ASCII letters folded
	In                      // IN ('a', 'b')
	NotIn                   // NOT IN ('a', 'b')
	IsNull                  // IS NULL: the key is absent (params and tags; MLflow 3.x)
	IsNotNull               // IS NOT NULL: the key is present (params and tags; MLflow 3.x)
)

// String returns the comparator as the grammar spells it, upper-case.
func (o Op) String() string {
	switch o {
	case Eq:
		return "="
	case Ne:
		return "!="
	case Lt:
		return "<"
	case Le:
		return "<="
	case Gt:
		return ">"
	case Ge:
		return ">="
	case Like:
		return "LIKE"
	case ILike:
		return "ILIKE"
	case In:
		return "IN"
	case NotIn:
		return "NOT IN"
	case IsNull:
		return "IS NULL"
	case IsNotNull:
		return "IS NOT NULL"
	}
	return "?"
}

// opSet is a set of comparators, one bit each.
type opSet uint16

func (s opSet) has(o Op) bool { return o > 0 && o < 16 && s&(1<<o) != 0 }

// String lists the set in the order of the Op constants: "=, !=, <".
func (s opSet) String() string {
	var b strings.Builder
	for o := Eq; o <= IsNotNull; o++ {
		if s.has(o) {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(o.String())
		}
	}
	return b.String()
}

const (
	numericOps = opSet(1<<Eq | 1<<Ne | 1<<Lt | 1<<Le | 1<<Gt | 1<<Ge)
	stringOps  = opSet(1<<Eq | 1<<Ne | 1<<Like | 1<<ILike)
	nullOps    = opSet(1<<IsNull | 1<<IsNotNull)
	listOps    = opSet(1<<In | 1<<NotIn)
)

// entityKind maps an entity prefix (the part before the first dot) to its
// kind. The names are case-sensitive, as in MLflow.
func entityKind(t Target, name string) (Kind, bool) {
	if t == LoggedModels {
		return loggedModelEntityKind(name)
	}
	if t == Runs {
		switch name {
		case "metric", "metrics":
			return Metric, true
		case "parameter", "parameters", "param", "params":
			return Param, true
		case "tag", "tags":
			return Tag, true
		case "attribute", "attributes", "attr", "run":
			return Attribute, true
		case "dataset", "datasets":
			return Dataset, true
		}
		return 0, false
	}
	switch name {
	// MLflow's parser takes attribute, tag and tags here; its documentation
	// (3.x, search-experiments) writes attributes.name, so that is taken too.
	case "attribute", "attributes":
		return Attribute, true
	case "tag", "tags":
		return Tag, true
	}
	return 0, false
}

// entityError is MLflow's message for an unknown entity prefix.
func entityError(t Target, name string) string {
	if t == LoggedModels {
		return "Invalid entity type: '" + name + "'. Expected one of ['attributes', 'metrics', 'params', 'tags']."
	}
	if t == Runs {
		return "Invalid entity type '" + name + "'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
	}
	return "Invalid entity type '" + name + "'. Valid entity types are ('attribute', 'tag', 'tags')"
}

// attr is an attribute key after alias resolution.
type attr struct {
	key     string // canonical key, as Record.StringAttribute/NumericAttribute receive it
	numeric bool
}

// filterAttribute resolves an attribute key of a filter.
func filterAttribute(t Target, key string) (attr, bool) {
	switch t {
	case LoggedModels:
		return loggedModelAttribute(key)
	case Runs:
		switch key {
		case "run_id", "run_name", "status", "user_id", "artifact_uri":
			return attr{key, false}, true
		case "run name", "Run name", "Run Name":
			return attr{"run_name", false}, true
		case "start_time", "end_time":
			return attr{key, true}, true
		case "created", "Created":
			return attr{"start_time", true}, true
		}
	case Experiments:
		switch key {
		case "name":
			return attr{key, false}, true
		case "creation_time", "last_update_time":
			return attr{key, true}, true
		}
	case RegisteredModels:
		if key == "name" {
			return attr{key, false}, true
		}
	case ModelVersions:
		switch key {
		case "name", "run_id", "source_path":
			return attr{key, false}, true
		case "version_number":
			return attr{key, true}, true
		}
	}
	return attr{}, false
}

// filterAttributeKeys lists the valid filter attribute keys, for messages.
func filterAttributeKeys(t Target) string {
	switch t {
	case Runs:
		return "'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id', 'created', 'Created', 'run name', 'Run name', 'Run Name'"
	case Experiments:
		return "'name', 'creation_time', 'last_update_time'"
	case RegisteredModels:
		return "'name'"
	case ModelVersions:
		return "'name', 'version_number', 'run_id', 'source_path'"
	case LoggedModels:
		return loggedModelAttributeKeys
	}
	return ""
}

// orderAttribute resolves an attribute key of an order_by item.
func orderAttribute(t Target, key string) (attr, bool) {
	switch t {
	case Runs:
		switch key {
		case "run_id", "run_name", "status", "user_id", "artifact_uri":
			return attr{key, false}, true
		case "start_time", "end_time":
			return attr{key, true}, true
		case "created", "Created":
			return attr{"start_time", true}, true
		}
	case Experiments:
		switch key {
		case "name":
			return attr{key, false}, true
		// experiment_id is an integer column in MLflow's SQL store, so it
		// sorts as a number ("10" after "9").
		case "experiment_id", "creation_time", "last_update_time":
			return attr{key, true}, true
		}
	case RegisteredModels:
		switch key {
		case "name":
			return attr{key, false}, true
		// MLflow's SQL store sorts both on last_updated_time and refuses
		// creation_timestamp (sqlalchemy_store.py, 2.x and 3.x).
		case "timestamp", "last_updated_timestamp":
			return attr{"last_updated_timestamp", true}, true
		}
	case ModelVersions:
		switch key {
		case "name":
			return attr{key, false}, true
		case "version_number", "creation_timestamp", "last_updated_timestamp":
			return attr{key, true}, true
		}
	}
	return attr{}, false
}

// orderAttributeKeys lists the valid order_by attribute keys, for messages.
func orderAttributeKeys(t Target) string {
	switch t {
	case Runs:
		return "'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id', 'created', 'Created'"
	case Experiments:
		return "'name', 'experiment_id', 'creation_time', 'last_update_time'"
	case RegisteredModels:
		return "'name', 'timestamp', 'last_updated_timestamp'"
	case ModelVersions:
		return "'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'"
	}
	return ""
}

// datasetKey reports whether key is a dataset key of run filters.
func datasetKey(key string) bool {
	return key == "name" || key == "digest" || key == "context"
}

// allowedOps is the comparator set of a key, before the list rule (IN and
// NOT IN only on run_id) which comparatorError applies.
func allowedOps(t Target, k Kind, a attr) opSet {
	switch t {
	case LoggedModels:
		if k == Metric || a.numeric {
			return numericOps
		}
		return stringOps
	case Runs:
		switch k {
		case Metric:
			return numericOps
		case Param, Tag:
			return stringOps | nullOps
		case Dataset:
			return stringOps | listOps
		case Attribute:
			if a.numeric {
				return numericOps
			}
			return stringOps | listOps
		}
	case Experiments:
		switch {
		case k == Tag:
			return stringOps | nullOps
		case a.numeric:
			return numericOps
		default:
			return stringOps
		}
	case RegisteredModels:
		return stringOps
	case ModelVersions:
		switch {
		case k == Tag:
			return stringOps
		case a.numeric:
			return numericOps
		default:
			return stringOps | opSet(1<<In)
		}
	}
	return 0
}

// comparatorError returns MLflow's message for a comparator the key does not
// take, or "" when it takes it. text is the comparator as written.
func comparatorError(t Target, k Kind, a attr, op Op, text string) string {
	allowed := allowedOps(t, k, a)
	if t == LoggedModels {
		if allowed.has(op) {
			return ""
		}
		return "Invalid comparison operator '" + text + "'; valid comparators are " + allowed.String()
	}
	listOnly := (op == In || op == NotIn) && k == Attribute && !a.numeric
	if allowed.has(op) {
		if listOnly && a.key != "run_id" && (t == Runs || t == ModelVersions) {
			return "Only the 'run_id' attribute supports comparison with a list of quoted string values."
		}
		return ""
	}
	switch t {
	case Experiments:
		switch {
		case k == Tag:
			return "Invalid comparator for tag: " + text + "; valid comparators are " + allowed.String()
		case a.numeric:
			return "Invalid comparator for numeric attribute: " + text + "; valid comparators are " + allowed.String()
		default:
			return "Invalid comparator for string attribute: " + text + "; valid comparators are " + allowed.String()
		}
	case RegisteredModels, ModelVersions:
		switch {
		case k == Tag:
			return "Invalid comparator for tag: " + text + "; valid comparators are " + allowed.String()
		case a.numeric:
			return "Invalid comparator for attribute " + a.key + ": " + text + "; valid comparators are " + allowed.String()
		default:
			return "Invalid comparator for attribute: " + text + "; valid comparators are " + allowed.String()
		}
	}
	return "Invalid comparator '" + text + "' not one of " + allowed.String()
}
