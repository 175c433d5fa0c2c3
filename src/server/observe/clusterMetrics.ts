/**
 * One scrape for the whole cluster: every gateway process that shares the Redis answers
 * `metrics:get` through the Socket.IO adapter (as the admin listing does, see
 * cluster/clusterControl.ts) with its registry as JSON, and prom-client's
 * `AggregatorRegistry.aggregate` merges them. Each process's series carry its own `host`
 * and `instance` labels, so the merge is a union: one series per worker.
 *
 * Answers travel over Redis pub/sub to the asking process only (the streams adapter's
 * responses are not stored in the stream), so a scrape costs one small request in the
 * stream plus N-1 replies. When Redis is not ready the answer is this process alone, at
 * once; when a process does not answer, the adapter gives up after its request timeout
 * (5 s) with the replies it has. Either way the view says it is incomplete.
 */
import { AggregatorRegistry, Gauge, type MetricObjectWithValues, type MetricValue, type PrometheusContentType, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { GatewayIo } from '../socket/socketServer.js';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export interface ClusterMetrics {
  /** This process's metrics, Prometheus text format. */
  local(): Promise<string>;
  /** Every process's metrics (those that answered) plus the completeness gauges. */
  cluster(): Promise<string>;
  contentType: string;
}

export interface ClusterMetricsOptions {
  /** False without Redis: this process is the whole gateway. */
  clustered: boolean;
  redisReady: () => boolean;
  log: Logger;
}

export function createClusterMetrics(io: GatewayIo, register: Registry, opts: ClusterMetricsOptions): ClusterMetrics {
  io.on('metrics:get', (reply) => {
    register.getMetricsAsJSON().then(reply, (err: unknown) => {
      opts.log.warn('metrics for another process failed', { err });
      reply([]);
    });
  });

  const askOthers = (): Promise<{ responses: MetricsJson[]; complete: boolean }> => {
    if (!opts.clustered) return Promise.resolve({ responses: [], complete: true });
    // Redis down: the request could not travel; say so now rather than after the timeout.
    if (!opts.redisReady()) return Promise.resolve({ responses: [], complete: false });
    return new Promise((resolve) =>
      io.serverSideEmit('metrics:get', (err: Error | null, responses: MetricsJson[]) => {
        if (err) opts.log.warn('some gateway processes did not answer the metrics request', { err });
        resolve({ responses, complete: !err });
      }),
    );
  };

  return {
    contentType: register.contentType,
    local: () => register.metrics(),
    cluster: async () => {
      const [own, others] = await Promise.all([register.getMetricsAsJSON(), askOthers()]);
      return mergeMetrics([own, ...others.responses], { complete: others.complete }).metrics();
    },
  };
}

/**
 * Merges processes' registries (getMetricsAsJSON). Every aggregator is forced to `sum`:
 * the series of different processes differ by their host/instance labels, so nothing is
 * really added up, while prom-client's own choices would drop some series (`omit` for
 * process_start_time_seconds) or keep only one process's (`first`, `average`, ...).
 */
export function mergeMetrics(processes: MetricsJson[], status: { complete: boolean }): Registry {
  const merged = AggregatorRegistry.aggregate<PrometheusContentType>(processes.map((metrics) => metrics.map((m) => ({ ...m, aggregator: 'sum' as const }))));
  new Gauge({
    name: 'webssh_metrics_cluster_complete',
    help: '1 when every gateway process answered this cluster scrape, 0 when some are missing (Redis down, a process did not answer in time).',
    registers: [merged],
  }).set(status.complete ? 1 : 0);
  new Gauge({
    name: 'webssh_metrics_cluster_processes',
    help: 'Gateway processes whose metrics are in this cluster scrape (this one included).',
    registers: [merged],
  }).set(processes.length);
  return merged;
}
