package profiler

import (
	"errors"
	"fmt"
	"testing"
)

// TestErrorCodes checks that each error the tracer answers with reaches
// the client as the same sentinel, whatever its message says.
func TestErrorCodes(t *testing.T) {
	for _, sentinel := range []error{ErrShuttingDown, ErrUnknownContainer, ErrBadRequest} {
		resp := errorResponse(fmt.Errorf("%w: %q", sentinel, "c1"))
		if resp.Code == "" {
			t.Errorf("%v has no code", sentinel)
		}
		if err := resp.err(); !errors.Is(err, sentinel) {
			t.Errorf("%v came back as %v", sentinel, err)
		}
	}
	other := errorResponse(errors.New("disk full"))
	if other.Code != "" || other.err().Error() != "disk full" {
		t.Errorf("uncoded error = %+v", other)
	}
	if (&response{}).err() != nil {
		t.Error("an empty response carries an error")
	}
}
