// Command drsae trains and uses sparse coding models on the CPU or an OpenGL GPU.
//
//	drsae info                         backends found and their devices
//	drsae train KIND [flags]           train a model (drsae train -h lists the kinds)
//	drsae encode --model M [flags]     codes of a data set
//	drsae eval --model M [flags]       error rates and code statistics
//	drsae show --model M [flags]       pictures of filters as PNG
//	drsae bench [flags]                time every kernel and model step on each backend
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// A command is one subcommand. run parses its own flags from args.
type command struct {
	name, args, summary string
	run                 func(args []string) error
}

var commands = map[string]*command{}

func addCommand(c *command) { commands[c.name] = c }

// usageError marks an error in how drsae was called: it is printed with a hint and exit code 2.
type usageError struct {
	msg   string
	usage func() // prints the command's usage; nil where there is none
}

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

var stdout io.Writer = os.Stdout
var stderr io.Writer = os.Stderr

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) (code int) {
	defer func() {
		// A panic here is a bug in drsae, not bad input; say so in one line and keep the trace
		// for DRSAE_DEBUG=1.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "drsae: internal error: %v\n", r)
			if os.Getenv("DRSAE_DEBUG") != "" {
				fmt.Fprintf(stderr, "%s", debug.Stack())
			} else {
				fmt.Fprintln(stderr, "drsae: run with DRSAE_DEBUG=1 for a stack trace, and please report it")
			}
			code = 3
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "drsae: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}
	err := c.run(args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "drsae %s: %v\n", c.name, err)
		var ue usageError
		if errors.As(err, &ue) && ue.usage != nil {
			fmt.Fprintln(stderr)
			ue.usage()
		} else {
			fmt.Fprintf(stderr, "run 'drsae %s -h' for usage\n", c.name)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "drsae %s: %v\n", c.name, err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "drsae: sparse coding (ISTA, FISTA, LISTA, DrSAE, group-sparse and convolutional auto-encoders) on CPU and GPU")
	fmt.Fprintln(w, "\nusage: drsae COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %-28s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintln(w, "\nenvironment: DRSAE_BACKEND=auto|cpu|gpu, DRSAE_GL=egl|glfw, DRSAE_MNIST=folder with the MNIST files")
}

// newFlags returns a flag set that reports errors instead of exiting; parseFlags prints the
// usage text on -h and one line (no usage dump) on a bad flag.
func newFlags(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("drsae "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on every error too; parseFlags prints it on -h
	usages[fs] = func() {
		fmt.Fprintf(stderr, "usage: drsae %s\n\n%s\n", strings.TrimSpace(name+" "+args), summary)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			return
		}
		fmt.Fprintf(stderr, "\nflags:\n")
		printDefaults(fs)
	}
	return fs
}

var usages = map[*flag.FlagSet]func(){}

// printDefaults lists the flags as "--name type  meaning (default v)", a default left out where it
// is the zero value.
func printDefaults(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, help := flag.UnquoteUsage(f)
		if v, ok := f.Value.(fieldValue); ok {
			typ = map[reflect.Kind]string{reflect.Int: "int", reflect.Int64: "int", reflect.Uint64: "uint", reflect.Float64: "number", reflect.String: "string"}[v.v.Kind()]
		}
		fmt.Fprintf(stderr, "  --%s %s\n    \t%s", f.Name, typ, help)
		switch f.DefValue {
		case "", "0", "false", "0s":
		default:
			fmt.Fprintf(stderr, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(stderr)
	})
}

// parseFlags parses args; a bad flag or a stray argument is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage := usages[fs]
	delete(usages, fs) // a flag set is parsed once
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if usage != nil {
				usage()
			}
			return err
		}
		return usageError{msg: printable(err.Error()), usage: usage}
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), usage: usage}
	}
	return nil
}

// printable escapes, Go-style, a message that holds characters a terminal would not show as
// they are (a newline in a flag's name), so that an error stays one line.
func printable(msg string) string {
	if strings.IndexFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return msg
	}
	q := strconv.Quote(msg)
	return q[1 : len(q)-1]
}
