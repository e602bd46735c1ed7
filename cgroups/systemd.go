package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	dbus "github.com/godbus/dbus/v5"
)

// The systemd cgroup driver (--systemd-cgroup), as runc's: the container's cgroup is a transient unit that systemd
// makes over D-Bus (a scope with Delegate=yes, or a slice), its limits are set as unit properties where systemd has
// them and written to the cgroup files like the cgroupfs driver's, and delete stops the unit. Everything else (pids,
// freeze, signals, stats) works on the cgroup directory, which is the unit's. Only cgroup v2 is supported: on a v1
// or hybrid host the flag is refused (see NewSystemd). Nothing here runs unless --systemd-cgroup asked for it: the
// bus is dialled on first use, and the D-Bus packages do no work at start-up.

// systemdTimeout bounds each wait for systemd: a job to finish, or a call to return (runc waits 30 s for a job).
const systemdTimeout = 30 * time.Second

// ErrUnitExists is a unit name taken by a live unit: another container has the same linux.cgroupsPath.
var ErrUnitExists = errors.New("already exists")

// errNoSystemd is runc's text for a host not booted by systemd (cgroups/manager.New), which users search for.
var errNoSystemd = errors.New("systemd not running on this host, cannot use systemd cgroups manager")

// systemdDriver is the part of a Manager that talks to systemd; nil for the cgroupfs driver.
type systemdDriver struct {
	unit  SystemdUnit
	desc  string        // the unit's Description
	props []sd.Property // from org.systemd.property.* annotations; sent last, so they win
	conn  *sd.Conn      // dialled on first use
	// loaded: the unit exists (a Manager from LoadSystemd); Apply then adds a process (exec) like the cgroupfs
	// driver, by writing cgroup.procs of the unit's delegated cgroup, as runc's exec does.
	loaded bool
	// started: this driver made the unit (StartTransientUnit succeeded). Only a unit it started or loaded from a
	// container's state is its own to signal, stop or remove: a name already taken by a live unit is another's.
	started bool
}

// owned reports whether the unit (and so its cgroup) is this container's.
func (d *systemdDriver) owned() bool { return d.loaded || d.started }

// NewSystemd returns a manager whose cgroup is the transient systemd unit named by linux.cgroupsPath
// ("slice:prefix:name", see parseSystemdPath), with the org.systemd.property.* annotations as extra unit
// properties. As root it talks to the system instance; otherwise to the user's own systemd over the session bus
// ($DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus), as runc does. It checks the input first, then the host, then
// connects (so a missing bus fails here, before anything exists); the unit itself is made by Apply.
func NewSystemd(cgroupsPath, id string, annotations map[string]string) (*Manager, error) {
	user := os.Geteuid() != 0
	unit, err := parseSystemdPath(cgroupsPath, id, user)
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	props, err := annotationProps(annotations)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat("/run/systemd/system") // sd_booted(3)
	booted := err == nil && fi.IsDir()
	h, err := hostInfo()
	if err != nil {
		return nil, err
	}
	if err := systemdHost(booted, h.mode); err != nil {
		return nil, err
	}
	d := &systemdDriver{unit: unit, desc: "rt container " + id, props: props}
	if _, err := d.connect(); err != nil {
		return nil, err
	}
	// The unit's cgroup is <manager's cgroup>/<slices>/<unit>: the manager's own cgroup is "/" for the system
	// instance and user@UID.service's for a user's.
	base := "/"
	if user {
		if base, err = d.managerCgroup(); err != nil {
			return nil, err
		}
	}
	return &Manager{paths: map[string]string{"": unitDir(h.unified, base, unit)}, h: h, sd: d}, nil
}

// systemdHost refuses a host the driver cannot serve: one not booted by systemd, or whose cgroups are not v2 only.
func systemdHost(booted bool, mode string) error {
	if !booted {
		return errNoSystemd
	}
	if mode != "v2" {
		// runc's v1 driver splits a container over the v1 hierarchies behind systemd's back; rt does not do that.
		return fmt.Errorf("--systemd-cgroup: this host's cgroups are %s; rt's systemd driver needs cgroup v2 (unified hierarchy only): %w", mode, ErrNotSupported)
	}
	return nil
}

// unitDir is the cgroup directory of unit u: <cgroup2 mount>/<manager's cgroup>/<slice path>/<unit>, or for a
// slice unit <mount>/<manager's cgroup>/<its own slice path> (a slice's place is spelled by its name). u is valid
// (parseSystemdPath).
func unitDir(unified, base string, u SystemdUnit) string {
	if strings.HasSuffix(u.Name, ".slice") {
		rel, _ := expandSlice(u.Name)
		return filepath.Join(unified, base, rel)
	}
	slice, _ := expandSlice(u.Slice)
	return filepath.Join(unified, base, slice, u.Name)
}

// LoadSystemd returns the manager of an existing container whose cgroup is the systemd unit u.
func LoadSystemd(paths map[string]string, u *SystemdUnit) *Manager {
	return &Manager{paths: paths, sd: &systemdDriver{unit: *u, loaded: true}}
}

// Unit is the container's systemd unit, nil for the cgroupfs driver.
func (m *Manager) Unit() *SystemdUnit {
	if m.sd == nil {
		return nil
	}
	return &m.sd.unit
}

func (d *systemdDriver) isSlice() bool { return filepath.Ext(d.unit.Name) == ".slice" }

// connect dials the bus once: as root the system bus, falling back to systemd's private socket (go-systemd's
// NewWithContext, as runc); for the user's systemd the session bus.
func (d *systemdDriver) connect() (*sd.Conn, error) {
	if d.conn != nil {
		return d.conn, nil
	}
	var conn *sd.Conn
	var err error
	if d.unit.User {
		conn, err = userBus()
	} else {
		// No deadline here: godbus closes a connection when its dial context ends. Each call has its own.
		conn, err = sd.NewWithContext(context.Background())
	}
	if err != nil {
		return nil, fmt.Errorf("--systemd-cgroup: connect to systemd: %w", err)
	}
	d.conn = conn
	return conn, nil
}

// userBus connects to the caller's own systemd over the session bus, authenticating as the caller's uid.
func userBus() (*sd.Conn, error) {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" {
			if _, err := os.Stat(filepath.Join(xdg, "bus")); err == nil {
				addr = "unix:path=" + dbus.EscapeBusAddressValue(filepath.Join(xdg, "bus"))
			}
		}
	}
	if addr == "" {
		return nil, errors.New("rootless: no user bus ($DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus); a user systemd with dbus-user-session is needed")
	}
	uid := strconv.Itoa(os.Getuid())
	return sd.NewConnection(func() (*dbus.Conn, error) {
		conn, err := dbus.Dial(addr)
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(uid)}); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("authenticate to %s as uid %s: %w", addr, uid, err)
		}
		if err := conn.Hello(); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return conn, nil
	})
}

// managerCgroup is the cgroup of the systemd instance on the bus, relative to the cgroup2 mount.
func (d *systemdDriver) managerCgroup() (string, error) {
	s, err := d.conn.GetManagerProperty("ControlGroup")
	if err != nil {
		return "", fmt.Errorf("--systemd-cgroup: ask systemd for its cgroup: %w", err)
	}
	cg, err := strconv.Unquote(s) // godbus quotes a string variant as Go does
	if err != nil {
		return "", fmt.Errorf("--systemd-cgroup: systemd's cgroup %s: %w", s, err)
	}
	if cg == "" {
		return "/", nil
	}
	return cg, nil
}

// start makes the unit with pid in it and waits for systemd's job. A unit of the same name left failed by an
// earlier container is reset and the start retried once, as runc does. On failure no unit is left.
func (d *systemdDriver) start(pid int) error {
	conn, err := d.connect()
	if err != nil {
		return err
	}
	props := []sd.Property{sd.PropDescription(d.desc)}
	if d.isSlice() {
		props = append(props, sd.PropWants(d.unit.Slice))
	} else {
		props = append(props, sd.PropSlice(d.unit.Slice), newProp("Delegate", true), newProp("PIDs", []uint32{uint32(pid)}))
	}
	// Accounting on for every controller, and no default dependencies (so shutdown ordering is the caller's), as
	// runc sets them.
	props = append(props,
		newProp("MemoryAccounting", true), newProp("CPUAccounting", true),
		newProp("IOAccounting", true), newProp("TasksAccounting", true),
		newProp("DefaultDependencies", false))
	props = append(props, d.props...)

	ctx, cancel := context.WithTimeout(context.Background(), systemdTimeout)
	defer cancel()
	name := d.unit.Name
	done := make(chan string, 1)
	_, err = conn.StartTransientUnitContext(ctx, name, "replace", props, done)
	if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
		_ = conn.ResetFailedUnitContext(ctx, name)
		_, err = conn.StartTransientUnitContext(ctx, name, "replace", props, done)
	}
	if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
		// Still there after the reset: a live unit, another container's (the same linux.cgroupsPath).
		return fmt.Errorf("systemd unit %s: %w", name, ErrUnitExists)
	}
	if err != nil {
		// systemd's text names the property it refused ("Unknown assignment: ...", "Cannot set property ...").
		return fmt.Errorf("start systemd unit %s: %w", name, err)
	}
	d.started = true // from here on the unit is ours, whatever its job's result: the failure paths below stop it
	select {
	case res := <-done:
		if res != "done" {
			_ = conn.ResetFailedUnitContext(ctx, name)
			return fmt.Errorf("start systemd unit %s: job %s", name, res)
		}
	case <-ctx.Done():
		_ = d.stop()
		return fmt.Errorf("start systemd unit %s: no answer from systemd in %v", name, systemdTimeout)
	}
	return nil
}

// stop stops the unit, waits for the job and resets it if it failed, so that nothing of it is left. A unit that
// is already gone is not an error.
func (d *systemdDriver) stop() error {
	conn, err := d.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), systemdTimeout)
	defer cancel()
	done := make(chan string, 1)
	_, err = conn.StopUnitContext(ctx, d.unit.Name, "replace", done)
	switch {
	case isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit"):
		return nil
	case err != nil:
		return fmt.Errorf("stop systemd unit %s: %w", d.unit.Name, err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop systemd unit %s: no answer from systemd in %v", d.unit.Name, systemdTimeout)
	}
	_ = conn.ResetFailedUnitContext(ctx, d.unit.Name) // a failed unit stays loaded until reset
	return nil
}

// setProperties sets unit properties on the running unit (runtime: until the unit goes, not in /etc).
func (d *systemdDriver) setProperties(props []sd.Property) error {
	if len(props) == 0 {
		return nil
	}
	conn, err := d.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), systemdTimeout)
	defer cancel()
	if err := conn.SetUnitPropertiesContext(ctx, d.unit.Name, true, props...); err != nil {
		return fmt.Errorf("set properties of systemd unit %s: %w", d.unit.Name, err)
	}
	return nil
}

func isDBusError(err error, name string) bool {
	var e dbus.Error
	return errors.As(err, &e) && e.Name == name
}
