#!/usr/bin/env bash
# Measures streamproof's closed-loop producer beside Kafka's own kafka-producer-perf-test
# (ProducerPerformance) on the same single-broker local cluster, one after the other in one
# invocation, and prints both rates and their ratio. Usage: benches/compare-producer.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/streamproof/target}"
records="${1:-2000000}"
cache="${STREAMPROOF_CACHE:-$HOME/.cache/streamproof}"

cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/streamproof"
work="$(mktemp -d -t streamproof-bench.XXXXXX)"
trap '"$bin" down --dir "$work/cluster" >/dev/null 2>&1 || true' EXIT

tools="$cache/peer-tools-4.1.1"
if [ ! -f "$tools/.complete" ]; then
    mvn -q -B -f benches/peer/kafka-tools-pom.xml dependency:copy-dependencies \
        -DoutputDirectory="$tools" -DincludeScope=runtime
    touch "$tools/.complete"
fi

"$bin" up --brokers 1 --dir "$work/cluster" --base-port 49092 --heap-mb 1024 >/dev/null
bootstrap=127.0.0.1:49092

"$bin" run scenarios/bench/max-throughput.yaml --bootstrap-servers "$bootstrap" \
    --out "$work/streamproof" >/dev/null 2>&1 || true
streamproof_eps=$(python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['throughput']['achieved_eps']))" "$work/streamproof/result.json")
streamproof_p99=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['latency']['produce_uncorrected']['p99_us']/1000)" "$work/streamproof/result.json")

peer=$(java -Xmx1g -cp "$tools/*" org.apache.kafka.tools.ProducerPerformance \
    --topic raw-events --num-records "$records" --record-size 512 --throughput -1 \
    --producer-props bootstrap.servers="$bootstrap" acks=1 linger.ms=100 batch.size=32768 \
    compression.type=lz4 2>/dev/null | tail -1)
peer_eps=$(echo "$peer" | sed -E 's/^[0-9]+ records sent, ([0-9.]+) records\/sec.*/\1/')
peer_p99=$(echo "$peer" | sed -E 's/.* ([0-9]+) ms 99th.*/\1/')

echo "streamproof (rate: max, 1 producer, verified): ${streamproof_eps} events/s, service p99 ${streamproof_p99} ms"
echo "kafka-producer-perf-test ($records records):     ${peer_eps} records/s, p99 ${peer_p99} ms"
python3 -c "print(f'ratio streamproof / perf-test: {float(\"$streamproof_eps\") / float(\"$peer_eps\"):.2f}')"
