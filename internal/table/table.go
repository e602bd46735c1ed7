// Package table is a small constant lookup table that costs nothing at start-up.
//
// A map literal at package level is built by the package's init function in every process that links the package,
// whether or not it looks anything up: rt's dozen name tables (mount options, capabilities, rlimits, seccomp
// actions...) were ~10 KB and ~60 allocations before main in every rt process, about 8 page faults each. A slice
// literal of constants is laid out by the linker instead: nothing runs and nothing is allocated until a lookup
// reads it. The tables are short (at most a few dozen rows) and looked up a few times per command, so a linear
// scan costs less than hashing would. Do not use it for a table that grows at run time or has hundreds of rows.
package table

// Row is one key and its value.
type Row[K comparable, V any] struct {
	Key K
	Val V
}

// Table is a list of rows with distinct keys, written as a composite literal of constants.
type Table[K comparable, V any] []Row[K, V]

// Get returns the value of key, and whether the table has it.
func (t Table[K, V]) Get(key K) (V, bool) {
	for _, r := range t {
		if r.Key == key {
			return r.Val, true
		}
	}
	var zero V
	return zero, false
}

// Val returns the value of key, or V's zero value when the table does not have it (as indexing a map does).
func (t Table[K, V]) Val(key K) V {
	v, _ := t.Get(key)
	return v
}

// Has reports whether the table has key.
func (t Table[K, V]) Has(key K) bool {
	_, ok := t.Get(key)
	return ok
}

// Keys returns the keys in the table's order.
func (t Table[K, V]) Keys() []K {
	keys := make([]K, len(t))
	for i, r := range t {
		keys[i] = r.Key
	}
	return keys
}

// Duplicate returns a key the table has more than once, for a test to refuse: a map literal with a repeated key
// does not compile, a Table with one does, and only the first row would count.
func (t Table[K, V]) Duplicate() (K, bool) {
	for i, r := range t {
		for _, later := range t[i+1:] {
			if later.Key == r.Key {
				return r.Key, true
			}
		}
	}
	var zero K
	return zero, false
}
