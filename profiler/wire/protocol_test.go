package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestErrorCodes checks that each error the tracer answers with reaches
// the client as the same sentinel, whatever its message says, and that
// the sentinel's text appears once in the client's error.
func TestErrorCodes(t *testing.T) {
	if len(errorCodes) != 6 {
		t.Fatalf("%d error codes: cover each new one here", len(errorCodes))
	}
	for code, sentinel := range errorCodes {
		for _, sent := range []error{sentinel, fmt.Errorf("%w: the peer is uid 65534", sentinel)} {
			resp := ErrorResponse(sent)
			if resp.Code != code {
				t.Errorf("%v has code %q, want %q", sentinel, resp.Code, code)
			}
			err := resp.Err()
			if !errors.Is(err, sentinel) {
				t.Errorf("%v came back as %v", sentinel, err)
			}
			if n := strings.Count(err.Error(), sentinel.Error()); n != 1 {
				t.Errorf("%q says %q %d times, want once", err, sentinel, n)
			}
			if err.Error() != sent.Error() {
				t.Errorf("the client's error %q, want the tracer's %q", err, sent)
			}
		}
	}
	other := ErrorResponse(errors.New("disk full"))
	if other.Code != "" || other.Err().Error() != "disk full" {
		t.Errorf("uncoded error = %+v", other)
	}
	if (&Response{}).Err() != nil {
		t.Error("an empty response carries an error")
	}
}
