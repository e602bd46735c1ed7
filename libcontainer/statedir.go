package libcontainer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A new container's state directory is prepared in a hidden directory of its own create's, <root>/.new~<id>~XXXX,
// locked, and renamed to <root>/<id> only once its state.json is in it: no command ever sees <id> without a state,
// and creates of one id racing each other never touch each other's directories (the rename decides which one
// wins). List and Load never see the prepared ones (no id starts with '.').

// pendingPrefix is the name prefix of id's prepared directories: the id, or its hash when the id is too long for a
// name, between '~', which no id contains.
func pendingPrefix(id string) string {
	if len(id) > 200 {
		sum := sha256.Sum256([]byte(id))
		id = hex.EncodeToString(sum[:])
	}
	return ".new~" + id + "~"
}

// newStateDir makes and locks a directory of its own under root for container id's state.
func newStateDir(root, id string) (string, *os.File, error) {
	tmp, err := os.MkdirTemp(root, pendingPrefix(id))
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

// RemovePending removes what creates of container id killed before their rename left: its prepared directories
// that no create holds (their lock is free). For `delete --force`, which may come right after such a kill; create
// itself does not look, which would cost it a read of the whole root.
func RemovePending(root, id string) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	prefix := pendingPrefix(id)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if path := filepath.Join(root, e.Name()); !lockHeld(path) {
			_ = os.RemoveAll(path)
		}
	}
}
