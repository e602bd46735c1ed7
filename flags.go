package main

import "github.com/urfave/cli/v2"

// urfave/cli v2.27's Names() runs a regexp over each of a flag's names on every call (FlagNames, a guard for v1's
// "name, alias" strings), and app.Run calls it O(flags^2) times: runFlagActions asks IsSet of every flag of the app
// and of the command, and IsSet of a flag not on the command line scans the flags' Names() until it finds it. That
// was ~30% of the instructions of `rt exec` before it reached the container (callgrind). The types below are
// urfave/cli's own flags with their names computed once, without the regexp; every other method (Apply, String,
// IsVisible, ...) is the embedded flag's, so parsing and help output are unchanged. rt's names hold no comma or space,
// so the regexp never changed one (TestFlagNamesAsUrfave checks).

type boolFlag struct {
	*cli.BoolFlag
	names []string
}

func (f *boolFlag) Names() []string { return f.names }

type stringFlag struct {
	*cli.StringFlag
	names []string
}

func (f *stringFlag) Names() []string { return f.names }

type intFlag struct {
	*cli.IntFlag
	names []string
}

func (f *intFlag) Names() []string { return f.names }

type durationFlag struct {
	*cli.DurationFlag
	names []string
}

func (f *durationFlag) Names() []string { return f.names }

type stringSliceFlag struct {
	*cli.StringSliceFlag
	names []string
}

func (f *stringSliceFlag) Names() []string { return f.names }

// flagNames is urfave/cli's FlagNames for a name and aliases that hold no comma or space.
func flagNames(name string, aliases []string) []string {
	return append([]string{name}, aliases...)
}

// withNames returns f as one of the types above; a flag of another type is returned as it is (slow names:
// TestFlagNamesAsUrfave fails until its type is added above).
func withNames(f cli.Flag) cli.Flag {
	switch f := f.(type) {
	case *cli.BoolFlag:
		return &boolFlag{f, flagNames(f.Name, f.Aliases)}
	case *cli.StringFlag:
		return &stringFlag{f, flagNames(f.Name, f.Aliases)}
	case *cli.IntFlag:
		return &intFlag{f, flagNames(f.Name, f.Aliases)}
	case *cli.DurationFlag:
		return &durationFlag{f, flagNames(f.Name, f.Aliases)}
	case *cli.StringSliceFlag:
		return &stringSliceFlag{f, flagNames(f.Name, f.Aliases)}
	}
	return f
}

// cacheFlagNames gives each of flags names computed once (withNames). main does it for the app's flags and the
// command it runs only: wrapping the flags of all 17 commands cost more (~70k instructions) than the names of
// the others save.
func cacheFlagNames(flags []cli.Flag) {
	for i, f := range flags {
		flags[i] = withNames(f)
	}
}
