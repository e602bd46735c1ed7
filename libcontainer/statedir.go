package libcontainer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A new container's state directory is prepared under <root>/.new, in a directory of its own create's, locked, and
// renamed to <root>/<id> only once its state.json is in it: no command ever sees <id> without a state, and
// creates of one id racing each other never touch each other's directories (the rename decides which one wins).
// List and Load never look in .new (no id starts with '.').
const pendingDirName = ".new"

// pendingMaxAge is how old a prepared directory whose lock is free must be before create removes it as the remains
// of a create killed before its rename: younger, it may be another create's, made but not yet locked.
const pendingMaxAge = time.Minute

// pendingPrefix is the name prefix of id's prepared directories: the id, or its hash when the id is too long for a
// name, and '~', which no id contains.
func pendingPrefix(id string) string {
	if len(id) > 200 {
		sum := sha256.Sum256([]byte(id))
		return hex.EncodeToString(sum[:]) + "~"
	}
	return id + "~"
}

// newStateDir makes and locks a directory of its own under <root>/.new for container id's state, removing first
// what killed creates of that id left there.
func newStateDir(root, id string) (string, *os.File, error) {
	pending := filepath.Join(root, pendingDirName)
	if err := os.Mkdir(pending, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", nil, fmt.Errorf("state directory: %w", err)
	}
	removePending(pending, id, pendingMaxAge)
	tmp, err := os.MkdirTemp(pending, pendingPrefix(id))
	if err != nil {
		return "", nil, fmt.Errorf("state directory: %w", err)
	}
	lock, err := lockDir(tmp)
	if err == nil {
		err = os.Chmod(tmp, 0o711) // as the state directory has always been; MkdirTemp makes it 0700
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		_ = os.Remove(tmp)
		return "", nil, err
	}
	return tmp, lock, nil
}

// RemovePending removes what creates of container id that were killed before their rename left under
// <root>/.new: directories no create holds. For `delete --force`, which may come right after such a kill.
func RemovePending(root, id string) {
	removePending(filepath.Join(root, pendingDirName), id, 0)
}

// removePending removes id's prepared directories under pending whose lock is free and which are at least minAge
// old.
func removePending(pending, id string, minAge time.Duration) {
	ents, err := os.ReadDir(pending)
	if err != nil {
		return
	}
	prefix := pendingPrefix(id)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if minAge > 0 {
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < minAge {
				continue
			}
		}
		path := filepath.Join(pending, e.Name())
		if !lockHeld(path) {
			_ = os.RemoveAll(path)
		}
	}
}
