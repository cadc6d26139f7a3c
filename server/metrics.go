package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics. The names are Triton's
// (nv_inference_request_success, nv_inference_count, ...) under the prefix
// dla_ instead of nv_, since they describe this server, not NVIDIA's, with
// the Prometheus conventions promtool checks: counters end in _total,
// durations are histograms in seconds (Triton's are microsecond counters),
// and the pending gauge is dla_inference_pending_requests (a gauge may not
// end in _count).
type metrics struct {
	registry   *prometheus.Registry
	success    *prometheus.CounterVec
	failure    *prometheus.CounterVec
	count      *prometheus.CounterVec
	execCount  *prometheus.CounterVec
	requestDur *prometheus.HistogramVec
	queueDur   *prometheus.HistogramVec
	computeDur *prometheus.HistogramVec
	batchSize  *prometheus.HistogramVec
	pending    *prometheus.GaugeVec
}

// modelMetrics are one model's series.
type modelMetrics struct {
	success    prometheus.Counter
	failure    *prometheus.CounterVec
	count      prometheus.Counter
	execCount  prometheus.Counter
	requestDur prometheus.Observer
	queueDur   prometheus.Observer
	computeDur prometheus.Observer
	batchSize  prometheus.Observer
	pending    prometheus.Gauge
}

func newMetrics(maxBatch int) *metrics {
	labels := []string{"model", "version"}
	seconds := prometheus.ExponentialBuckets(0.0005, 2, 16) // 0.5 ms to 16 s
	m := &metrics{
		registry: prometheus.NewRegistry(),
		success: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dla_inference_request_success_total",
			Help: "Inference requests answered with a result."}, labels),
		failure: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dla_inference_request_failure_total",
			Help: "Inference requests that failed, by reason: REJECTED (queue full), TIMEOUT, CANCELED, INVALID (bad request), BACKEND."},
			append(labels, "reason")),
		count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dla_inference_count_total",
			Help: "Images inferred (a batch of N counts N)."}, labels),
		execCount: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dla_inference_exec_count_total",
			Help: "Forward passes run (batches)."}, labels),
		requestDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dla_inference_request_duration_seconds",
			Help: "Inference request time from arrival to result or failure.", Buckets: seconds}, labels),
		queueDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dla_inference_queue_duration_seconds",
			Help: "Time requests waited in the queue for their batch.", Buckets: seconds}, labels),
		computeDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dla_inference_compute_duration_seconds",
			Help: "Time of each forward pass.", Buckets: seconds}, labels),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dla_inference_batch_size",
			Help: "Images per forward pass.", Buckets: prometheus.LinearBuckets(1, 1, maxBatch)}, labels),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dla_inference_pending_requests",
			Help: "Inference requests admitted and not yet answered."}, labels),
	}
	m.registry.MustRegister(m.success, m.failure, m.count, m.execCount, m.requestDur, m.queueDur,
		m.computeDur, m.batchSize, m.pending,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) forModel(name string) *modelMetrics {
	l := prometheus.Labels{"model": name, "version": modelVersion}
	mm := &modelMetrics{
		success: m.success.With(l), failure: m.failure.MustCurryWith(l), count: m.count.With(l),
		execCount: m.execCount.With(l), requestDur: m.requestDur.With(l), queueDur: m.queueDur.With(l),
		computeDur: m.computeDur.With(l), batchSize: m.batchSize.With(l), pending: m.pending.With(l),
	}
	// Every reason appears from the start, so that rates need no absent() guards.
	for _, r := range []string{reasonRejected, reasonTimeout, reasonCanceled, reasonInvalid, reasonBackend} {
		mm.failure.WithLabelValues(r)
	}
	return mm
}

// done counts a request that ended with err (nil: success).
func (mm *modelMetrics) done(start time.Time, err error) {
	mm.requestDur.Observe(time.Since(start).Seconds())
	if err == nil {
		mm.success.Inc()
		return
	}
	mm.failure.WithLabelValues(asAPIError(err).reason).Inc()
}

func (mm *modelMetrics) queued(d time.Duration) { mm.queueDur.Observe(d.Seconds()) }

func (mm *modelMetrics) computed(images int, d time.Duration) {
	mm.execCount.Inc()
	mm.count.Add(float64(images))
	mm.batchSize.Observe(float64(images))
	mm.computeDur.Observe(d.Seconds())
}
