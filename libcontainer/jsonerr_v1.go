//go:build !goexperiment.jsonv2

package libcontainer

import "reflect"

// syntaxOffsetPast: encoding/json's SyntaxError.Offset counts the offending byte (jsonerr_v2.go: jsonv2's stops
// before it).
const syntaxOffsetPast = true

// typeErrorField is encoding/json's UnmarshalTypeError.Field as it is: the struct fields from the root, by their
// JSON names ("mounts.options").
func typeErrorField(_ reflect.Type, field string) string { return field }
