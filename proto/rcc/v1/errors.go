package rccv1

// The ErrorInfo (google.rpc.ErrorInfo, in a status's details) by which the
// coordinator's errors tell clients what the text says to people.
const (
	// ErrorDomain is the domain of RCC's ErrorInfo reasons.
	ErrorDomain = "rcc.games"
	// ReasonNoUpgradePair: InstanceService.Upgrade was refused because a
	// version lacks the save_state/load_state pair or its save_state saves
	// nothing; the instance changes version only by a restart.
	ReasonNoUpgradePair = "NO_UPGRADE_PAIR"
)
