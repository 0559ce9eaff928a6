package hangar

import "strings"

// Objectives of the built-in trainers, named as XGBoost names them. The
// trainers (gbdt, linear), the model folder and the scorer all use these
// names, so a model's objective means the same thing everywhere.
const (
	ObjectiveRegSquaredError = "reg:squarederror" // regression on squared error
	ObjectiveBinaryLogistic  = "binary:logistic"  // two classes; predicts the probability of the second
	ObjectiveMultiSoftmax    = "multi:softmax"    // K classes; Hangar predicts their probabilities, as for softprob
	ObjectiveMultiSoftprob   = "multi:softprob"   // K classes; predicts their probabilities
)

// IsClassification reports whether a model with the objective predicts
// classes: binary:logistic or any multi:* objective (including LightGBM's
// one-vs-rest, which the tree runtime names multi:ova).
func IsClassification(objective string) bool {
	return objective == ObjectiveBinaryLogistic || IsMulticlass(objective)
}

// IsMulticlass reports whether the objective predicts one probability per
// class: any multi:* objective.
func IsMulticlass(objective string) bool {
	return strings.HasPrefix(objective, "multi:")
}
