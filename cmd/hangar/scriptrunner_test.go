package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/pyworker"
	"github.com/hangar-ml/hangar/serving"
)

// TestScriptRunnerErrors runs every pyworker error through the adapter and a
// real gateway: the status and code the caller sees come from serving's one
// table.
func TestScriptRunnerErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"script raised", &pyworker.Error{Code: pyworker.CodeScript, Message: "ValueError: bad row", Traceback: "Traceback ...\nValueError: bad row"}, 500, pyworker.CodeScript, "ValueError: bad row"},
		{"bad request", &pyworker.Error{Code: pyworker.CodeBadRequest, Message: "want dataframe_split"}, 400, hangar.EINVALID, "want dataframe_split"},
		{"timeout", &pyworker.Error{Code: pyworker.CodeTimeout, Message: "did not answer within 1s"}, 408, serving.ETIMEOUT, "did not answer within 1s"},
		{"worker crashed", fmt.Errorf("score: %w", &pyworker.Error{Code: pyworker.CodeCrashed, Message: "ended during the request (signal: killed)"}), 500, pyworker.CodeCrashed, "signal: killed"},
		{"response too large", &pyworker.Error{Code: pyworker.CodeTooLarge, Message: "the response is over 16 bytes"}, 424, serving.EMODEL, "over 16 bytes"},
		{"unavailable", &pyworker.Error{Code: pyworker.CodeUnavailable, Message: "stopped"}, 503, hangar.EUNAVAILABLE, "stopped"},
		{"unknown code", &pyworker.Error{Code: "new_code", Message: "secret detail"}, 424, serving.EMODEL, "the scoring script failed"},
		{"not a pyworker error", errors.New("secret detail"), 424, serving.EMODEL, "the scoring script failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := serving.NewGateway()
			g.Logger = slog.New(slog.DiscardHandler)
			if err := g.Open(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			ep := serving.EndpointConfig{Name: "ep", Keys: []string{"k"}}
			if err := g.SetEndpoint(ep); err != nil {
				t.Fatal(err)
			}
			run := serving.ScriptFunc(func(context.Context, []byte) ([]byte, error) { return nil, dataPlaneError(tt.err) })
			if _, err := g.Deploy(t.Context(), serving.DeploymentSpec{Endpoint: "ep", Name: "py", Script: run, RequestTimeout: 5 * time.Second}); err != nil {
				t.Fatal(err)
			}
			ep.Traffic = map[string]int{"py": 100}
			if err := g.SetEndpoint(ep); err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/endpoints/ep/score", strings.NewReader(`{"data": [[1]]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer k")
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
			b, _ := io.ReadAll(w.Result().Body)
			if w.Code != tt.wantStatus || !strings.Contains(string(b), `"code":"`+tt.wantCode+`"`) || !strings.Contains(string(b), tt.wantMsg) {
				t.Errorf("got %d %s, want %d with code %s and %q", w.Code, b, tt.wantStatus, tt.wantCode, tt.wantMsg)
			}
			if strings.Contains(string(b), "Traceback") || tt.wantStatus == 424 && strings.Contains(string(b), "secret detail") {
				t.Errorf("got %s, want no traceback or internal detail sent", b)
			}
		})
	}
	t.Run("context error passes through", func(t *testing.T) {
		err := dataPlaneError(context.DeadlineExceeded)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
	})
}
