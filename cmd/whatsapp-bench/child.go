package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a process the harness started: the server under test, a relay,
// the fake Graph or a load generator. It is ended only through its own pid.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser // nil unless asked for
	stdout *bufio.Reader  // nil unless asked for
	log    string         // file receiving stderr (and stdout when not piped)
	done   chan struct{}  // closed when the process has exited
	err    error          // Wait's result, once done
}

type childOpts struct {
	env        []string // nil: the harness's own environment
	pipeStdin  bool
	pipeStdout bool
}

// startChild starts argv with stderr going to logPath.
func startChild(name string, argv []string, logPath string, o childOpts) (*child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor once started
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = o.env
	cmd.Stderr = logf
	cmd.SysProcAttr = childSysProcAttr()
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	if o.pipeStdin {
		if c.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	var pw *os.File
	if o.pipeStdout {
		// An os.Pipe rather than StdoutPipe: Wait (which runs as soon as
		// the child exits) closes a StdoutPipe, losing what a load process
		// printed just before exiting.
		pr, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		pw = w
		cmd.Stdout = pw
		c.stdout = bufio.NewReaderSize(pr, 1<<20)
	} else {
		cmd.Stdout = logf
	}
	err = cmd.Start()
	if pw != nil {
		pw.Close() // the child holds its own copy; EOF comes when it exits
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the child: its stdin is closed (relays and roles exit on EOF),
// then SIGTERM (the server shuts down gracefully), then after grace SIGKILL.
func (c *child) stop(grace time.Duration) error {
	if c == nil {
		return nil
	}
	if c.stdin != nil {
		c.stdin.Close()
	}
	if c.exited() {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return nil
	case <-time.After(grace):
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within %s after SIGTERM; killed", c.name, grace)
	}
}

// tail is the end of the child's log, for error messages.
func (c *child) tail() string {
	b, _ := os.ReadFile(c.log)
	const n = 1500
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// readLine reads one line of the child's stdout within d.
func (c *child) readLine(d time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.stdout.ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return r.s, fmt.Errorf("%s: reading its output: %w (log: %s)", c.name, r.err, c.tail())
		}
		return r.s, nil
	case <-time.After(d):
		return "", fmt.Errorf("%s: no output within %s (log: %s)", c.name, d, c.tail())
	}
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy polls url until it answers 200, the child exits, or d passes.
func waitHealthy(ctx context.Context, c *child, url string, d time.Duration) error {
	deadline := time.Now().Add(d)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if c.exited() {
			return fmt.Errorf("%s exited before answering %s: %v (log: %s)", c.name, url, c.err, c.tail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s did not answer 200 within %s (log: %s)", c.name, url, d, c.tail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// childEnv is the harness's environment without any WHATSAPP_ setting of
// the user's (a store, a token, a Graph URL), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "WHATSAPP_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// watchStdin ends the process when its stdin closes: a role's parent died
// or stopped it. Roles also stop after maxLife whatever happens.
func watchStdin(maxLife time.Duration) {
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	go func() {
		time.Sleep(maxLife)
		fmt.Fprintf(os.Stderr, "whatsapp-bench: role still running after %s; exiting\n", maxLife)
		os.Exit(3)
	}()
}

var errSkipped = errors.New("skipped")
