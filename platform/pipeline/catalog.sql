-- Creates the lakehouse catalog's namespaces and tables once (idempotent).
-- Each job file re-declares the catalog because gateway sessions do not share catalogs.
CREATE CATALOG lake WITH (${CATALOG});
CREATE DATABASE IF NOT EXISTS lake.bronze;
CREATE DATABASE IF NOT EXISTS lake.silver;
CREATE DATABASE IF NOT EXISTS lake.gold;

CREATE TABLE IF NOT EXISTS lake.bronze.events (
  kafka_topic      STRING NOT NULL,
  kafka_partition  INT    NOT NULL,
  kafka_offset     BIGINT NOT NULL,
  kafka_timestamp  TIMESTAMP_LTZ(6),
  record_key       STRING,
  raw_value        STRING,
  headers          MAP<STRING, BYTES>,
  ingest_time      TIMESTAMP_LTZ(6) NOT NULL
) WITH (${TABLE_OPTIONS});

CREATE TABLE IF NOT EXISTS lake.silver.events (
  event_id         STRING NOT NULL,
  event_type       STRING NOT NULL,
  event_ts         TIMESTAMP_LTZ(6) NOT NULL,
  event_timestamp  STRING NOT NULL,
  source_system    STRING NOT NULL,
  schema_version   STRING NOT NULL,
  metric_name      STRING NOT NULL,
  metric_value     DOUBLE,
  metric_value_dec DECIMAL(38, 9),
  payload          STRING,
  metadata         STRING,
  raw_value        STRING NOT NULL,
  kafka_topic      STRING NOT NULL,
  kafka_partition  INT    NOT NULL,
  kafka_offset     BIGINT NOT NULL,
  processed_at     TIMESTAMP_LTZ(6) NOT NULL
) WITH (${TABLE_OPTIONS});

CREATE TABLE IF NOT EXISTS lake.gold.metrics (
  window_start     TIMESTAMP(6) NOT NULL,
  window_end       TIMESTAMP(6) NOT NULL,
  event_type       STRING NOT NULL,
  metric_name      STRING NOT NULL,
  event_count      BIGINT NOT NULL,
  value_count      BIGINT NOT NULL,
  value_sum        DOUBLE,
  value_sum_dec    DECIMAL(38, 9),
  value_avg        DOUBLE,
  value_min        DOUBLE,
  value_max        DOUBLE,
  computed_at      TIMESTAMP_LTZ(6) NOT NULL
) WITH (${TABLE_OPTIONS});
