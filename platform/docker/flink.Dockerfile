# Flink 1.20 with the connectors of streamproof's embedded Flink (Kafka, Iceberg, Paimon, the
# Hadoop client classes), resolved from the same Maven list the embedded platform uses, so
# the two never drift apart. Build context: the repository root (docker-compose.yml does).
FROM maven:3.9-eclipse-temurin-17 AS connectors
COPY platform/runtime/flink-connectors-pom.xml /build/pom.xml
RUN mvn -q -B -f /build/pom.xml dependency:copy-dependencies \
        -DoutputDirectory=/build/jars -DincludeScope=runtime \
 && rm -f /build/jars/flink-sql-gateway-*.jar

FROM flink:1.20.3-java17
COPY --from=connectors /build/jars/ /opt/flink/lib/
