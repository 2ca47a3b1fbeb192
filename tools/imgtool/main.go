// Command imgtool is the firmware build's helper for the steps that are
// easier to get right in Go than in shell.
//
//	imgtool modules -tree ROOT/lib/modules/KVER -board board.json -out STAGE
//	imgtool console -board board.json
//	imgtool keygen -out KEY.pem
//	imgtool pubkey -key KEY.pem
//	imgtool sign -key KEY.pem FILE...
//
// copies the board's kernel modules and their dependencies from a depmod'ed
// kernel tree into STAGE/lib/modules/KVER with a matching modules.dep, for
// probeinit to load at boot (it loads them in parallel: u-root's init would
// load them one by one, and under emulation that costs seconds). console
// prints the board's kernel arguments (console= and kernel_args) for boot
// loader entries and the image's cmdline file.
// keygen, pubkey and sign make and use the ed25519 key that signs firmware
// updates: sign writes FILE.sig (base64 signature of the file's bytes).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/probe-appliance/probe/firmware/board"
	"github.com/probe-appliance/probe/firmware/kmod"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: imgtool modules -tree DIR -board FILE -out DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "modules":
		err = modules(os.Args[2:])
	case "console":
		err = console(os.Args[2:])
	case "keygen":
		err = keygen(os.Args[2:])
	case "pubkey":
		err = pubkey(os.Args[2:])
	case "sign":
		err = sign(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imgtool:", err)
		os.Exit(1)
	}
}

func modules(args []string) error {
	fs := flag.NewFlagSet("modules", flag.ExitOnError)
	tree := fs.String("tree", "", "kernel module directory (lib/modules/<kver>) with modules.dep")
	boardFile := fs.String("board", "", "board.json")
	out := fs.String("out", "", "staging root of the image")
	fs.Parse(args)
	if *tree == "" || *boardFile == "" || *out == "" {
		return fmt.Errorf("modules: -tree, -board and -out are required")
	}
	b, err := board.Load(*boardFile)
	if err != nil {
		return err
	}
	t, err := kmod.Open(*tree)
	if err != nil {
		return err
	}
	mods, err := t.Resolve(append(append([]string(nil), b.Modules...), b.LateModules...))
	if err != nil {
		return fmt.Errorf("board %s: %w", b.Name, err)
	}
	kver := filepath.Base(filepath.Clean(*tree))
	if err := t.Stage(filepath.Join(*out, "lib", "modules", kver), mods); err != nil {
		return err
	}
	fmt.Printf("imgtool: %d modules staged for %s (%d listed)\n", len(mods), b.Name, len(b.Modules)+len(b.LateModules))
	return nil
}

func console(args []string) error {
	fs := flag.NewFlagSet("console", flag.ExitOnError)
	boardFile := fs.String("board", "", "board.json")
	fs.Parse(args)
	b, err := board.Load(*boardFile)
	if err != nil {
		return err
	}
	fmt.Println(b.CmdLine())
	return nil
}
