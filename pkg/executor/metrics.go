package executor

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// TickBuckets are the bounds, in milliseconds, of the wasm_tick_duration_ms
// histogram: from 10 µs to 50 ms.
var TickBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 25, 50}

// metrics are the executor's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg           *prometheus.Registry
	players       prometheus.Gauge
	tick          prometheus.Histogram
	frames        prometheus.Counter
	fuel          prometheus.Counter
	overruns      prometheus.Counter
	skipped       prometheus.Counter
	statesDropped prometheus.Counter
	bytesSent     prometheus.Counter
	statesSent    *prometheus.CounterVec
	coalesced     prometheus.Counter
	inputsDropped *prometheus.CounterVec
	closes        *prometheus.CounterVec

	// Checkpoints (checkpoint.go).
	checkpoints        prometheus.Counter
	checkpointFrames   prometheus.Counter
	checkpointFailures prometheus.Counter
	checkpointPause    prometheus.Histogram
	checkpointBytes    prometheus.Histogram
	checkpointShip     prometheus.Histogram
	resumeSeconds      prometheus.Histogram
}

func newMetrics(ex *Executor) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		players: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "player_count", Help: "Open player WebSocket connections.",
		}),
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wasm_tick_duration_ms", Help: "Duration of one frame of an instance (events, tick, serialize_state), in milliseconds.",
			Buckets: TickBuckets,
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcc_executor_frames_total", Help: "Frames run, all instances together.",
		}),
		fuel: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcc_executor_fuel_used_total", Help: "Fuel (counted wasm instructions, pkg/meter) used by frames, all instances together.",
		}),
		overruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcc_executor_tick_overruns_total", Help: "Frames that ended after the instance's next frame was due.",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcc_executor_frames_skipped_total", Help: "Frames not run because their instance was behind (skip ahead, no catch-up).",
		}),
		statesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcc_executor_state_frames_dropped_total", Help: "State frames dropped from slow clients' queues.",
		}),
		bytesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcc_executor_sent_bytes_total", Help: "Bytes of frames sent to players (WebSocket payloads).",
		}),
		statesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rcc_executor_state_frames_sent_total", Help: "State frames written to players, by kind (full, delta, keyframe).",
		}, []string{"kind"}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcc_executor_coalesced_messages_total", Help: "Messages to players written in the same system call as the message before them (write calls saved).",
		}),
		inputsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rcc_executor_inputs_dropped_total", Help: "Player inputs dropped, by reason (rate, queue_full).",
		}, []string{"reason"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rcc_executor_player_closes_total", Help: "Player connections closed or refused by the server, by close code name.",
		}, []string{"code"}),
	}
	m.checkpoints = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rcc_executor_checkpoints_total", Help: "Checkpoint snapshots shipped to the coordinator.",
	})
	m.checkpointFrames = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rcc_executor_checkpoint_frames_total", Help: "Frames (with their joins, leaves and inputs) shipped after the checkpoints.",
	})
	m.checkpointFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rcc_executor_checkpoint_failures_total", Help: "Checkpoint snapshots refused and shipments failed (tried again).",
	})
	m.checkpointPause = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "rcc_executor_checkpoint_pause_seconds", Help: "Time a checkpoint holds its instance's frames: the snapshot's copy of the memory.",
		Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .002, .004, .008, .016, .025, .05},
	})
	m.checkpointBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "rcc_executor_checkpoint_bytes", Help: "Size of the checkpoint snapshots shipped (compressed), in bytes.",
		Buckets: prometheus.ExponentialBuckets(4<<10, 4, 9),
	})
	m.checkpointShip = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "rcc_executor_checkpoint_ship_seconds", Help: "Time to encode a checkpoint snapshot and store it at the coordinator.",
		Buckets: []float64{.001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	m.resumeSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "rcc_executor_checkpoint_resume_seconds", Help: "Time to restore an instance from its checkpoint and replay the frames logged after it.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	m.inputsDropped.WithLabelValues("rate")
	m.inputsDropped.WithLabelValues("queue_full")
	cache := func() wasmhost.CacheStats { return ex.engine.CacheStats() }
	m.reg.MustRegister(m.players, m.tick, m.frames, m.fuel, m.overruns, m.skipped, m.statesDropped, m.bytesSent, m.statesSent, m.coalesced,
		m.inputsDropped, m.closes, &instanceCollector{ex: ex},
		m.checkpoints, m.checkpointFrames, m.checkpointFailures, m.checkpointPause, m.checkpointBytes, m.checkpointShip, m.resumeSeconds,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rcc_executor_module_compilations_total", Help: "Modules compiled (once per module content, however many instances start at once).",
		}, func() float64 { return float64(cache().Compilations) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rcc_executor_code_cache_evictions_total", Help: "Compiled modules dropped from the cache to keep it within its bound.",
		}, func() float64 { return float64(cache().Evictions) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rcc_executor_code_cache_bytes", Help: "Size of the compiled modules cached, in bytes of code compiled.",
		}, func() float64 { return float64(cache().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rcc_executor_code_cache_modules", Help: "Compiled modules cached.",
		}, func() float64 { return float64(cache().Modules) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rcc_executor_instance_starts_total", Help: "Instances started, by path: from their module's image (image) or by running _initialize (initialize).",
			ConstLabels: prometheus.Labels{"path": "image"},
		}, func() float64 { return float64(ex.engine.StartStats().FromImage) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rcc_executor_instance_starts_total", Help: "Instances started, by path: from their module's image (image) or by running _initialize (initialize).",
			ConstLabels: prometheus.Labels{"path": "initialize"},
		}, func() float64 { return float64(ex.engine.StartStats().Initialized) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rcc_executor_instance_starts_pooled_total", Help: "Of the instances started from their module's image, those started in a memory reservation from the image's pool (given back by a stopped instance, or prepared ahead) rather than in a new mapping.",
		}, func() float64 { return float64(ex.engine.StartStats().Pooled) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// MetricsHandler serves the executor's metrics in the Prometheus formats.
func (ex *Executor) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(ex.metrics.reg, promhttp.HandlerOpts{Registry: ex.metrics.reg})
}

// Registry is the executor's Prometheus registry, for adding collectors.
func (ex *Executor) Registry() *prometheus.Registry { return ex.metrics.reg }

var (
	memoryDesc = prometheus.NewDesc("instance_memory_usage",
		"Bytes of linear memory of a running instance.", []string{"instance"}, nil)
	instancesDesc = prometheus.NewDesc("rcc_executor_instances",
		"Instances on the executor by state (ended ones while they are listed).", []string{"state"}, nil)
)

// instanceCollector reads the instances at scrape time, so a per-instance
// series disappears with its instance.
type instanceCollector struct{ ex *Executor }

func (c *instanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- memoryDesc
	ch <- instancesDesc
}

func (c *instanceCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[State]int{}
	for _, s := range c.ex.Instances() {
		counts[s.State]++
		if s.State == StateRunning {
			ch <- prometheus.MustNewConstMetric(memoryDesc, prometheus.GaugeValue, float64(s.MemoryBytes), s.ID)
		}
	}
	for _, st := range States {
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
