-- Silver: bronze (Iceberg, streaming read of committed snapshots) -> parse + validate -> dedup by event_id
--         -> lake.silver.events (Iceberg) + silver-events (Kafka, transactional unless at-least-once); invalid -> dlq-events.
SET 'pipeline.name' = 'streamproof-silver';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '${CHECKPOINT_INTERVAL}';
SET 'execution.checkpointing.mode' = '${CHECKPOINT_MODE}';
-- dedup state: an event_id seen within this TTL is dropped as a duplicate
SET 'table.exec.state.ttl' = '${STATE_TTL}';

CREATE CATALOG lake WITH (${CATALOG});

CREATE TEMPORARY TABLE silver_kafka (
  event_id   STRING,
  raw_value  STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'silver-events',
  'properties.bootstrap.servers' = '${BOOTSTRAP}',
  ${KAFKA_PROPERTIES}'key.format' = 'raw',
  'key.fields' = 'event_id',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY',
  'sink.delivery-guarantee' = '${DELIVERY}',
  'sink.transactional-id-prefix' = '${PREFIX}-silver',
  'properties.transaction.timeout.ms' = '${TXN_TIMEOUT_MS}'
);

CREATE TEMPORARY TABLE dlq_kafka (
  original_message  STRING,
  error             STRING,
  `timestamp`       STRING,
  source_topic      STRING,
  source_partition  INT,
  source_offset     BIGINT
) WITH (
  'connector' = 'kafka',
  'topic' = 'dlq-events',
  'properties.bootstrap.servers' = '${BOOTSTRAP}',
  ${KAFKA_PROPERTIES}'format' = 'json',
  'json.encode.decimal-as-plain-number' = 'true',
  'sink.delivery-guarantee' = '${DELIVERY}',
  'sink.transactional-id-prefix' = '${PREFIX}-dlq',
  'properties.transaction.timeout.ms' = '${TXN_TIMEOUT_MS}'
);

-- 0) the event as JSON: the value itself, or for a schema registry's wire format the value
--    decoded through the registry (NULL when it does not decode: the record goes to the DLQ)
${FUNCTIONS}
CREATE TEMPORARY VIEW events AS
SELECT kafka_topic, kafka_partition, kafka_offset, raw_value, ${EVENT_JSON} AS event_json
FROM lake.bronze.events /*+ OPTIONS(${STREAM_READ_OPTIONS}) */;

-- 1) parse: only committed bronze snapshots, from the first one on (restores resume from checkpointed position)
CREATE TEMPORARY VIEW parsed AS
SELECT
  kafka_topic, kafka_partition, kafka_offset, raw_value, event_json,
  event_json IS JSON OBJECT                                  AS is_json,
  JSON_VALUE(event_json, '$.event_id')                       AS event_id,
  JSON_VALUE(event_json, '$.event_type')                     AS event_type,
  JSON_VALUE(event_json, '$.event_timestamp')                AS event_timestamp,
  JSON_VALUE(event_json, '$.source_system')                  AS source_system,
  COALESCE(JSON_VALUE(event_json, '$.schema_version'), '1.0') AS schema_version,
  JSON_QUERY(event_json, '$.payload')                        AS payload,
  JSON_QUERY(event_json, '$.metadata')                       AS metadata,
  -- required payload fields: present and not JSON null (string or number/bool -> JSON_VALUE, object/array -> JSON_QUERY)
  COALESCE(JSON_VALUE(event_json, '$.payload.user_id'),        JSON_QUERY(event_json, '$.payload.user_id'))        AS p_user_id,
  COALESCE(JSON_VALUE(event_json, '$.payload.action'),         JSON_QUERY(event_json, '$.payload.action'))         AS p_action,
  COALESCE(JSON_VALUE(event_json, '$.payload.transaction_id'), JSON_QUERY(event_json, '$.payload.transaction_id')) AS p_transaction_id,
  COALESCE(JSON_VALUE(event_json, '$.payload.currency'),       JSON_QUERY(event_json, '$.payload.currency'))       AS p_currency,
  COALESCE(JSON_VALUE(event_json, '$.payload.transaction_type'), JSON_QUERY(event_json, '$.payload.transaction_type')) AS p_transaction_type,
  COALESCE(JSON_VALUE(event_json, '$.payload.component'),      JSON_QUERY(event_json, '$.payload.component'))      AS p_component,
  COALESCE(JSON_VALUE(event_json, '$.payload.status'),         JSON_QUERY(event_json, '$.payload.status'))         AS p_status,
  COALESCE(JSON_VALUE(event_json, '$.payload.metric_name'),    JSON_QUERY(event_json, '$.payload.metric_name'))    AS p_metric_name,
  COALESCE(JSON_VALUE(event_json, '$.payload.application'),    JSON_QUERY(event_json, '$.payload.application'))    AS p_application,
  COALESCE(JSON_VALUE(event_json, '$.payload.severity'),       JSON_QUERY(event_json, '$.payload.severity'))       AS p_severity,
  COALESCE(JSON_VALUE(event_json, '$.payload.message'),        JSON_QUERY(event_json, '$.payload.message'))        AS p_message,
  -- numbers: '[12.5]' for a JSON number, '["12.5"]' for a string (JSON_VALUE alone cannot tell them apart)
  JSON_QUERY(event_json, '$.payload.amount' WITH ARRAY WRAPPER)        AS amount_wrapped,
  JSON_QUERY(event_json, '$.payload.metric_value' WITH ARRAY WRAPPER)  AS metric_value_wrapped,
  JSON_VALUE(event_json, '$.payload.amount')                           AS amount_text,
  JSON_VALUE(event_json, '$.payload.metric_value')                     AS metric_value_text
FROM events;

-- 2) validate: one error string listing every problem ('; '-separated), NULL when valid
CREATE TEMPORARY VIEW checked AS
SELECT p.*,
  -- UTC timestamp: strict shape, then a round trip catches impossible dates (TRY_CAST is lenient: 02-30 -> 02-28)
  CASE WHEN REGEXP(event_timestamp, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00|-00:00)$')
       THEN TRY_CAST(REPLACE(REGEXP_EXTRACT(event_timestamp, '^([0-9-]{10})T([0-9:.]+)', 1) || ' ' ||
                             REGEXP_EXTRACT(event_timestamp, '^([0-9-]{10})T([0-9:.]+)', 2), 'T', ' ') AS TIMESTAMP_LTZ(3))
  END AS event_ts,
  CASE WHEN ${UNDECODED} THEN 'event: does not match its registered schema'
       WHEN NOT is_json THEN 'event: not a JSON object'
  ELSE NULLIF(CONCAT_WS('; ',
    CASE WHEN event_id IS NULL OR NOT REGEXP(event_id, '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
         THEN 'event_id: `' || COALESCE(event_id, 'null') || '` is not a UUID' END,
    CASE WHEN event_timestamp IS NULL
           OR NOT REGEXP(event_timestamp, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00|-00:00)$')
           OR SUBSTRING(event_timestamp FROM 1 FOR 19) <> DATE_FORMAT(
                TRY_CAST(SUBSTRING(event_timestamp FROM 1 FOR 10) || ' ' || SUBSTRING(event_timestamp FROM 12 FOR 8) AS TIMESTAMP(3)),
                'yyyy-MM-dd''T''HH:mm:ss')
           OR TRY_CAST(SUBSTRING(event_timestamp FROM 1 FOR 10) || ' ' || SUBSTRING(event_timestamp FROM 12 FOR 8) AS TIMESTAMP(3)) IS NULL
         THEN 'event_timestamp: `' || COALESCE(event_timestamp, 'null') || '` is not an ISO 8601 UTC timestamp' END,
    CASE WHEN source_system IS NULL OR TRIM(source_system) = '' THEN 'source_system: must name the system that emitted the event' END,
    CASE WHEN schema_version <> '1.0' THEN 'schema_version: `' || schema_version || '` is not supported' END,
    CASE WHEN event_type IS NULL OR event_type NOT IN ('user_action', 'transaction', 'system_event', 'metric_event', 'log_event')
         THEN 'event_type: unknown event type `' || COALESCE(event_type, 'null') || '`' END,
    CASE WHEN payload IS NULL THEN 'payload: must be a JSON object' END,
    -- required payload fields per type
    CASE WHEN event_type = 'user_action'  AND (p_user_id IS NULL OR TRIM(p_user_id) = '') THEN 'payload.user_id: is required' END,
    CASE WHEN event_type = 'user_action'  AND (p_action IS NULL OR TRIM(p_action) = '') THEN 'payload.action: is required' END,
    CASE WHEN event_type = 'transaction'  AND (p_transaction_id IS NULL OR TRIM(p_transaction_id) = '') THEN 'payload.transaction_id: is required' END,
    CASE WHEN event_type = 'transaction'  AND (amount_wrapped IS NULL OR amount_wrapped = '[null]') THEN 'payload.amount: is required' END,
    CASE WHEN event_type = 'transaction'  AND amount_wrapped IS NOT NULL AND amount_wrapped <> '[null]'
              AND NOT REGEXP(amount_wrapped, '^\[-?[0-9]') THEN 'payload.amount: must be a number' END,
    CASE WHEN event_type = 'transaction'  AND REGEXP(amount_wrapped, '^\[-') THEN 'payload.amount: must not be negative' END,
    CASE WHEN event_type = 'transaction'  AND (p_currency IS NULL OR TRIM(p_currency) = '') THEN 'payload.currency: is required' END,
    CASE WHEN event_type = 'transaction'  AND p_currency IS NOT NULL AND TRIM(p_currency) <> '' AND NOT REGEXP(p_currency, '^[A-Z]{3}$')
         THEN 'payload.currency: is not an ISO 4217 currency code' END,
    CASE WHEN event_type = 'transaction'  AND (p_transaction_type IS NULL OR TRIM(p_transaction_type) = '') THEN 'payload.transaction_type: is required' END,
    CASE WHEN event_type = 'system_event' AND (p_component IS NULL OR TRIM(p_component) = '') THEN 'payload.component: is required' END,
    CASE WHEN event_type = 'system_event' AND (p_status IS NULL OR TRIM(p_status) = '') THEN 'payload.status: is required' END,
    CASE WHEN event_type = 'metric_event' AND (p_metric_name IS NULL OR TRIM(p_metric_name) = '') THEN 'payload.metric_name: is required' END,
    CASE WHEN event_type = 'metric_event' AND (metric_value_wrapped IS NULL OR metric_value_wrapped = '[null]') THEN 'payload.metric_value: is required' END,
    CASE WHEN event_type = 'metric_event' AND metric_value_wrapped IS NOT NULL AND metric_value_wrapped <> '[null]'
              AND NOT REGEXP(metric_value_wrapped, '^\[-?[0-9]') THEN 'payload.metric_value: must be a number' END,
    CASE WHEN event_type = 'log_event'    AND (p_application IS NULL OR TRIM(p_application) = '') THEN 'payload.application: is required' END,
    CASE WHEN event_type = 'log_event'    AND (p_severity IS NULL OR TRIM(p_severity) = '') THEN 'payload.severity: is required' END,
    CASE WHEN event_type = 'log_event'    AND (p_message IS NULL OR TRIM(p_message) = '') THEN 'payload.message: is required' END,
    CASE WHEN CHAR_LENGTH(raw_value) > 1048576 THEN 'event: larger than 1 MiB' END
  ), '') END AS error
FROM parsed AS p;

-- 3) dedup valid events by event_id, keep the first seen (proctime ASC => insert-only output)
CREATE TEMPORARY VIEW valid_events AS
SELECT * FROM checked WHERE error IS NULL AND event_ts IS NOT NULL;

CREATE TEMPORARY VIEW deduped AS
SELECT * FROM (
  SELECT v.*, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc ASC) AS rn
  FROM (SELECT valid_events.*, PROCTIME() AS proc FROM valid_events) AS v
) WHERE rn = 1;

EXECUTE STATEMENT SET
BEGIN
INSERT INTO lake.silver.events
SELECT event_id, event_type, event_ts, event_timestamp, source_system, schema_version,
       CASE event_type WHEN 'metric_event' THEN p_metric_name
                       WHEN 'transaction'  THEN 'amount.' || p_currency
                       ELSE 'events' END AS metric_name,
       CASE event_type WHEN 'metric_event' THEN TRY_CAST(metric_value_text AS DOUBLE)
                       WHEN 'transaction'  THEN TRY_CAST(amount_text AS DOUBLE) END AS metric_value,
       CASE event_type WHEN 'metric_event' THEN TRY_CAST(metric_value_text AS DECIMAL(38, 9))
                       WHEN 'transaction'  THEN TRY_CAST(amount_text AS DECIMAL(38, 9)) END AS metric_value_dec,
       payload, metadata, event_json, kafka_topic, kafka_partition, kafka_offset, CURRENT_TIMESTAMP
FROM deduped;
INSERT INTO silver_kafka SELECT event_id, event_json FROM deduped;
INSERT INTO dlq_kafka
SELECT raw_value, COALESCE(error, 'event_timestamp: not parseable'),
       DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
       kafka_topic, kafka_partition, kafka_offset
FROM checked WHERE error IS NOT NULL OR event_ts IS NULL;
END;
