package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// TestListStates checks that listStates keeps the directory order whether one goroutine or several read the
// containers, skips a directory without state (a create at work), and names each owner.
func TestListStates(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{name: "one", n: 1},
		{name: "fewer than listPerWorker", n: listPerWorker - 1},
		{name: "one goroutine's most", n: 2*listPerWorker - 1},
		{name: "two goroutines' fewest", n: 2 * listPerWorker},
		{name: "many", n: 5*listPerWorker + 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var want []string
			for i := range tc.n {
				id := fmt.Sprintf("c%03d", i)
				dir := filepath.Join(root, id)
				if err := os.Mkdir(dir, 0o711); err != nil {
					t.Fatal(err)
				}
				if i%7 == 3 { // being created: no state.json yet
					continue
				}
				state := fmt.Sprintf(`{"id":%q,"init_pid":0,"bundle":"/b/%s","config":{"ociVersion":"1.2.0"}}`, id, id)
				if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(state), 0o600); err != nil {
					t.Fatal(err)
				}
				want = append(want, id)
			}
			owner := "#" + strconv.Itoa(os.Getuid())
			if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
				owner = u.Username
			}
			states, err := listStates(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(states) != len(want) {
				t.Fatalf("%d states, want %d", len(states), len(want))
			}
			for i, s := range states {
				if s.ID != want[i] || s.Bundle != "/b/"+want[i] || s.Status != "stopped" || s.Version != "1.2.0" ||
					s.Owner != owner {
					t.Errorf("states[%d] = %+v, want id %s, stopped, owner %s", i, s, want[i], owner)
				}
			}
		})
	}
}

// TestListStatesError checks that an unreadable state fails the list, whichever goroutine reads it.
func TestListStatesError(t *testing.T) {
	root := t.TempDir()
	for i := range 3 * listPerWorker {
		dir := filepath.Join(root, fmt.Sprintf("c%03d", i))
		if err := os.Mkdir(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		state := `{"id":"x","config":{}}`
		if i == 2*listPerWorker+1 {
			state = `{"id":`
		}
		if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(state), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := listStates(root); err == nil {
		t.Fatal("listStates with a torn state.json: no error")
	}
}
