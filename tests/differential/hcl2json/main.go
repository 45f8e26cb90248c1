// hcl2json: the reference side of the differential test. It parses an HCL2 native-syntax file
// with hashicorp/hcl v2 (hclsyntax), evaluates every attribute of the body tree and prints the
// result as one JSON document (see ../README.md for the format).
//
//	hcl2json FILE [--vars VARS.json]
//	hcl2json --batch [--vars VARS.json]   (file paths on stdin, one JSON document per line out)
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// functions: cty's stdlib under the Terraform names (the subset PikoCI's reference lists that
// cty really implements).
var functions = map[string]function.Function{
	"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
	"log": stdlib.LogFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
	"parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc, "signum": stdlib.SignumFunc,

	"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
	"indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc,
	"upper": stdlib.UpperFunc, "replace": stdlib.ReplaceFunc, "split": stdlib.SplitFunc,
	"strlen": stdlib.StrlenFunc, "strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc,
	"title": stdlib.TitleFunc, "trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc,
	"trimsuffix": stdlib.TrimSuffixFunc, "trimspace": stdlib.TrimSpaceFunc,

	"regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc,
	"regexreplace": stdlib.RegexReplaceFunc,

	"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc,
	"coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
	"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
	"element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc, "keys": stdlib.KeysFunc,
	"length": stdlib.LengthFunc, "lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc,
	"range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc, "slice": stdlib.SliceFunc,
	"sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,

	"setproduct": stdlib.SetProductFunc, "setintersection": stdlib.SetIntersectionFunc,
	"setunion": stdlib.SetUnionFunc, "setsubtract": stdlib.SetSubtractFunc,
	"setsymmetricdifference": stdlib.SetSymmetricDifferenceFunc,

	"csvdecode": stdlib.CSVDecodeFunc, "jsondecode": stdlib.JSONDecodeFunc,
	"jsonencode": stdlib.JSONEncodeFunc,

	"formatdate": stdlib.FormatDateFunc, "timeadd": stdlib.TimeAddFunc,

	// conversion functions, built the way Terraform builds them
	"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
	"tobool": stdlib.MakeToFunc(cty.Bool), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	"tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
}

type errorOut struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Summary string `json:"summary"`
	Detail  string `json:"detail,omitempty"`
}

func errorsOf(diags hcl.Diagnostics, sorted bool) []errorOut {
	var out []errorOut
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		e := errorOut{Summary: d.Summary, Detail: d.Detail}
		if d.Subject != nil {
			e.Line, e.Column = d.Subject.Start.Line, d.Subject.Start.Column
		}
		out = append(out, e)
	}
	if !sorted {
		return out
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out
}

// plain converts a cty value into plain JSON data (sets, lists, tuples -> arrays; maps, objects
// -> objects; numbers as JSON numbers in their shortest exact form).
func plain(v cty.Value) interface{} {
	v, _ = v.Unmark()
	if v.IsNull() {
		return nil
	}
	if !v.IsKnown() {
		return "<unknown>"
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInf() {
			if bf.Sign() > 0 {
				return json.Number("1e999")
			}
			return json.Number("-1e999")
		}
		return json.Number(bf.Text('g', -1))
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		out := []interface{}{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, plain(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]interface{}{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = plain(e)
		}
		return out
	}
	return fmt.Sprintf("<%s>", t.FriendlyName())
}

func walk(b *hclsyntax.Body, ctx *hcl.EvalContext, diags *hcl.Diagnostics) map[string]interface{} {
	attrs := map[string]interface{}{}
	for name, a := range b.Attributes {
		v, d := a.Expr.Value(ctx)
		*diags = append(*diags, d...)
		if !d.HasErrors() {
			attrs[name] = plain(v)
		}
	}
	blocks := []interface{}{}
	for _, blk := range b.Blocks {
		labels := blk.Labels
		if labels == nil {
			labels = []string{}
		}
		blocks = append(blocks, map[string]interface{}{
			"type": blk.Type, "labels": labels, "body": walk(blk.Body, ctx, diags),
		})
	}
	return map[string]interface{}{"attributes": attrs, "blocks": blocks}
}

func dump(path string, ctx *hcl.EvalContext, syntaxOnly bool) interface{} {
	src, err := os.ReadFile(path)
	if err != nil {
		return map[string]interface{}{"errors": []errorOut{{Summary: "cannot read file: " + err.Error()}}}
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.Pos{Line: 1, Column: 1, Byte: 0})
	if diags.HasErrors() {
		return map[string]interface{}{"errors": errorsOf(diags, false)}
	}
	if syntaxOnly {
		return map[string]interface{}{"body": map[string]interface{}{}}
	}
	var evalDiags hcl.Diagnostics
	body := walk(f.Body.(*hclsyntax.Body), ctx, &evalDiags)
	if evalDiags.HasErrors() {
		return map[string]interface{}{"errors": errorsOf(evalDiags, true)}
	}
	return map[string]interface{}{"body": body}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "hcl2json: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	var file, varsPath string
	batch, syntaxOnly := false, false
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--vars":
			if i+1 >= len(args) {
				fail("--vars needs a file")
			}
			i++
			varsPath = args[i]
		case "--batch":
			batch = true
		case "--syntax-only": // parse only (used to pick HCL out of prose)
			syntaxOnly = true
		default:
			if file != "" {
				fail("usage: hcl2json FILE [--vars VARS.json] | hcl2json --batch [--vars VARS.json]")
			}
			file = args[i]
		}
	}
	if file == "" && !batch {
		fail("usage: hcl2json FILE [--vars VARS.json] | hcl2json --batch [--vars VARS.json]")
	}

	vars := cty.EmptyObjectVal
	if varsPath != "" {
		raw, err := os.ReadFile(varsPath)
		if err != nil {
			fail("%v", err)
		}
		ty, err := ctyjson.ImpliedType(raw)
		if err != nil {
			fail("%s: %v", varsPath, err)
		}
		if vars, err = ctyjson.Unmarshal(raw, ty); err != nil {
			fail("%s: %v", varsPath, err)
		}
		if !vars.Type().IsObjectType() {
			fail("%s: not a JSON object", varsPath)
		}
	}
	ctx := &hcl.EvalContext{
		// `string`, `number` and `bool` are the pipeline language's type keywords
		// (`variable "x" { type = string }`): defined as their own names so that pipeline
		// samples evaluate past them.
		Variables: map[string]cty.Value{
			"var": vars, "string": cty.StringVal("string"), "number": cty.StringVal("number"),
			"bool": cty.StringVal("bool"),
		},
		Functions: functions,
	}

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	emit := func(v interface{}) {
		data, err := json.Marshal(v)
		if err != nil {
			fail("%v", err)
		}
		out.Write(data)
		out.WriteByte('\n')
	}
	if !batch {
		emit(dump(file, ctx, syntaxOnly))
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		if in.Text() != "" {
			emit(dump(in.Text(), ctx, syntaxOnly))
			out.Flush()
		}
	}
}
