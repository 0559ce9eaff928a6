package jobspec

import "github.com/hangar-ml/hangar"

// ComponentFromSpec TEMPORARY stub: the assets branch provides the real one.
func ComponentFromSpec(name, version string, spec []byte) (*Component, error) {
	return nil, hangar.Errorf(hangar.EINVALID, "not yet")
}
