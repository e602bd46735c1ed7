//go:build goexperiment.jsonv2

package libcontainer

import (
	"reflect"
	"strings"
)

// rt is built with GOEXPERIMENT=jsonv2 (Makefile): encoding/json is then Go 1.26's new implementation behind the
// v1 API, which decodes and encodes the same bytes the same way but reports errors in its own terms. This file
// turns what LoadSpec formats itself back into what the v1 implementation gives (jsonerr_v1.go), so that the
// error names the same line, column and field whichever way rt is built.

// syntaxOffsetPast: jsonv2's SyntaxError.Offset is that of the offending byte; v1's counts it.
const syntaxOffsetPast = false

// typeErrorField turns jsonv2's UnmarshalTypeError.Field, the JSON path from the root with every object name as
// written and every array index ("mounts.1.options.0"), into v1's: the names of the struct fields only, as
// declared, with the Go name of an embedded struct ("mounts.options"; "...weightDevice.LinuxBlockIODevice.major").
// Map keys go too, even one with dots in it: a name that is no field of the struct a map holds is skipped.
func typeErrorField(t reflect.Type, field string) string {
	if field == "" {
		return ""
	}
	var out []string
	names := strings.Split(field, ".")
	for i := 0; i < len(names); {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map: // an index or a key
			t = t.Elem()
			i++
		case reflect.Struct:
			path, ft, ok := jsonField(t, names[i])
			if ok {
				out = append(out, path...)
				t = ft
			}
			i++
		default:
			return strings.Join(out, ".")
		}
	}
	return strings.Join(out, ".")
}

// jsonField finds the field of struct t that the JSON object name decodes into, as encoding/json matches it (the
// exact name first, then any case), and returns the names v1 puts in the path for it, and its type.
func jsonField(t reflect.Type, name string) ([]string, reflect.Type, bool) {
	var folded []string
	var foldedType reflect.Type
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag != name && (folded != nil || !strings.EqualFold(tag, name)) {
			continue
		}
		var path []string
		for j := 1; j < len(f.Index); j++ { // v1 names each embedded struct on the way by its Go name
			path = append(path, t.FieldByIndex(f.Index[:j]).Name)
		}
		path = append(path, tag)
		if tag == name {
			return path, f.Type, true
		}
		folded, foldedType = path, f.Type
	}
	return folded, foldedType, folded != nil
}
