-- Gold: silver (Iceberg, streaming) -> event-time TUMBLE windows per (event_type, metric_name)
--       -> lake.gold.metrics (Iceberg) + gold-metrics (Kafka, transactional unless at-least-once).
SET 'pipeline.name' = 'streamproof-gold';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '${CHECKPOINT_INTERVAL}';
SET 'execution.checkpointing.mode' = '${CHECKPOINT_MODE}';
-- one-phase window aggregation: the numLateRecordsDropped metric then counts events, not partial aggregates
SET 'table.optimizer.agg-phase-strategy' = 'ONE_PHASE';

CREATE CATALOG lake WITH (${CATALOG});

-- Silver through its connector as a table in the default catalog, so that a watermark can be
-- declared (a catalog table + OPTIONS hint cannot carry a WATERMARK); its columns are silver's.
CREATE TEMPORARY TABLE silver_src (
  rowtime AS CAST(event_ts AS TIMESTAMP_LTZ(3)),
  -- bounded out-of-orderness; MUST exceed the worst reordering, which after a TM kill is about the
  -- outage (detection + restart + replay since the last checkpoint), else records are dropped as late
  WATERMARK FOR rowtime AS rowtime - INTERVAL '${WM_DELAY_SECONDS}' SECOND
) WITH (
  -- Iceberg: TABLE_SCAN_THEN_INCREMENTAL re-reads history in file order (NOT event-time order), so
  -- a fresh job over existing silver data drops most of it as late; Paimon's latest-full alike.
  ${SILVER_SOURCE_OPTIONS}
) LIKE lake.silver.events (EXCLUDING OPTIONS);

CREATE TEMPORARY TABLE gold_kafka (
  window_start   TIMESTAMP(3),
  window_end     TIMESTAMP(3),
  event_type     STRING,
  metric_name    STRING,
  event_count    BIGINT,
  value_count    BIGINT,
  value_sum      DOUBLE,
  value_sum_dec  DECIMAL(38, 9),
  value_avg      DOUBLE,
  value_min      DOUBLE,
  value_max      DOUBLE
) WITH (
  'connector' = 'kafka',
  'topic' = 'gold-metrics',
  'properties.bootstrap.servers' = '${BOOTSTRAP}',
  ${KAFKA_PROPERTIES}'key.format' = 'raw',
  'key.fields' = 'event_type',
  'value.format' = 'json',
  'value.fields-include' = 'ALL',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'value.json.encode.decimal-as-plain-number' = 'true',
  'sink.delivery-guarantee' = '${DELIVERY}',
  'sink.transactional-id-prefix' = '${PREFIX}-gold',
  'properties.transaction.timeout.ms' = '${TXN_TIMEOUT_MS}'
);

CREATE TEMPORARY VIEW windows AS
SELECT window_start, window_end, event_type, metric_name,
       COUNT(*)              AS event_count,
       COUNT(metric_value)   AS value_count,
       SUM(metric_value)     AS value_sum,
       SUM(metric_value_dec) AS value_sum_dec,
       AVG(metric_value)     AS value_avg,
       MIN(metric_value)     AS value_min,
       MAX(metric_value)     AS value_max
FROM TABLE(TUMBLE(TABLE silver_src, DESCRIPTOR(rowtime), INTERVAL '${WINDOW_SECONDS}' SECOND))
GROUP BY window_start, window_end, event_type, metric_name;

EXECUTE STATEMENT SET
BEGIN
INSERT INTO lake.gold.metrics
SELECT window_start, window_end, event_type, metric_name, event_count, value_count, value_sum,
       value_sum_dec, value_avg, value_min, value_max, CURRENT_TIMESTAMP
FROM windows;
INSERT INTO gold_kafka
SELECT window_start, window_end, event_type, metric_name, event_count, value_count, value_sum,
       value_sum_dec, value_avg, value_min, value_max
FROM windows;
END;
