package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func TestReorderArgs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{name: "no command", in: []string{"rt"}, want: []string{"rt"}},
		{name: "only globals", in: []string{"rt", "--root", "/x"}, want: []string{"rt", "--root", "/x"}},
		{name: "flags already first", in: []string{"rt", "kill", "--all", "ID", "9"}, want: []string{"rt", "kill", "--all", "ID", "9"}},
		// runc accepts `runc kill ID 9 --all`; urfave/cli/v2 stops at the first argument, so rt moves the flag.
		{name: "bool flag after id", in: []string{"rt", "kill", "ID", "9", "--all"}, want: []string{"rt", "kill", "--all", "ID", "9"}},
		{name: "bool alias after id", in: []string{"rt", "delete", "ID", "-f"}, want: []string{"rt", "delete", "-f", "ID"}},
		{name: "command alias", in: []string{"rt", "rm", "ID", "--force"}, want: []string{"rt", "rm", "--force", "ID"}},
		{name: "value flag after id", in: []string{"rt", "update", "ID", "--memory", "1M"}, want: []string{"rt", "update", "--memory", "1M", "ID"}},
		{name: "value flag with =", in: []string{"rt", "update", "ID", "--memory=1M", "--pids-limit=5"}, want: []string{"rt", "update", "--memory=1M", "--pids-limit=5", "ID"}},
		{name: "value that looks like a flag", in: []string{"rt", "update", "ID", "--memory", "-1"}, want: []string{"rt", "update", "--memory", "-1", "ID"}},
		{name: "value flag last without value", in: []string{"rt", "update", "ID", "--memory"}, want: []string{"rt", "update", "--memory", "ID"}},
		{name: "short value flag", in: []string{"rt", "create", "ID", "-b", "/bundle", "--no-pivot"}, want: []string{"rt", "create", "-b", "/bundle", "--no-pivot", "ID"}},
		{name: "single dash is an argument", in: []string{"rt", "update", "ID", "-r", "-"}, want: []string{"rt", "update", "-r", "-", "ID"}},
		{name: "lone dash positional", in: []string{"rt", "update", "-", "ID"}, want: []string{"rt", "update", "-", "ID"}},
		{name: "double dash ends flags", in: []string{"rt", "kill", "ID", "--", "--all"}, want: []string{"rt", "kill", "ID", "--", "--all"}},
		{name: "flags before double dash move", in: []string{"rt", "kill", "ID", "--all", "--", "-x"}, want: []string{"rt", "kill", "--all", "ID", "--", "-x"}},
		{name: "global with value", in: []string{"rt", "--root", "/r", "kill", "ID", "--all"}, want: []string{"rt", "--root", "/r", "kill", "--all", "ID"}},
		{name: "global with value naming a command", in: []string{"rt", "--log", "kill", "delete", "ID", "-f"}, want: []string{"rt", "--log", "kill", "delete", "-f", "ID"}},
		{name: "global with =", in: []string{"rt", "--root=/r", "--debug", "start", "ID"}, want: []string{"rt", "--root=/r", "--debug", "start", "ID"}},
		{name: "several globals", in: []string{"rt", "--log-format", "json", "--log", "/l", "--debug", "state", "ID", "--x"}, want: []string{"rt", "--log-format", "json", "--log", "/l", "--debug", "state", "--x", "ID"}},
		{name: "exec left alone", in: []string{"rt", "exec", "ID", "ls", "-l", "--all"}, want: []string{"rt", "exec", "ID", "ls", "-l", "--all"}},
		{name: "exec after globals left alone", in: []string{"rt", "--root", "/r", "exec", "-t", "ID", "sh", "-c", "x"}, want: []string{"rt", "--root", "/r", "exec", "-t", "ID", "sh", "-c", "x"}},
		{name: "ps left alone", in: []string{"rt", "ps", "ID", "-ef"}, want: []string{"rt", "ps", "ID", "-ef"}},
		{name: "unknown command left alone", in: []string{"rt", "nosuch", "ID", "--all"}, want: []string{"rt", "nosuch", "ID", "--all"}},
		{name: "global double dash", in: []string{"rt", "--", "kill", "ID", "--all"}, want: []string{"rt", "--", "kill", "ID", "--all"}},
	}
	app := newApp()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			got := reorderArgs(app, in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reorderArgs(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !reflect.DeepEqual(in, tc.in) {
				t.Errorf("reorderArgs modified its input: %q, was %q", in, tc.in)
			}
		})
	}
}

// TestFlagsWithValueNames: flagsWithValue names every name and alias of the flags that are not booleans, wrapped
// (flags.go) or not, for the global flags and every command's.
func TestFlagsWithValueNames(t *testing.T) {
	app := newApp()
	lists := map[string][]cli.Flag{"global": app.Flags}
	for _, c := range app.Commands {
		lists[c.Name] = c.Flags
	}
	for name, flags := range lists {
		want := map[string]bool{}
		for _, f := range flags {
			switch f.(type) {
			case *cli.BoolFlag, *boolFlag:
				continue
			}
			for _, n := range f.Names() {
				want[n] = true
			}
		}
		if got := flagsWithValue(flags); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: flagsWithValue = %v, Names() give %v", name, got, want)
		}
	}
}

// FuzzReorderArgs checks reorderArgs never panics and only ever permutes its input (nothing lost, nothing added),
// leaving exec and ps untouched.
func FuzzReorderArgs(f *testing.F) {
	for _, seed := range []string{
		"rt kill ID 9 --all",
		"rt --root /r update ID --memory 1M --pids-limit=3",
		"rt --log",
		"rt exec ID sh -c --x",
		"rt kill ID -- --all",
		"rt create -b",
		"rt -- -- --",
		"rt update ID --memory",
		"rt - - -",
	} {
		f.Add(seed)
	}
	app := newApp()
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, " ")
		got := reorderArgs(app, slices.Clone(args))
		a, b := slices.Clone(args), slices.Clone(got)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("reorderArgs(%q) = %q: not a permutation", args, got)
		}
		if len(args) > 0 && got[0] != args[0] {
			t.Fatalf("reorderArgs(%q) = %q: program name moved", args, got)
		}
		for _, keep := range []string{"exec", "ps"} {
			if len(args) > 1 && args[1] == keep && !slices.Equal(args, got) {
				t.Fatalf("reorderArgs(%q) = %q: %s arguments reordered", args, got, keep)
			}
		}
	})
}

func TestFlagName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "long", in: "--root", want: "root"},
		{name: "short", in: "-f", want: "f"},
		{name: "long with value", in: "--memory=1M", want: "memory"},
		{name: "short with value", in: "-b=/x", want: "b"},
		{name: "empty value", in: "--log=", want: "log"},
		{name: "value with =", in: "--env=A=B", want: "env"},
		{name: "single dash long", in: "-root", want: "root"},
		{name: "triple dash", in: "---x", want: "x"},
		{name: "dashes only", in: "--", want: ""},
		{name: "no dash", in: "word", want: "word"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := flagName(tc.in); got != tc.want {
				t.Errorf("flagName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    unix.Signal
		wantErr bool
	}{
		{name: "number", in: "9", want: unix.SIGKILL},
		{name: "lowest number", in: "1", want: unix.SIGHUP},
		{name: "highest realtime number", in: "64", want: unix.Signal(64)},
		{name: "name", in: "KILL", want: unix.SIGKILL},
		{name: "SIG name", in: "SIGTERM", want: unix.SIGTERM},
		{name: "lower case", in: "sigusr1", want: unix.SIGUSR1},
		{name: "mixed case", in: "Hup", want: unix.SIGHUP},
		{name: "zero: the liveness check", in: "0", want: unix.Signal(0)},
		{name: "negative", in: "-9", wantErr: true},
		{name: "too big", in: "65", wantErr: true},
		{name: "unknown name", in: "FOO", wantErr: true},
		{name: "bare SIG", in: "SIG", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "number with junk", in: "9x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSignal(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseSignal(%q) = %v, want an error", tc.in, got)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
					t.Errorf("parseSignal(%q) error %q does not name the input", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseSignal(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{name: "plain", in: "1024", want: 1024},
		{name: "zero", in: "0", want: 0},
		{name: "unlimited", in: "-1", want: -1},
		{name: "k", in: "512k", want: 512 << 10},
		{name: "M", in: "256M", want: 256 << 20},
		{name: "g", in: "1g", want: 1 << 30},
		{name: "T", in: "2T", want: 2 << 40},
		{name: "kb", in: "4kb", want: 4 << 10},
		{name: "KiB", in: "4KiB", want: 4 << 10},
		{name: "MB upper", in: "3MB", want: 3 << 20},
		{name: "b only", in: "100b", want: 100},
		{name: "fraction", in: "1.5k", want: 1536},
		{name: "spaces trimmed", in: " 2m ", want: 2 << 20},
		{name: "empty", in: "", wantErr: true},
		{name: "unit only", in: "k", wantErr: true},
		{name: "words", in: "lots", wantErr: true},
		{name: "negative", in: "-2", wantErr: true},
		{name: "negative with unit", in: "-1k", wantErr: true},
		{name: "unknown unit", in: "1x", wantErr: true},
		{name: "two units", in: "1kk", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBytes(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseBytes(%q) = %d, want an error", tc.in, *got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseBytes(%q): %v", tc.in, err)
			}
			if *got != tc.want {
				t.Errorf("parseBytes(%q) = %d, want %d", tc.in, *got, tc.want)
			}
		})
	}
}

// TestParseBytesNonFinite covers sizes strconv.ParseFloat accepts but that are no byte count: converting +Inf, NaN
// or a value beyond int64 to int64 yields math.MinInt64 on amd64, a negative limit that is not -1.
func TestParseBytesNonFinite(t *testing.T) {
	for _, in := range []string{"inf", "+Inf", "nan", "1e30", "9e18", "16777216t"} {
		t.Run(in, func(t *testing.T) {
			got, err := parseBytes(in)
			if err == nil && (*got < 0 || *got == math.MinInt64) {
				t.Errorf("parseBytes(%q) = %d, want an error", in, *got)
			}
		})
	}
}

func TestWritePidFile(t *testing.T) {
	tests := []struct {
		name     string
		existing string // content of a file already at the path, if any
		pid      int
	}{
		{name: "new file", pid: 1234},
		{name: "replaces an old file", existing: "99999\n", pid: 42},
		{name: "large pid", pid: 4194304},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "pid")
			if tc.existing != "" {
				if err := os.WriteFile(path, []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := writePidFile(path, tc.pid); err != nil {
				t.Fatalf("writePidFile: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// runc writes the bare number: conmon and containerd parse it with no trimming.
			if want := fmt.Sprint(tc.pid); string(got) != want {
				t.Errorf("pid file holds %q, want %q", got, want)
			}
			assertOnlyFiles(t, dir, "pid")
		})
	}
}

func TestWritePidFileRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := writePidFile("rel.pid", 7); err != nil {
		t.Fatalf("writePidFile: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "rel.pid")); err != nil || string(got) != "7" {
		t.Errorf("rel.pid = %q, %v; want \"7\"", got, err)
	}
	assertOnlyFiles(t, dir, "rel.pid")
}

func TestWritePidFileErrors(t *testing.T) {
	tests := []struct {
		name string
		path func(dir string) string
	}{
		{name: "missing directory", path: func(dir string) string { return filepath.Join(dir, "no", "pid") }},
		{name: "path is a directory", path: func(dir string) string {
			p := filepath.Join(dir, "isdir")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			// A file inside keeps rename(2) from replacing the directory (ENOTEMPTY / EISDIR).
			if err := os.WriteFile(filepath.Join(p, "x"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.path(dir)
			before := listDir(t, dir)
			err := writePidFile(path, 1)
			if err == nil {
				t.Fatalf("writePidFile(%s) succeeded", path)
			}
			if !strings.HasPrefix(err.Error(), "--pid-file: ") {
				t.Errorf("error %q does not name --pid-file", err)
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Errorf("files left behind: %q, before %q", after, before)
			}
		})
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func assertOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("directory holds %q, want only %q (temp file left behind?)", got, want)
	}
}

// logrus's text format as runc writes it: time="..." level=... msg="...".
var textLine = regexp.MustCompile(`^time="([^"]+)" level=([a-z]+) msg=(".*")$`)

func TestLogHandler(t *testing.T) {
	tests := []struct {
		name      string
		json      bool
		log       func(l *slog.Logger)
		wantLevel string
		wantMsg   string
	}{
		{name: "json error", json: true, log: func(l *slog.Logger) { l.Error("boom") }, wantLevel: "error", wantMsg: "boom"},
		{name: "json warning", json: true, log: func(l *slog.Logger) { l.Warn("careful") }, wantLevel: "warning", wantMsg: "careful"},
		{name: "json info", json: true, log: func(l *slog.Logger) { l.Info("hello") }, wantLevel: "info", wantMsg: "hello"},
		{name: "json debug", json: true, log: func(l *slog.Logger) { l.Debug("dbg") }, wantLevel: "debug", wantMsg: "dbg"},
		{name: "json quotes", json: true, log: func(l *slog.Logger) { l.Error(`a "b"` + "\n" + `c\d`) }, wantLevel: "error", wantMsg: `a "b"` + "\n" + `c\d`},
		{name: "json attrs", json: true, log: func(l *slog.Logger) { l.With("id", "c1").Error("gone", "pid", 3) }, wantLevel: "error", wantMsg: "gone id=c1 pid=3"},
		{name: "text error", log: func(l *slog.Logger) { l.Error("boom") }, wantLevel: "error", wantMsg: "boom"},
		{name: "text warning", log: func(l *slog.Logger) { l.Warn("careful") }, wantLevel: "warning", wantMsg: "careful"},
		{name: "text quotes", log: func(l *slog.Logger) { l.Error(`say "hi"` + "\n") }, wantLevel: "error", wantMsg: `say "hi"` + "\n"},
		{name: "text attrs", log: func(l *slog.Logger) { l.Info("x", "k", "v") }, wantLevel: "info", wantMsg: "x k=v"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			before := time.Now().Add(-time.Second)
			tc.log(slog.New(&logHandler{w: &buf, json: tc.json, level: slog.LevelDebug}))
			out := buf.String()
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("output %q is not exactly one line", out)
			}
			line := strings.TrimSuffix(out, "\n")
			var level, msg, ts string
			if tc.json {
				var m map[string]string
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("line %q is not a JSON object of strings: %v", line, err)
				}
				if len(m) != 3 {
					t.Errorf("line %q has keys other than level, msg, time", line)
				}
				level, msg, ts = m["level"], m["msg"], m["time"]
			} else {
				sub := textLine.FindStringSubmatch(line)
				if sub == nil {
					t.Fatalf("line %q is not logrus text format", line)
				}
				ts, level = sub[1], sub[2]
				var err error
				if msg, err = unquote(sub[3]); err != nil {
					t.Fatalf("msg in %q: %v", line, err)
				}
			}
			if level != tc.wantLevel || msg != tc.wantMsg {
				t.Errorf("level=%q msg=%q, want level=%q msg=%q", level, msg, tc.wantLevel, tc.wantMsg)
			}
			when, err := time.Parse(time.RFC3339, ts)
			if err != nil {
				t.Errorf("time %q is not RFC 3339: %v", ts, err)
			} else if when.Before(before) || when.After(time.Now().Add(time.Second)) {
				t.Errorf("time %q is not now", ts)
			}
		})
	}
}

func unquote(s string) (string, error) {
	var out string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

func TestLogHandlerLevel(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(&logHandler{w: &buf, level: slog.LevelInfo})
	l.Debug("hidden")
	if buf.Len() != 0 {
		t.Errorf("debug record written at info level: %q", buf.String())
	}
	l.Info("shown")
	if !strings.Contains(buf.String(), `msg="shown"`) {
		t.Errorf("info record missing: %q", buf.String())
	}
}

// swapLogging restores the package's logging globals after a test that calls setupLogging.
func swapLogging(t *testing.T) {
	t.Helper()
	oldFile, oldToFile, oldDefault := logFile, logToFile, slog.Default()
	t.Cleanup(func() {
		if c, ok := logFile.(*os.File); ok && c != os.Stderr && c != oldFile {
			c.Close()
		}
		logFile, logToFile = oldFile, oldToFile
		slog.SetDefault(oldDefault)
	})
}

func TestSetupLogging(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		wantErr bool
	}{
		{name: "text", format: "text"},
		{name: "json", format: "json"},
		{name: "unknown format", format: "xml", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			swapLogging(t)
			path := filepath.Join(t.TempDir(), "log")
			err := setupLogging(path, tc.format, false)
			if tc.wantErr {
				if err == nil {
					t.Fatal("setupLogging succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// containerd reads the log after every call: it must exist even when nothing was logged.
			if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
				t.Errorf("log file: %v, %v; want an empty file", fi, err)
			}
		})
	}
}

func TestReport(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantLog  bool
	}{
		{name: "success", err: nil, wantCode: 0},
		{name: "plain error", err: errors.New("container \"x\" does not exist"), wantCode: 1, wantLog: true},
		{name: "wrapped usage", err: fmt.Errorf("kill: %w: rt kill", errUsage), wantCode: 1, wantLog: true},
		{name: "process exit status", err: &exitError{code: 137}, wantCode: 137},
		{name: "exec failure", err: fmt.Errorf("exec: %w", &exitCodeError{err: errors.New("no such file"), code: 255}), wantCode: 255, wantLog: true},
		// runc: `runc help nosuch` and `runc nosuch` exit 3.
		{name: "no help topic", err: cli.Exit("No help topic for 'nosuch'", 3), wantCode: 3, wantLog: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			swapLogging(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "log")
			if err := setupLogging(path, "json", false); err != nil {
				t.Fatal(err)
			}
			stderr, err := os.Create(filepath.Join(dir, "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			oldStderr := os.Stderr
			os.Stderr = stderr
			code := report(tc.err)
			os.Stderr = oldStderr

			if code != tc.wantCode {
				t.Errorf("report(%v) = %d, want %d", tc.err, code, tc.wantCode)
			}
			logged, _ := os.ReadFile(path)
			printed, _ := os.ReadFile(stderr.Name())
			if !tc.wantLog {
				if len(logged) != 0 || len(printed) != 0 {
					t.Errorf("report(%v) wrote log %q, stderr %q; want nothing", tc.err, logged, printed)
				}
				return
			}
			if want := "rt: " + tc.err.Error() + "\n"; string(printed) != want {
				t.Errorf("stderr %q, want %q", printed, want)
			}
			var m map[string]string
			if err := json.Unmarshal(bytes.TrimSuffix(logged, []byte("\n")), &m); err != nil {
				t.Fatalf("log %q is not one JSON line: %v", logged, err)
			}
			// containerd shows the msg of the last level=error line to the user.
			if m["level"] != "error" || m["msg"] != tc.err.Error() {
				t.Errorf("log line %q, want level error and msg %q", logged, tc.err.Error())
			}
		})
	}
}

// TestIDSafe checks idSafe against the regexp replacement it stands for: on every string of up to two bytes, and on
// longer ones with runs of unsafe bytes, UTF-8 or not.
func TestIDSafe(t *testing.T) {
	re := regexp.MustCompile(`[^A-Za-z0-9_+.-]+`)
	ss := []string{"bundle", "my bundle", "a  b", "\u00fcn\u00ef c\u00f6d\u00e9", ".hidden", "a/b", "x..y", "--", "", "a\xff\xfe\u20acb"}
	for a := 0; a < 256; a++ {
		ss = append(ss, string([]byte{byte(a)}))
		for b := 0; b < 256; b++ {
			ss = append(ss, string([]byte{byte(a), byte(b)}))
		}
	}
	for _, s := range ss {
		if got, want := idSafe(s), re.ReplaceAllString(s, "-"); got != want {
			t.Errorf("idSafe(%q) = %q, want %q", s, got, want)
		}
	}
}
