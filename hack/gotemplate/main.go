// flotilla-gotemplate renders ApplicationSet templates the way Argo CD does when
// `goTemplate: true`: Go's text/template with the Sprig library (without env, expandenv and
// getHostByName, which would tell a template about the controller's machine) and Argo CD's
// extras: normalize, slugify, toYaml, fromYaml, fromYamlArray and tpl.
//
// It reads one JSON request on stdin and writes one JSON answer on stdout:
//
//	{"options": ["missingkey=error"], "strings": ["{{.name}}", ...], "params": [{...}, ...]}
//	{"results": [{"strings": ["a", ...]} | {"error": "..."}, ...]}
//
// one result per parameter set, each string rendered on its own (Argo CD templates each
// string field of the Application template separately). Each template is parsed once.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"github.com/gosimple/slug"
	"sigs.k8s.io/yaml"
)

type request struct {
	Options  []string         `json:"options"`
	Strings  []string         `json:"strings"`
	Params   []map[string]any `json:"params"`
	MaxBytes int              `json:"max_bytes"` // of all rendered strings together; 0: no limit
}

type result struct {
	Strings []string `json:"strings,omitempty"`
	Error   string   `json:"error,omitempty"`
}

var notInName = regexp.MustCompile(`[^-a-z0-9.]`)

// tplLimit bounds what one tpl call may write (the request's limit bounds the rest).
const tplLimit = 1 << 24

var errTooLarge = errors.New("the rendered templates exceed the output limit")

// limited stops a template as soon as it has written more than left bytes, instead of
// after it built its whole output in memory.
type limited struct {
	w    io.Writer
	left int
}

func (l *limited) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, errTooLarge
	}
	l.left -= len(p)
	return l.w.Write(p)
}

// normalize makes a DNS subdomain name of any string: lower case, other characters become
// '-', at most 253 characters, no '-' or '.' at either end.
func normalize(name string) string {
	name = notInName.ReplaceAllString(strings.ToLower(name), "-")
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.Trim(name, "-.")
}

// slugify(input), slugify(maxSize, input) or slugify(maxSize, smartTruncate, input): the
// normalized input made a slug of at most maxSize (default 50) characters, cut at a word
// boundary when smartTruncate (default true).
func slugify(args ...any) (string, error) {
	maxSize, smart := 50, true
	if len(args) == 0 || len(args) > 3 {
		return "", fmt.Errorf("slugify takes 1 to 3 arguments, got %d", len(args))
	}
	input, ok := args[len(args)-1].(string)
	if !ok {
		return "", fmt.Errorf("slugify: the last argument must be a string")
	}
	if len(args) >= 2 {
		size, ok := args[0].(int)
		if !ok {
			return "", fmt.Errorf("slugify: maxSize must be an integer")
		}
		maxSize = size
	}
	if len(args) == 3 {
		flag, ok := args[1].(bool)
		if !ok {
			return "", fmt.Errorf("slugify: smartTruncate must be a boolean")
		}
		smart = flag
	}
	made := slug.Make(normalize(input)) // as Argo CD does: normalize, then slug
	if maxSize <= 0 || len(made) <= maxSize {
		return made, nil
	}
	if !smart {
		return strings.Trim(made[:maxSize], "-"), nil
	}
	kept := ""
	for _, word := range strings.Split(made, "-") {
		next := word
		if kept != "" {
			next = kept + "-" + word
		}
		if len(next) > maxSize {
			break
		}
		kept = next
	}
	if kept == "" {
		return strings.Trim(made[:maxSize], "-"), nil
	}
	return kept, nil
}

func toYaml(value any) (string, error) {
	data, err := yaml.Marshal(value)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

func fromYaml(text string) (map[string]any, error) {
	out := map[string]any{}
	err := yaml.Unmarshal([]byte(text), &out)
	return out, err
}

func fromYamlArray(text string) ([]any, error) {
	out := []any{}
	err := yaml.Unmarshal([]byte(text), &out)
	return out, err
}

func functions() template.FuncMap {
	funcs := sprig.TxtFuncMap()
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		delete(funcs, name)
	}
	funcs["normalize"] = normalize
	funcs["slugify"] = slugify
	funcs["toYaml"] = toYaml
	funcs["fromYaml"] = fromYaml
	funcs["fromYamlArray"] = fromYamlArray
	return funcs
}

// withTpl adds tpl, which renders a string as a template with the same functions and
// options as the one calling it.
func withTpl(t *template.Template) *template.Template {
	return t.Funcs(template.FuncMap{"tpl": func(text string, data any) (string, error) {
		inner, err := t.Clone()
		if err != nil {
			return "", err
		}
		inner, err = inner.New(t.Name()).Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: cannot parse %q: %w", text, err)
		}
		var out strings.Builder
		if err := inner.Execute(&limited{w: &out, left: tplLimit}, data); err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		return strings.ReplaceAll(out.String(), "<no value>", ""), nil
	}})
}

// short quotes at most 200 bytes of a template in an error.
func short(text string) string {
	if len(text) > 200 {
		return text[:200] + "..."
	}
	return text
}

func render(req request) []result {
	funcs := functions()
	parsed := make([]*template.Template, len(req.Strings))
	var parseErr error
	for i, text := range req.Strings {
		t := withTpl(template.New("").Funcs(funcs).Option(req.Options...))
		parsed[i], parseErr = t.Parse(text)
		if parseErr != nil {
			parseErr = fmt.Errorf("failed to parse template %q: %w", short(text), parseErr)
			break
		}
	}
	results := make([]result, 0, len(req.Params))
	left := req.MaxBytes
	if left <= 0 {
		left = int(^uint(0) >> 1)
	}
	for _, params := range req.Params {
		if parseErr != nil {
			// The first error is the answer: the rest would repeat it.
			return append(results, result{Error: parseErr.Error()})
		}
		out := make([]string, len(parsed))
		for i, t := range parsed {
			var buf strings.Builder
			sink := &limited{w: &buf, left: left}
			if err := t.Execute(sink, params); err != nil {
				if errors.Is(err, errTooLarge) {
					err = fmt.Errorf("the rendered templates exceed %d bytes", req.MaxBytes)
				}
				return append(results, result{Error: fmt.Sprintf(
					"failed to execute go template %q: %v", short(req.Strings[i]), err)})
			}
			left = sink.left
			out[i] = buf.String()
		}
		results = append(results, result{Strings: out})
	}
	return results
}

// deadline ends the helper on its own if its caller is gone (killed before it could kill
// the helper) and a template still runs: the caller waits 30 s at most.
const deadline = 60 * time.Second

func main() {
	time.AfterFunc(deadline, func() {
		fmt.Fprintln(os.Stderr, "flotilla-gotemplate: deadline passed")
		os.Exit(3)
	})
	var req request
	decoder := json.NewDecoder(os.Stdin) // numbers as float64, as Argo CD's parameters are
	if err := decoder.Decode(&req); err != nil {
		fmt.Fprintf(os.Stderr, "flotilla-gotemplate: bad request: %v\n", err)
		os.Exit(2)
	}
	for _, option := range req.Options {
		if !strings.HasPrefix(option, "missingkey=") {
			fmt.Fprintf(os.Stderr, "flotilla-gotemplate: unknown template option %q\n", option)
			os.Exit(2)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]any{"results": render(req)}); err != nil {
		os.Exit(1)
	}
}
