-- Bronze: every record of the raw topics, the value as text (UTF-8 for JSON; for values in a
-- schema registry's wire format, ISO-8859-1, one character per byte, so that no byte is lost),
-- with its Kafka coordinates and headers, into the Iceberg table and the bronze-events topic
-- (the value's bytes as they were, with the same headers).
SET 'pipeline.name' = 'streamproof-bronze';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '${CHECKPOINT_INTERVAL}';
SET 'execution.checkpointing.mode' = '${CHECKPOINT_MODE}';

CREATE CATALOG lake WITH (${CATALOG});

CREATE TEMPORARY TABLE raw_src (
  record_key   STRING,
  ${RAW_SOURCE_COLUMN},
  src_topic     STRING               METADATA FROM 'topic'     VIRTUAL,
  src_partition INT                  METADATA FROM 'partition' VIRTUAL,
  src_offset    BIGINT               METADATA FROM 'offset'    VIRTUAL,
  src_timestamp TIMESTAMP_LTZ(3)     METADATA FROM 'timestamp' VIRTUAL,
  src_headers   MAP<STRING, BYTES>   METADATA FROM 'headers'   VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = 'raw-events;raw-transactions;raw-system-events;raw-metrics;raw-logs',
  'properties.bootstrap.servers' = '${BOOTSTRAP}',
  ${KAFKA_PROPERTIES}'properties.group.id' = '${PREFIX}-bronze',
  'properties.isolation.level' = 'read_committed',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.topic-partition-discovery.interval' = '30s',
  'key.format' = 'raw',
  'key.fields' = 'record_key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
);

CREATE TEMPORARY TABLE bronze_kafka (
  record_key   STRING,
  ${BRONZE_KAFKA_VALUE_COLUMN},
  headers      MAP<STRING, BYTES> METADATA FROM 'headers'
) WITH (
  'connector' = 'kafka',
  'topic' = 'bronze-events',
  'properties.bootstrap.servers' = '${BOOTSTRAP}',
  ${KAFKA_PROPERTIES}'key.format' = 'raw',
  'key.fields' = 'record_key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY',
  'sink.delivery-guarantee' = '${DELIVERY}',
  'sink.transactional-id-prefix' = '${PREFIX}-bronze',
  'properties.transaction.timeout.ms' = '${TXN_TIMEOUT_MS}'
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO lake.bronze.events
SELECT src_topic, src_partition, src_offset, src_timestamp, record_key, ${RAW_TEXT}, src_headers,
       CURRENT_TIMESTAMP
FROM raw_src;
INSERT INTO bronze_kafka SELECT record_key, ${RAW_KAFKA_VALUE}, src_headers FROM raw_src;
END;
