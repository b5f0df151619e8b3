// Command argo-conditions evaluates an Argo resource template's successCondition and
// failureCondition against JSON documents exactly as Argo's executor does
// (argo-workflows v4 workflow/executor: labels.Parse, then gjson lookups; any failure
// requirement fails the step, every success requirement must hold).
//
// Usage: argo-conditions SUCCESS FAILURE FILE... ; prints one line per file:
// "failed", "succeeded" or "waiting".
package main

import (
	"fmt"
	"os"

	"github.com/tidwall/gjson"
	"k8s.io/apimachinery/pkg/labels"
)

type gjsonLabels struct{ json []byte }

func (g gjsonLabels) Has(label string) bool { return gjson.GetBytes(g.json, label).Exists() }
func (g gjsonLabels) Get(label string) string {
	return gjson.GetBytes(g.json, label).String()
}
func (g gjsonLabels) Lookup(label string) (string, bool) {
	r := gjson.GetBytes(g.json, label)
	return r.String(), r.Exists()
}

func requirements(expr string) labels.Requirements {
	if expr == "" {
		return nil
	}
	selector, err := labels.Parse(expr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "condition %q failed to parse: %v\n", expr, err)
		os.Exit(2)
	}
	reqs, _ := selector.Requirements()
	return reqs
}

func outcome(doc []byte, success, failure labels.Requirements) string {
	ls := gjsonLabels{json: doc}
	for _, req := range failure {
		if req.Matches(ls) {
			return "failed"
		}
	}
	matched := 0
	for _, req := range success {
		if req.Matches(ls) {
			matched++
		}
	}
	if matched >= len(success) {
		return "succeeded"
	}
	return "waiting"
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: argo-conditions SUCCESS FAILURE FILE...")
		os.Exit(2)
	}
	success, failure := requirements(os.Args[1]), requirements(os.Args[2])
	for _, path := range os.Args[3:] {
		doc, err := os.ReadFile(path)
		if err != nil || !gjson.ValidBytes(doc) {
			fmt.Fprintf(os.Stderr, "%s: not readable JSON\n", path)
			os.Exit(2)
		}
		fmt.Println(outcome(doc, success, failure))
	}
}
