package styles

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the key bindings of rccctl's screens, in the conventions of k9s
// and htop. A binding a screen does not offer (the actions under
// --read-only, for instance) is disabled with SetEnabled(false), which also
// hides it from the help.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// Filter opens the filter prompt (substring or label=value).
	Filter key.Binding
	// SortNext and SortPrev choose the sort column; SortReverse reverses it.
	SortNext, SortPrev, SortReverse key.Binding
	// Enter opens the detail view; Back leaves it (or a prompt).
	Enter, Back key.Binding
	// Tab moves between tables.
	Tab key.Binding
	// Pause freezes and unfreezes the display.
	Pause key.Binding
	// Faster and Slower change the refresh interval.
	Faster, Slower key.Binding
	// Help shows the help overlay.
	Help key.Binding
	// Quit leaves.
	Quit key.Binding
	// Stop and Renew act on the selected instance; Drain and Undrain on the
	// selected executor. Each asks for confirmation.
	Stop, Renew, Drain, Undrain key.Binding
	// Yes and No answer a confirmation prompt.
	Yes, No key.Binding
}

// DefaultKeyMap returns rccctl's key bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		SortNext:    key.NewBinding(key.WithKeys("s", ">"), key.WithHelp("s/>", "sort column")),
		SortPrev:    key.NewBinding(key.WithKeys("<"), key.WithHelp("<", "sort column back")),
		SortReverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse")),
		Enter:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Tab:         key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "table")),
		Pause:       key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Faster:      key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster")),
		Slower:      key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "slower")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Stop:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop")),
		Renew:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "renew")),
		Drain:       key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "drain")),
		Undrain:     key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undrain")),
		Yes:         key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:          key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
	}
}
