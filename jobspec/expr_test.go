package jobspec

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in   string
		want Template
		err  string
	}{
		{"echo hi", Template{{Text: "echo hi"}}, ""},
		{"run ${{inputs.x}}/a", Template{{Text: "run "}, {Expr: Expr{"inputs", "x"}}, {Text: "/a"}}, ""},
		{"${{ parent.jobs.prep.outputs.train_data }}", Template{{Expr: Expr{"parent", "jobs", "prep", "outputs", "train_data"}}}, ""},
		{"a $[[--lr ${{inputs.lr}}]] b", Template{{Text: "a "}, {Optional: []Segment{{Text: "--lr "}, {Expr: Expr{"inputs", "lr"}}}}, {Text: " b"}}, ""},
		{"if [[ -f x ]]; then echo; fi", Template{{Text: "if [[ -f x ]]; then echo; fi"}}, ""},
		{"a ${{inputs.x", nil, "unclosed ${{ at offset 2"},
		{"a ${{inputs.x $[[ ${{inputs.y}}", nil, "unclosed ${{ at offset 2"},
		{"${{inputs..x}}", nil, "bad expression ${{inputs..x}}: want dotted names like ${{inputs.learning_rate}}"},
		{"${{inputs.x y}}", nil, "bad expression ${{inputs.x y}}: want dotted names like ${{inputs.learning_rate}}"},
		{"${{}}", nil, "bad expression ${{}}: want dotted names like ${{inputs.learning_rate}}"},
		{"$[[ $[[ ${{inputs.x}} ]] ]]", nil, "$[[ inside $[[…]] at offset 4: optional blocks do not nest"},
		{"$[[--flag]]", nil, "optional block $[[…]] without an ${{inputs.…}} expression at offset 9"},
		{"$[[--x ${{inputs.x}}", nil, "unclosed $[[ optional block"},
	}
	for _, tt := range tests {
		got, err := ParseTemplate(tt.in)
		if msg := hangar.ErrorMessage(err); msg != tt.err {
			t.Errorf("ParseTemplate(%q) error %q, want %q", tt.in, msg, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseTemplate(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestRender(t *testing.T) {
	inputs := map[string]string{"data": "/w/in/data", "lr": "0.1", "name": "my model", "q": `it's "x" $HOME`, "empty": ""}
	outputs := map[string]string{"model": "/w/out/model"}
	tests := []struct {
		tmpl, want, err string
	}{
		{"python t.py --data ${{inputs.data}} --lr ${{inputs.lr}} --out ${{outputs.model}}",
			"python t.py --data /w/in/data --lr 0.1 --out /w/out/model", ""},
		{"t $[[--lr ${{inputs.lr}}]] $[[--seed ${{inputs.seed}}]] end", "t --lr 0.1  end", ""},
		{"echo ${{inputs.name}}", "echo 'my model'", ""},
		{`echo "name: ${{inputs.name}}"`, `echo "name: my model"`, ""},
		{`echo "${{inputs.q}}"`, `echo "it's \"x\" \$HOME"`, ""},
		{`echo '${{inputs.q}}'`, `echo 'it'\''s "x" $HOME'`, ""},
		{`echo ${{inputs.q}}`, `echo 'it'\''s "x" $HOME'`, ""},
		{`echo $'${{inputs.q}}'`, `echo $'it\'s "x" $HOME'`, ""},
		{`echo --name=${{inputs.name}}/x`, `echo --name='my model'/x`, ""},
		{`echo a\${{inputs.name}}`, `echo a\\'my model'`, ""},
		{`echo "a\${{inputs.q}}"`, `echo "a\\it's \"x\" \$HOME"`, ""},
		{`echo x ${{inputs.empty}} y`, `echo x '' y`, ""},
		{`echo \"${{inputs.name}}`, `echo \"'my model'`, ""},
		{`echo $${{inputs.q}}`, `echo $'''it'\''s "x" $HOME'`, ""},
		{`echo $${{inputs.lr}}`, `echo $0.1`, ""},
		{"echo ${{inputs.seed}}", "", "${{inputs.seed}} has no value: give the input, or wrap its use in $[[…]] if it is optional"},
		{"echo ${{outputs.report}}", "", "${{outputs.report}}: no such output"},
		{"echo ${{search_space.lr}}", "", "${{search_space.lr}} cannot be used in a command: only ${{inputs.<name>}} and ${{outputs.<name>}}"},
		{"cat <<EOF\n${{inputs.name}}\nEOF", "", "${{inputs.name}} comes after a here-document (<<), where a value cannot be quoted safely; pass it as an argument or through an environment variable"},
		{"cat <<< ${{inputs.name}}", "cat <<< 'my model'", ""},
	}
	for _, tt := range tests {
		tmpl, err := ParseTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("ParseTemplate(%q): %v", tt.tmpl, err)
		}
		got, err := tmpl.Render(inputs, outputs)
		if msg := hangar.ErrorMessage(err); msg != tt.err {
			t.Errorf("Render(%q) error %q, want %q", tt.tmpl, msg, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("Render(%q)\n got %s\nwant %s", tt.tmpl, got, tt.want)
		}
	}
}

// TestRenderShell runs rendered commands in a real shell: whatever a value
// holds and wherever it lands, the program receives it unchanged.
func TestRenderShell(t *testing.T) {
	values := []string{
		"/plain/path", "with space", "it's", `say "hi"`, "$HOME", "`id`", "$(id)", "a;b", "a&&b", "x\ny",
		`back\slash`, "trailing\\", "*", "~", "", "-n", "tab\there", "ünïcode", "'", `"`, "$'x'", "!bang",
	}
	templates := map[string]string{
		"bare":        `printf '%s|' ${{inputs.v}}`,
		"double":      `printf '%s|' "${{inputs.v}}"`,
		"single":      `printf '%s|' '<${{inputs.v}}>'`,
		"glued":       `printf '%s|' --v=${{inputs.v}}/x`,
		"after \\":    `printf '%s|' a\${{inputs.v}}`,
		"optional":    `printf '%s|' $[[--v ${{inputs.v}}]]`,
		"double mix":  `printf '%s|' "pre ${{inputs.v}} post" ${{inputs.v}}`,
		"ansi (bash)": `printf '%s|' $'<${{inputs.v}}>'`,
		// After a bare $ a value that needs quoting must stay data, not
		// join the $ into $'…' (plain values expand as variables, as on
		// Azure, and are skipped).
		"after $ (bash)": `printf '%s|' $${{inputs.v}}`,
		"after $ in \"":  `printf '%s|' "$${{inputs.v}}"`,
		"comment":        "# it's ${{inputs.v}}\nprintf '%s|' ${{inputs.v}} #${{inputs.v}}",
		"backquotes":     "printf '%s|' \"`printf '%s' ${{inputs.v}}`\" \"`printf '%s' \"${{inputs.v}}\"`\"",
		"$(…) in \"":     `printf '%s|' "$(printf '%s' ${{inputs.v}})" "$(printf '%s' "$(printf '%s' '${{inputs.v}}')")"`,
	}
	want := map[string]func(v string) string{
		"bare":           func(v string) string { return v + "|" },
		"double":         func(v string) string { return v + "|" },
		"single":         func(v string) string { return "<" + v + ">|" },
		"glued":          func(v string) string { return "--v=" + v + "/x|" },
		"after \\":       func(v string) string { return `a\` + v + "|" },
		"optional":       func(v string) string { return "--v|" + v + "|" },
		"double mix":     func(v string) string { return "pre " + v + " post|" + v + "|" },
		"ansi (bash)":    func(v string) string { return "<" + v + ">|" },
		"after $ (bash)": func(v string) string { return v + "|" },
		"after $ in \"":  func(v string) string { return "$" + v + "|" },
		"comment":        func(v string) string { return v + "|" },
		"backquotes":     func(v string) string { return strings.TrimRight(v, "\n") + "|" + strings.TrimRight(v, "\n") + "|" },
		"$(…) in \"":     func(v string) string { return strings.TrimRight(v, "\n") + "|" + strings.TrimRight(v, "\n") + "|" },
	}
	for name, src := range templates {
		shell := "sh"
		if strings.Contains(name, "bash") {
			shell = "bash"
		}
		path, err := exec.LookPath(shell)
		if err != nil {
			t.Logf("%s: no %s on PATH", name, shell)
			continue
		}
		tmpl, err := ParseTemplate(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if name == "after $ (bash)" && Quote(v) == v || name == `after $ in "` && v != "" && isNameByte(v[0]) {
				continue // a plain value after $ expands as a variable, as on Azure
			}
			cmd, err := tmpl.Render(map[string]string{"v": v}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(t.Context(), path, "-c", cmd).Output()
			if err != nil {
				t.Errorf("%s: %q: %s -c %s: %v", name, v, shell, cmd, err)
				continue
			}
			if got := string(out); got != want[name](v) {
				t.Errorf("%s: value %q: %s printed %q, want %q (command %s)", name, v, shell, got, want[name](v), cmd)
			}
		}
	}
}

func TestRenderValue(t *testing.T) {
	for _, tt := range []struct {
		t       Type
		in, out string
	}{
		{Boolean, "true", "True"}, {Boolean, "False", "False"}, {Integer, "20", "20"}, {Number, "1e-3", "1e-3"}, {String, "true", "true"},
	} {
		if got := RenderValue(tt.t, tt.in); got != tt.out {
			t.Errorf("RenderValue(%s, %q) = %q, want %q", tt.t, tt.in, got, tt.out)
		}
	}
}
