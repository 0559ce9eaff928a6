package search

// MLflow 3.x's logged models (logged-models/search). Their filter is parsed
// in MLflow by mlflow/utils/search_logged_model_utils.py (parse_filter_string),
// a smaller grammar than the runs one; it is taken here with the shared
// parser, so quoting, positions and limits are those of every other target:
//
//	entities:   attributes, metrics, params, tags (exactly so, lower case)
//	attributes: name, model_id, model_type, source_run_id, status,
//	            status_message, artifact_location: = != LIKE ILIKE;
//	            creation_timestamp_ms (aliases creation_time,
//	            creation_timestamp), last_updated_timestamp_ms (alias
//	            last_updated_timestamp): = != < <= > >= against a number
//	metrics.<key>: = != < <= > >= against a number
//	params.<key>, tags.<key>: = != LIKE ILIKE against a quoted string
//
// MLflow takes any column of its logged_models table as an attribute; the
// list above is those columns minus experiment_id (an integer column that
// its parser compares as a string) and lifecycle_stage (deleted models are
// never searched). status compares the enum name the API returns
// ("LOGGED_MODEL_READY"), where MLflow compares its integer column with the
// text and so matches nothing. There is no IN, NOT IN or IS NULL, as in
// MLflow. The order of a logged-models search is a list of objects
// (field_name, ascending), not order_by strings: the store reads it.

// loggedModelAttributeKeys lists the filter attributes of logged models,
// for messages.
const loggedModelAttributeKeys = "'name', 'model_id', 'model_type', 'source_run_id', 'status', 'status_message', 'artifact_location', 'creation_timestamp_ms', 'creation_time', 'creation_timestamp', 'last_updated_timestamp_ms', 'last_updated_timestamp'"

// ParseLoggedModelFilter parses the filter of logged-models/search (MLflow
// 3.x). An empty or blank filter matches every model.
func ParseLoggedModelFilter(s string) (Filter, error) { return parseFilter(LoggedModels, s) }

// loggedModelEntityKind maps an entity prefix of a logged-model filter to
// its kind: MLflow's EntityType values, case-sensitive.
func loggedModelEntityKind(name string) (Kind, bool) {
	switch name {
	case "attributes":
		return Attribute, true
	case "metrics":
		return Metric, true
	case "params":
		return Param, true
	case "tags":
		return Tag, true
	}
	return 0, false
}

// loggedModelAttribute resolves an attribute of a logged-model filter, with
// MLflow's aliases (SqlLoggedModel.ALIASES).
func loggedModelAttribute(key string) (attr, bool) {
	switch key {
	case "name", "model_id", "model_type", "source_run_id", "status", "status_message", "artifact_location":
		return attr{key, false}, true
	case "creation_timestamp_ms", "creation_time", "creation_timestamp":
		return attr{"creation_timestamp_ms", true}, true
	case "last_updated_timestamp_ms", "last_updated_timestamp":
		return attr{"last_updated_timestamp_ms", true}, true
	}
	return attr{}, false
}
