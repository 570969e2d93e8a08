package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Client talks to the shared tracer in Dir, starting it when needed.
type Client struct {
	Dir string
	// Timeout bounds connecting, starting the tracer and registering.
	Timeout time.Duration
	// Start launches the tracer (see StartCommand) and returns a channel
	// that says when it is ready or has exited; nil means the tracer must
	// already run.
	Start func() (<-chan error, error)
}

// ErrNoTracer is returned when no tracer answers in time.
var ErrNoTracer = errors.New("tailor tracer is not running")

func (c *Client) dial(deadline time.Time) (net.Conn, error) {
	sock := filepath.Join(c.Dir, SocketName)
	conn, err := net.DialTimeout("unix", sock, time.Until(deadline))
	if err == nil || c.Start == nil {
		if err != nil {
			return nil, fmt.Errorf("%w at %s: %w", ErrNoTracer, sock, err)
		}
		return conn, nil
	}
	ready, err := c.Start()
	if err != nil {
		return nil, fmt.Errorf("start tracer: %w", err)
	}
	err = AwaitStart(ready, deadline, func() error {
		conn, err = net.DialTimeout("unix", sock, time.Until(deadline))
		return err
	})
	switch {
	case err == nil:
		return conn, nil
	case errors.Is(err, ErrExited):
		return nil, fmt.Errorf("%w: started it, but %w", ErrNoTracer, err)
	default:
		return nil, fmt.Errorf("%w: started it, but %s did not answer within %s (see %s): %w",
			ErrNoTracer, sock, c.Timeout, filepath.Join(c.Dir, LogName), err)
	}
}

func (c *Client) call(ctx context.Context, req Request, bounded bool) (*Response, error) {
	deadline := time.Now().Add(c.Timeout)
	conn, err := c.dial(deadline)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Handles and requests go only to a tracer run by root (or by this
	// user, for tests as non-root).
	sock := filepath.Join(c.Dir, SocketName)
	uid, err := PeerUID(conn.(*net.UnixConn))
	if err != nil {
		return nil, fmt.Errorf("%w: who serves %s: %w", ErrForbidden, sock, err)
	}
	if uid != 0 && int(uid) != os.Geteuid() {
		return nil, fmt.Errorf("%w: %s is served by uid %d, not root: refusing to talk to it", ErrForbidden, sock, uid)
	}
	if bounded {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s request: %w", req.Op, err)
	}
	data = append(data, '\n')
	if len(data) > MaxRequestSize {
		return nil, fmt.Errorf("%s request of %d bytes is larger than the tracer takes (%d)", req.Op, len(data), MaxRequestSize)
	}
	var rights []byte
	if req.Registration != nil && len(req.Registration.Files) > 0 {
		var fds []int
		for _, f := range req.Registration.Files {
			fds = append(fds, int(f.Fd()))
		}
		rights = unix.UnixRights(fds...)
	}
	uc := conn.(*net.UnixConn)
	n, _, err := uc.WriteMsgUnix(data, rights, nil)
	if err == nil && n < len(data) {
		_, err = conn.Write(data[n:])
	}
	var resp Response
	if err != nil {
		// A tracer that refuses the connection at once (a peer it does
		// not serve, too many connections) answers before it reads: its
		// reason is worth more than the broken pipe.
		if derr := json.NewDecoder(conn).Decode(&resp); derr == nil && resp.Err() != nil {
			return &resp, resp.Err()
		}
		return nil, fmt.Errorf("send %s request: %w", req.Op, err)
	}
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return nil, fmt.Errorf("read %s response: %w", req.Op, err)
	}
	if err := resp.Err(); err != nil {
		return &resp, err
	}
	return &resp, nil
}

// Register asks the tracer to learn a container and returns once the
// tracer tracks it. A tracer that is shutting down refuses; Register then
// retries with its successor until Timeout.
func (c *Client) Register(ctx context.Context, reg Registration) error {
	if len(reg.Files) > MaxRequestFiles {
		return fmt.Errorf("register: %d handles, more than the tracer takes (%d)", len(reg.Files), MaxRequestFiles)
	}
	reg.NFiles = len(reg.Files)
	deadline := time.Now().Add(c.Timeout)
	for {
		_, err := c.call(ctx, Request{Op: OpRegister, Registration: &reg}, true)
		if err == nil || !errors.Is(err, ErrShuttingDown) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Ensure makes sure a tracer runs, starting one if needed. Callers outside
// a runtime's process tree (tailor learn) start it themselves, so that the
// tracer does not become the child of a runtime that reaps orphans (crun is
// a subreaper and would wait for it).
func (c *Client) Ensure() error {
	conn, err := c.dial(time.Now().Add(c.Timeout))
	if err != nil {
		return err
	}
	return conn.Close()
}

// Status returns what has been seen so far in a container.
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	resp, err := c.call(ctx, Request{Op: OpStatus, ContainerID: id}, true)
	if err != nil {
		return nil, err
	}
	return resp.Status, nil
}

// Wait blocks until the container's profile is written.
func (c *Client) Wait(ctx context.Context, id string) (*Result, error) {
	resp, err := c.call(ctx, Request{Op: OpWait, ContainerID: id}, false)
	if err != nil {
		return nil, err
	}
	return resp.Result, nil
}
