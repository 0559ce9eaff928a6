module github.com/hangar-ml/hangar

go 1.26.8
