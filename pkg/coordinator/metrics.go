package coordinator

import "github.com/prometheus/client_golang/prometheus"

// metrics are the coordinator's Prometheus series.
type metrics struct {
	joins         *prometheus.CounterVec
	joinSeconds   prometheus.Histogram
	spawns        prometheus.Counter
	deploys       prometheus.Counter
	leasesExpired prometheus.Counter
	executorsLost prometheus.Counter
	seatsReleased prometheus.Counter
	streams       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rcc_coordinator_joins_total", Help: "Join calls by result (existing, created, error).",
		}, []string{"result"}),
		joinSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rcc_coordinator_join_duration_seconds", Help: "Time to place a player, store included.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, 1},
		}),
		spawns:        prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_spawns_total", Help: "Instances spawned by Spawn."}),
		deploys:       prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_deploys_total", Help: "Game versions uploaded."}),
		leasesExpired: prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_leases_expired_total", Help: "Instances ended by lease expiry."}),
		executorsLost: prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_executors_lost_total", Help: "Executors declared lost after missed heartbeats."}),
		seatsReleased: prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_seats_released_total", Help: "Seat reservations released unused."}),
		streams:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "rcc_coordinator_assignment_streams", Help: "Executors' open assignment streams on this coordinator."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.joins, m.joinSeconds, m.spawns, m.deploys, m.leasesExpired, m.executorsLost, m.seatsReleased, m.streams} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
