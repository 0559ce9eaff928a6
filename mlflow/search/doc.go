// Package search parses MLflow's search filters and order_by lists for runs,
// experiments, registered models and model versions, and evaluates them in
// memory as the reference the SQL store is tested against. MLflow 3.x's
// logged models have a filter here too (loggedmodel.go); their order is
// not an order_by list.
//
// It follows MLflow 2.10.2 (mlflow/utils/search_utils.py and the SQLAlchemy
// tracking and registry stores), plus these MLflow 3.x additions: IS NULL and
// IS NOT NULL on run params and tags (PR #21283) and on experiment tags (PR
// #21148); the model-version filter key version_number and the 3.x default
// model-version order. Where MLflow answers a bad filter with a 500 (an
// exception without an error code) or behaves differently on SQLite and
// PostgreSQL, the choice made here is written below.
//
// # Grammar
//
//	filter     = [ clause { "AND" clause } ]            (AND in any case; no OR, NOT or parentheses)
//	clause     = identifier comparator [ operand ]
//	identifier = [ entity "." ] key                     (without an entity: an attribute)
//	entity     = word | "`" word "`"                   (case-sensitive, see below)
//	key        = word { "." word } | "`" text "`" | '"' text '"' | "'" text "'"
//	comparator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE"
//	           | "IN" | "NOT IN" | "IS NULL" | "IS NOT NULL"     (words in any case)
//	operand    = string | number | "(" string { "," string } ")"  (lists for IN and NOT IN)
//	string     = "'" text "'" | '"' text '"'            (lists: single quotes only)
//	number     = [ "-" ] ( digits [ "." digits ] | "." digits ) [ ( "e" | "E" ) [ "+" | "-" ] digits ]
//	order item = identifier [ "ASC" | "DESC" ]           (ASC by default; either in any case)
//
// A word is letters, digits and '_'; a key with any other character (a dash,
// a space, a slash) must be quoted, e.g. metrics.`f1-score`. MLflow has no
// escape inside quotes: a string or quoted key ends at the next quote of its
// kind, so a value holding ' is written in double quotes. (sqlparse, which
// MLflow uses, treats a doubled quote and a backslash-quote inside a string
// specially and keeps them in the value; here a doubled quote is refused and
// a backslash is an ordinary character.)
// A number must be finite; "1e+5" is taken although sqlparse does not read it.
//
// # Vocabulary
//
// Runs (entity prefixes metric|metrics, parameter|parameters|param|params,
// tag|tags, attribute|attributes|attr|run, dataset|datasets):
//
//	metrics.<key>          = != < <= > >=  against a number
//	params.<key>, tags.<key> = != LIKE ILIKE against a string; IS NULL, IS NOT NULL (3.x)
//	attributes: run_id, run_name (alias "run name", "Run name", "Run Name"), status,
//	            user_id, artifact_uri: = != LIKE ILIKE, and IN / NOT IN on run_id only;
//	            start_time (alias created, Created), end_time: = != < <= > >= against a number
//	datasets.name|digest|context: = != LIKE ILIKE IN NOT IN
//
// There is no experiment_id or lifecycle_stage attribute: MLflow has none
// (the experiment and the view type are request fields).
//
// Experiments (entity attribute|attributes, tag|tags): name = != LIKE ILIKE;
// creation_time, last_update_time = != < <= > >=; tags = != LIKE ILIKE
// IS NULL IS NOT NULL. MLflow's parser refuses the prefix "attributes." here
// although its documentation uses it; it is taken.
//
// Registered models and model versions take the same prefixes as
// experiments. Registered models: name = != LIKE ILIKE; tags = != LIKE ILIKE.
//
// Model versions: name, source_path = != LIKE ILIKE; run_id also IN (not
// NOT IN); version_number = != < <= > >= against a number (a quoted number
// is taken, as MLflow's database compares it as one); tags = != LIKE ILIKE.
//
// Comparators are case-insensitive everywhere (MLflow upper-cases them for
// runs and the registry, not for experiments, where "like" is a 500).
//
// # Semantics (Match and Compare)
//
//   - Every clause must hold (AND). A key the record lacks satisfies no
//     comparator, not even != or NOT IN, as SQL's inner joins and NULLs give
//     in MLflow 2.10; IS NULL is true exactly when the param or tag is absent,
//     IS NOT NULL when present (3.x EXISTS / NOT EXISTS).
//   - = and != compare exactly, case included (MLflow PR #6900).
//   - LIKE: % is any run of characters (none too), _ exactly one character,
//     anything else itself, over the whole value; case-sensitive (MLflow
//     PR #2708 made SQLite so). There is no escape character: SQLite's
//     behaviour is kept, so on PostgreSQL, whose LIKE escapes with a
//     backslash by default (and MLflow on PostgreSQL with it), the store must
//     give an empty ESCAPE.
//   - ILIKE is LIKE with ASCII letters folded, as MLflow's ILIKE on SQLite
//     (lower() folds ASCII only); MLflow on PostgreSQL folds by locale.
//     Other letters must match exactly.
//   - Metrics compare the latest value (MLflow's latest_metrics). A NaN
//     metric satisfies no comparison; ±Inf compare as numbers. (MLflow keeps
//     NaN as 0 with an is_nan flag, so its "= 0" matches NaN; not kept.)
//   - Numeric attributes are integers (milliseconds, version numbers) and
//     compare exactly with the operand, fractional operands included.
//   - attributes.run_name is the run's name (MLflow compares the
//     mlflow.runName tag, which it keeps equal to the name).
//   - datasets.*: some dataset input of the run satisfies the clause; each
//     clause is checked on its own, so two clauses may be met by different
//     inputs. context is the input's mlflow.data.context tag; an input
//     without it satisfies no context clause.
//   - IN lists keep every value. (MLflow drops values that are not all
//     lower case, a MySQL workaround; for run ids, which are lower-case hex,
//     that changes nothing, and for dataset names it silently broke IN.)
//   - Ordering: the caller's keys, then MLflow's default order (when the
//     caller gave none) and tie-breakers: runs start_time DESC, run_id ASC;
//     experiments creation_time DESC, experiment_id ASC by default, else
//     experiment_id DESC after the caller's keys; registered models name ASC;
//     model versions last_updated_timestamp DESC, name ASC, version_number
//     DESC by default (3.x), else name ASC, version_number DESC.
//   - For each key, records with a value come first in both directions, then
//     NaN metrics, then records lacking the key (MLflow 2.10's SQL store; its
//     in-memory sort puts None last too). This holds for every target, though
//     MLflow's registry and experiment SQL leave NULL placement to the
//     database. Strings compare byte by byte (PostgreSQL must use COLLATE
//     "C"); experiment_id sorts as a number.
//   - Registered models: order keys name, timestamp and last_updated_timestamp,
//     both of the latter sorting by the last update (MLflow's SQL store, which
//     refuses creation_timestamp). Model versions: name, version_number,
//     creation_timestamp, last_updated_timestamp. Experiments: name,
//     experiment_id, creation_time, last_update_time. Runs: metrics., params.,
//     tags. and the run attributes (not run name, not datasets).
//   - A key given twice in one order_by is refused (MLflow: a 500 for runs and
//     the registry; experiments accepted it).
//
// What the store adds on top: the experiments searched, the view type
// (active, deleted), hiding deleted model versions, and (MLflow 3.x) hiding
// prompts from registry searches unless the filter asks for them.
//
// # Errors and limits
//
// Every refused input is a hangar.EINVALID error whose message starts
// `invalid filter "<filter>":` (or `invalid order_by item <n> "<item>":`),
// keeps MLflow's wording where MLflow has a message users know ("Invalid
// comparator …", "Invalid attribute key …", "Invalid clause(s) in filter
// string: 'OR'" …), and ends with the 1-based character position of the
// offending token. Parsing never panics and never recurses; a filter is at
// most MaxFilterLength bytes with at most MaxClauses clauses and
// MaxListLength values per list, and an order_by at most MaxOrderByKeys items.
// Page tokens are the caller's business.
package search
