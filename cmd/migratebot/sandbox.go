package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/migratebot/migratebot/sandbox"
)

func runSandbox(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scriptPath := fs.String("script", "", "script file; without it, lines are read from the terminal")
	asJSON := fs.Bool("json", false, "print every effect as one JSON object per line")
	verbose := fs.Bool("v", false, "print the bot's own logs to stderr")
	tickets := fs.String("tickets", "github", "where change tickets go: github (issues in acme/change-requests), jira or servicenow (emulators)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sandbox takes no arguments, got %q\n%s", fs.Args(), usage)
	}
	in := stdin
	interactive := *scriptPath == ""
	if !interactive {
		f, err := os.Open(*scriptPath)
		if err != nil {
			return fmt.Errorf("script: %w", err)
		}
		defer f.Close()
		in = f
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	sb, err := sandbox.New(ctx, sandbox.Options{RedisURL: os.Getenv("REDIS_URL"), Log: logger, Tickets: *tickets})
	if err != nil {
		return err
	}
	defer sb.Close()

	if interactive && !*asJSON {
		fmt.Fprintln(stdout, "migratebot sandbox: type script lines (as alice, /migrate start web-api, github merge last, clock +30m); Ctrl-D ends.")
	}
	sc := bufio.NewScanner(in)
	for n := 1; ; n++ {
		if interactive && !*asJSON {
			fmt.Fprint(stdout, "> ")
		}
		if !sc.Scan() {
			break
		}
		line := sc.Text()
		events, err := sb.Exec(ctx, n, line)
		if err != nil {
			return err
		}
		if *asJSON {
			err = sandbox.WriteJSON(stdout, events)
		} else {
			text := line
			if interactive {
				text = "" // the terminal already shows what was typed
			}
			err = sandbox.WriteTranscript(stdout, n, text, events)
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
	}
	return sc.Err()
}
