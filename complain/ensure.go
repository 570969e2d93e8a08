package complain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiler/wire"
)

// Ensure makes sure an agent answers on dir's socket, starting one with
// start when none does: the createRuntime hook calls it, before the
// runtime connects to listenerPath. The agent must be root's (or this
// user's, for tests).
func Ensure(dir string, start func() (<-chan error, error), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	err := pingAgent(dir, deadline)
	if err == nil {
		return nil
	}
	if start == nil {
		return err
	}
	ready, err := start()
	if err != nil {
		return fmt.Errorf("start the seccomp agent: %w", err)
	}
	err = wire.AwaitStart(ready, deadline, func() error { return pingAgent(dir, deadline) })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wire.ErrExited):
		return fmt.Errorf("started the seccomp agent, but %w", err)
	default:
		return fmt.Errorf("started the seccomp agent, but it did not answer within %s (see %s): %w",
			timeout, filepath.Join(dir, LogName), err)
	}
}

func pingAgent(dir string, deadline time.Time) error {
	sock := filepath.Join(dir, SocketName)
	conn, err := net.DialTimeout("unix", sock, time.Until(deadline))
	if err != nil {
		return fmt.Errorf("no seccomp agent at %s: %w", sock, err)
	}
	defer conn.Close()
	uid, err := profiler.PeerUID(conn.(*net.UnixConn))
	if err != nil {
		return fmt.Errorf("who serves %s: %w", sock, err)
	}
	if uid != 0 && int(uid) != os.Geteuid() {
		return fmt.Errorf("%s is served by uid %d, not root: refusing it", sock, uid)
	}
	conn.SetDeadline(deadline)
	if _, err := conn.Write(ping); err != nil {
		return fmt.Errorf("ping the seccomp agent: %w", err)
	}
	got := make([]byte, len(pong))
	if _, err := io.ReadFull(conn, got); err != nil {
		return fmt.Errorf("the seccomp agent at %s did not answer: %w", sock, err)
	}
	if !bytes.Equal(got, pong) {
		return fmt.Errorf("%s answered %q, not the seccomp agent's %q: is another program listening there?", sock, got, pong)
	}
	return nil
}
