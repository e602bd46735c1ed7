package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// logFile is where log lines go: the --log file, or stderr when nil (os.Stderr is a variable: an initial value
// naming it would be a store in main.init, which every rt process runs).
var logFile io.Writer

// logToFile is set when --log names a file, so errors are printed on stderr as well as logged.
var logToFile bool

// setupLogging points slog at the --log file in runc's formats (logrus text or JSON lines). The file is created
// even when nothing is logged: containerd reads it after every call.
func setupLogging(path, format string, debug bool) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("--log-format %q: must be text or json", format)
	}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("--log: %w", err)
		}
		logFile, logToFile = f, true
	}
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	w := logFile
	if w == nil {
		w = os.Stderr
	}
	slog.SetDefault(slog.New(&logHandler{w: w, json: format == "json", level: level}))
	return nil
}

// logError reports a command's final error: on stderr as "rt: ...", and as a level=error line in the log file.
func logError(err error) {
	msg := err.Error()
	if logToFile {
		slog.Error(msg)
	}
	fmt.Fprintln(os.Stderr, "rt: "+msg)
}

// logHandler writes one line per record the way logrus does, which is what containerd and podman parse:
// JSON {"level":"error","msg":"...","time":"..."} or text time="..." level=error msg="...".
type logHandler struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	level slog.Level
	attrs []slog.Attr
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	level := strings.ToLower(r.Level.String())
	if r.Level == slog.LevelWarn {
		level = "warning" // logrus's name
	}
	msg := r.Message
	var extra []string
	add := func(a slog.Attr) bool {
		extra = append(extra, a.Key+"="+a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	if len(extra) > 0 {
		msg += " " + strings.Join(extra, " ")
	}
	ts := r.Time.Format(time.RFC3339)
	var line []byte
	if h.json {
		line, _ = json.Marshal(map[string]string{"level": level, "msg": msg, "time": ts})
	} else {
		line = []byte("time=" + strconv.Quote(ts) + " level=" + level + " msg=" + strconv.Quote(msg))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(append(line, '\n'))
	return err
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{w: h.w, json: h.json, level: h.level, attrs: append(append([]slog.Attr{}, h.attrs...), attrs...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
