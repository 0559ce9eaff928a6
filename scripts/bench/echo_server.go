//go:build ignore

// Peer for online-serving benchmarks: the transport limit — Go net/http that decodes the
// same JSON body and answers a fixed prediction, doing no model work at all.
package main

import (
	"encoding/json"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("POST /score", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Data [][]float64 `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := make([]float64, len(body.Data))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	http.ListenAndServe(os.Args[1], nil)
}
