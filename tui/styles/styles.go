package styles

import "github.com/charmbracelet/lipgloss"

// Styles are the lipgloss styles of the terminal screens. Build them with
// Default on the renderer of the output they are drawn to, so that the
// output's colour profile (and NO_COLOR) decides what reaches the screen.
type Styles struct {
	// Title is the product name at the left of the header.
	Title lipgloss.Style
	// Label is a header field's name; Value its value.
	Label, Value lipgloss.Style
	// Good, Warn and Bad colour states and figures by health.
	Good, Warn, Bad lipgloss.Style
	// Muted is secondary text (units, hints, empty cells).
	Muted lipgloss.Style
	// Paused is the badge shown while the display is frozen.
	Paused lipgloss.Style
	// Disconnected is the badge shown while the coordinator is unreachable.
	Disconnected lipgloss.Style
	// TableTitle is a table's title; TableTitleFocused the focused one's.
	TableTitle, TableTitleFocused lipgloss.Style
	// Header is a table's column header row.
	Header lipgloss.Style
	// Selected is the cursor row of the focused table.
	Selected lipgloss.Style
	// Key and KeyDesc render key hints in the footer.
	Key, KeyDesc lipgloss.Style
	// Prompt is a confirmation or filter prompt.
	Prompt lipgloss.Style
	// Overlay is the box of the help overlay.
	Overlay lipgloss.Style
	// Section is a heading inside a detail view.
	Section lipgloss.Style
	// Spark colours sparklines.
	Spark lipgloss.Style
}

// Default returns the styles of rccctl's screens, rendered by r.
func Default(r *lipgloss.Renderer) Styles {
	accent := lipgloss.AdaptiveColor{Light: "#5A56E0", Dark: "#7D79F6"}
	muted := lipgloss.AdaptiveColor{Light: "#8A8A8A", Dark: "#6C6C6C"}
	return Styles{
		Title:             r.NewStyle().Bold(true).Foreground(accent),
		Label:             r.NewStyle().Foreground(muted),
		Value:             r.NewStyle().Bold(true),
		Good:              r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#1A7F37", Dark: "#3FB950"}),
		Warn:              r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"}),
		Bad:               r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#F85149"}),
		Muted:             r.NewStyle().Foreground(muted),
		Paused:            r.NewStyle().Bold(true).Reverse(true).Foreground(lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"}),
		Disconnected:      r.NewStyle().Bold(true).Reverse(true).Foreground(lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#F85149"}),
		TableTitle:        r.NewStyle().Bold(true).Foreground(muted),
		TableTitleFocused: r.NewStyle().Bold(true).Foreground(accent),
		Header:            r.NewStyle().Bold(true).Underline(true),
		Selected:          r.NewStyle().Reverse(true),
		Key:               r.NewStyle().Bold(true).Foreground(accent),
		KeyDesc:           r.NewStyle().Foreground(muted),
		Prompt:            r.NewStyle().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"}),
		Overlay:           r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
		Section:           r.NewStyle().Bold(true).Foreground(accent),
		Spark:             r.NewStyle().Foreground(accent),
	}
}
