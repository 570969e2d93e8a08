package dockertest

import (
	"slices"
	"testing"

	dockercaps "github.com/docker/docker/oci/caps"

	"github.com/tailor-dev/tailor/generator"
)

// TestDockerDefaultCapabilities fails when Docker changes its default
// capability set: update generator's list to match.
func TestDockerDefaultCapabilities(t *testing.T) {
	want := slices.Clone(dockercaps.DefaultCapabilities())
	slices.Sort(want)
	if got := generator.DockerDefaultCapabilities(); !slices.Equal(got, want) {
		t.Errorf("generator.DockerDefaultCapabilities() = %q\nDocker's oci/caps.DefaultCapabilities() = %q", got, want)
	}
}
