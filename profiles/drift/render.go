package drift

import (
	"github.com/tailor-dev/tailor/internal/enum"

	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is an output format of a drift report.
type Format string

// The output formats.
const (
	// FormatText is for a terminal or a log.
	FormatText Format = "text"
	// FormatJSON is the whole report, for tools.
	FormatJSON Format = "json"
	// FormatMarkdown is for a pull-request comment.
	FormatMarkdown Format = "markdown"
	// FormatGitHub is GitHub Actions workflow commands (::error and
	// ::warning annotations on CURRENT).
	FormatGitHub Format = "github"
)

// Formats lists the output formats, for flag help.
var Formats = []Format{FormatText, FormatJSON, FormatMarkdown, FormatGitHub}

// ParseFormat reads an output format name.
func ParseFormat(s string) (Format, error) {
	return enum.Parse("format", s, Formats)
}

// RenderOptions tune the output.
type RenderOptions struct {
	// Color adds ANSI colours to the text format (for a terminal only).
	Color bool
	// AnnotateFile is the file GitHub annotations name (default: CURRENT).
	// Lines are given only when it is CURRENT.
	AnnotateFile string
}

// Render writes the report judged by v in format f.
func Render(w io.Writer, r *Report, v Verdict, f Format, opts RenderOptions) error {
	var err error
	switch f {
	case FormatText:
		err = renderText(w, r, v, opts.Color)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			Verdict
			*Report
		}{v, r})
	case FormatMarkdown:
		err = renderMarkdown(w, r, v)
	case FormatGitHub:
		err = renderGitHub(w, r, v, opts.AnnotateFile)
	default:
		err = fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		return fmt.Errorf("write drift report: %w", err)
	}
	return nil
}

// errWriter keeps the first write error, so renderers can write freely.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

func describeSide(s Side) string {
	parts := []string{string(s.Format)}
	if s.Format != "seccomp JSON" {
		parts = append(parts, plural(s.Recordings, "recording"))
		if !s.Complete {
			parts = append(parts, "incomplete")
		}
	}
	return fmt.Sprintf("%s (%s)", s.Name, strings.Join(parts, ", "))
}

// neededBy says which program needed an addition and how many of
// CURRENT's recordings saw it.
func neededBy(c Change, recordings int) string {
	if c.Seen == nil {
		return ""
	}
	var who string
	switch {
	case c.Seen.Exe != "" && c.Seen.Comm != "":
		who = fmt.Sprintf("%s (%s)", c.Seen.Exe, c.Seen.Comm)
	case c.Seen.Exe != "":
		who = c.Seen.Exe
	default:
		who = c.Seen.Comm
	}
	var parts []string
	if who != "" {
		parts = append(parts, "needed by "+who)
	}
	if recordings > 0 && c.Seen.Recordings > 0 {
		parts = append(parts, fmt.Sprintf("seen in %d of %s", c.Seen.Recordings, plural(recordings, "recording")))
	}
	return strings.Join(parts, ", ")
}

// removalGroups folds removals into lines: "x86_64 syscalls: a, b".
func removalGroups(cs []Change, quote func(string) string) []string {
	var lines []string
	var key string
	var items []string
	flush := func() {
		if len(items) > 0 {
			lines = append(lines, key+": "+strings.Join(items, ", "))
		}
		items = nil
	}
	for _, c := range cs {
		var k, item string
		switch c.Kind {
		case KindABI:
			k, item = "ABIs", quote(c.Name)
		case KindSyscall:
			k, item = string(c.ABI)+" syscalls", quote(c.Name)
		case KindArgument:
			k, item = fmt.Sprintf("%s %s values", c.ABI, quote(c.Name)), c.Detail
		case KindCapability:
			k, item = "capabilities", quote(c.Name)
		case KindFile:
			k, item = "files", quote(c.Name)+" ("+c.Detail+")"
		case KindProgram:
			k, item = "programs", quote(c.Name)
		case KindNetwork:
			k, item = "network", quote(c.Name)
		case KindSignal:
			k, item = "signals", quote(c.Name)
		}
		if k != key {
			flush()
			key = k
		}
		items = append(items, item)
	}
	flush()
	return lines
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

func renderText(w io.Writer, r *Report, v Verdict, color bool) error {
	e := &errWriter{w: w}
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	e.printf("BASELINE %s\nCURRENT  %s\n", describeSide(r.Baseline), describeSide(r.Current))
	if len(r.Added) == 0 {
		e.printf("\nCURRENT needs nothing beyond BASELINE.\n")
	} else {
		e.printf("\nCURRENT needs %d more:\n", len(r.Added))
	}
	for _, c := range r.Added {
		label := fmt.Sprintf("%-6s", c.Risk)
		switch c.Risk {
		case High:
			label = paint(ansiRed, label)
		case Medium:
			label = paint(ansiYellow, label)
		}
		mark := " "
		if v.FailOn.Violates(c, true) {
			mark = "!"
		}
		const indent = "           "
		e.printf(" %s %s  %s\n", mark, label, c.Subject())
		e.printf("%s\n", wrap(c.Why, indent, indent, 100))
		e.printf("%s\n", paint(ansiDim, wrap("grade: "+c.Source, indent, indent, 100)))
		if by := neededBy(c, r.Current.Recordings); by != "" {
			e.printf("%s\n", wrap(by, indent, indent, 100))
		}
	}
	if len(r.Removed) > 0 {
		e.printf("\nCURRENT no longer needs %d:\n", len(r.Removed))
		for _, l := range removalGroups(r.Removed, func(s string) string { return s }) {
			e.printf("%s\n", wrap(l, "  ", "      ", 100))
		}
	}
	if len(r.Notes) > 0 {
		e.printf("\nNotes:\n")
		for _, n := range r.Notes {
			e.printf("%s\n", wrap(n, "  - ", "    ", 100))
		}
	}
	summary := v.Headline() + ": " + v.Summary
	if v.Drift {
		summary = paint(ansiRed, summary)
	}
	e.printf("\n%s\n", summary)
	if v.Drift {
		e.printf("(\"!\" marks the changes that fail the check)\n")
	}
	return e.err
}

// wrap breaks s into lines of at most width bytes at spaces, the first
// line prefixed with first and the others with rest.
func wrap(s, first, rest string, width int) string {
	var b strings.Builder
	line := first
	for i, word := range strings.Fields(s) {
		if i > 0 && len(line)+1+len(word) > width && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\n")
			line = rest + word
			continue
		}
		if i > 0 {
			line += " "
		}
		line += word
	}
	b.WriteString(line)
	return b.String()
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

func mdSubject(c Change) string {
	switch c.Kind {
	case KindABI:
		return "ABI " + code(c.Name)
	case KindCapability:
		return "capability " + code(c.Name)
	case KindArgument:
		return fmt.Sprintf("%s %s %s", c.ABI, code(c.Name), code(c.Detail))
	case KindFile:
		return fmt.Sprintf("file %s (%s)", code(c.Name), c.Detail)
	case KindProgram, KindNetwork, KindSignal:
		s := string(c.Kind) + " " + code(c.Name)
		if c.Detail != "" {
			s += " (" + c.Detail + ")"
		}
		return s
	}
	s := fmt.Sprintf("%s syscall %s", c.ABI, code(c.Name))
	if c.Detail != "" {
		s += " " + code(c.Detail)
	}
	return s
}

func renderMarkdown(w io.Writer, r *Report, v Verdict) error {
	e := &errWriter{w: w}
	e.printf("## tailor drift check\n\n")
	headline := "No drift"
	if v.Drift {
		headline = "Drift"
	}
	e.printf("**%s**: %s.\n\n", headline, strings.Replace(v.Summary, "--fail-on "+string(v.FailOn), code("--fail-on "+string(v.FailOn)), 1))
	e.printf("Comparing CURRENT %s with BASELINE %s.\n", code(r.Current.Name), code(r.Baseline.Name))
	if len(r.Added) > 0 {
		e.printf("\n### Needs added (%d)\n\n", len(r.Added))
		e.printf("| Risk | Need | Why | Grade from | Needed by |\n| --- | --- | --- | --- | --- |\n")
		for _, c := range r.Added {
			risk := c.Risk.String()
			if v.FailOn.Violates(c, true) {
				risk = "**" + risk + "** (fails)"
			}
			e.printf("| %s | %s | %s | %s | %s |\n", risk, mdCell(mdSubject(c)), mdCell(c.Why), mdCell(c.Source),
				mdCell(neededBy(c, r.Current.Recordings)))
		}
	}
	if len(r.Removed) > 0 {
		e.printf("\n<details><summary>No longer needed (%d)</summary>\n\n", len(r.Removed))
		for _, l := range removalGroups(r.Removed, code) {
			e.printf("- %s\n", l)
		}
		e.printf("\n</details>\n")
	}
	if len(r.Notes) > 0 {
		e.printf("\n<details><summary>Notes (%d)</summary>\n\n", len(r.Notes))
		for _, n := range r.Notes {
			e.printf("- %s\n", mdCell(n))
		}
		e.printf("\n</details>\n")
	}
	return e.err
}

// ghData escapes a workflow command's message.
func ghData(s string) string { return ghDataEscaper.Replace(s) }

// ghProp escapes a workflow command's property value.
func ghProp(s string) string { return ghPropEscaper.Replace(s) }

// The escapers are built once: a report can have many annotations.
var (
	ghDataEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghPropEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// renderGitHub writes one annotation per addition on CURRENT (an error
// when it fails the check, else a warning), one notice per group of
// removals, and the summary.
func renderGitHub(w io.Writer, r *Report, v Verdict, annotate string) error {
	e := &errWriter{w: w}
	lines := annotate == "" || annotate == r.Current.Name
	if annotate == "" {
		annotate = r.Current.Name
	}
	file := "file=" + ghProp(annotate)
	for _, c := range r.Added {
		cmd, title := "warning", fmt.Sprintf("tailor: new %s-risk need", c.Risk)
		if v.FailOn.Violates(c, true) {
			cmd = "error"
		}
		props := file
		if c.Line > 0 && lines {
			props += fmt.Sprintf(",line=%d", c.Line)
		}
		msg := fmt.Sprintf("%s: %s (grade: %s)", c.Subject(), c.Why, c.Source)
		if by := neededBy(c, r.Current.Recordings); by != "" {
			msg += "; " + by
		}
		e.printf("::%s %s,title=%s::%s\n", cmd, props, ghProp(title), ghData(msg))
	}
	for _, l := range removalGroups(r.Removed, func(s string) string { return s }) {
		cmd := "notice"
		if v.FailOn == FailOnAny {
			cmd = "error"
		}
		e.printf("::%s %s,title=%s::%s\n", cmd, file, ghProp("tailor: no longer needed"), ghData(l))
	}
	for _, n := range r.Notes {
		e.printf("::notice title=%s::%s\n", ghProp("tailor: note"), ghData(n))
	}
	e.printf("tailor diff: %s: %s\n", v.Headline(), v.Summary)
	return e.err
}
