package rootfs

import (
	"fmt"
	"testing"
)

func TestParseLdd(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    map[string]string
		wantErr bool
	}{
		{
			name: "resolved",
			out: "\tlinux-vdso.so.1 (0x00007ffd)\n\tliblzf.so.1 => /d/usr/lib/x86_64-linux-gnu/liblzf.so.1 (0x00007f)\n" +
				"\t/lib64/ld-linux-x86-64.so.2 (0x00007f99)\n",
			want: map[string]string{
				"liblzf.so.1":                 "/d/usr/lib/x86_64-linux-gnu/liblzf.so.1",
				"/lib64/ld-linux-x86-64.so.2": "/lib64/ld-linux-x86-64.so.2",
			},
		},
		{name: "missing", out: "\tlibjemalloc.so.2 => not found\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLdd([]byte(tt.out))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
