package coordinator

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rcc-games/rcc/pkg/store"
)

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
	logEntries    prometheus.Counter
	logFollowers  prometheus.Gauge
	// Checkpoints (checkpoints.go).
	checkpoints     prometheus.Counter
	checkpointBytes prometheus.Counter
	resumed         prometheus.Counter
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
		spawns:          prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_spawns_total", Help: "Instances spawned by Spawn."}),
		deploys:         prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_deploys_total", Help: "Game versions uploaded."}),
		leasesExpired:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_leases_expired_total", Help: "Instances ended by lease expiry."}),
		executorsLost:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_executors_lost_total", Help: "Executors declared lost after missed heartbeats."}),
		seatsReleased:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_seats_released_total", Help: "Seat reservations released unused."}),
		streams:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "rcc_coordinator_assignment_streams", Help: "Executors' open assignment streams on this coordinator."}),
		logEntries:      prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_log_entries_total", Help: "Instance log entries stored from executors' pushes."}),
		logFollowers:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "rcc_coordinator_log_followers", Help: "Logs streams following an instance on this coordinator."}),
		checkpoints:     prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_checkpoints_total", Help: "Instance checkpoints (snapshots) stored from executors."}),
		checkpointBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_checkpoint_bytes_total", Help: "Bytes of the instance checkpoints stored."}),
		resumed:         prometheus.NewCounter(prometheus.CounterOpts{Name: "rcc_coordinator_instances_resumed_total", Help: "Instances of lost executors placed again to resume from their checkpoint."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.joins, m.joinSeconds, m.spawns, m.deploys, m.leasesExpired, m.executorsLost, m.seatsReleased, m.streams, m.logEntries, m.logFollowers,
			m.checkpoints, m.checkpointBytes, m.resumed} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// stateCollector reports instances and executors by state, read from the
// store at each scrape (so every coordinator reports the shared totals).
type stateCollector struct {
	st        counter
	instances *prometheus.Desc
	executors *prometheus.Desc
	up        *prometheus.Desc
}

func newStateCollector(st counter) *stateCollector {
	return &stateCollector{
		st:        st,
		instances: prometheus.NewDesc("rcc_instances", "Instances by state.", []string{"state"}, nil),
		executors: prometheus.NewDesc("rcc_executors", "Executors by state.", []string{"state"}, nil),
		up:        prometheus.NewDesc("rcc_coordinator_store_up", "1 when the store answered the last scrape.", nil, nil),
	}
}

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.instances
	ch <- s.executors
	ch <- s.up
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ins, xs, err := s.st.Counts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(s.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(s.up, prometheus.GaugeValue, 1)
	for _, st := range []store.InstanceState{store.StatePending, store.StateStarting, store.StateRunning, store.StateStopping,
		store.StateStopped, store.StateFailed, store.StateLost} {
		ch <- prometheus.MustNewConstMetric(s.instances, prometheus.GaugeValue, float64(ins[st]), string(st))
	}
	for _, st := range []store.ExecutorState{store.ExecutorActive, store.ExecutorDraining, store.ExecutorLost} {
		ch <- prometheus.MustNewConstMetric(s.executors, prometheus.GaugeValue, float64(xs[st]), string(st))
	}
}
