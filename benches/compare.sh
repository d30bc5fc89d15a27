#!/usr/bin/env bash
# Measures streamproof's producer beside librdkafka's own rdkafka_performance (built from the
# librdkafka sources rdkafka-sys vendors) and Kafka's kafka-producer-perf-test on one local
# broker with the same settings, alternating, and prints each tool's median records/s, client
# CPU per record and the ratios. Then the read-back: streamproof's verification of the records
# its run wrote (read_committed, every record compared with the ledger) beside kcat reading the
# same records (read_committed, from the run's start time to the end, key and value printed to
# /dev/null), kcat started right after the run.
#
# Usage: benches/compare.sh [PAIRS] [RECORDS]      (defaults: 3 pairs, 3,000,000 records)
# Settings: SIZE=256|1024 (value bytes), ACKS=all|1 (all: with idempotence). Every streamproof
# send is still ledgered, headed and verified; the peers send random bytes without key or
# headers. MOCK=1: the client-side ceiling instead, streamproof and rdkafka_performance against
# one librdkafka mock cluster of 3 brokers in a process of its own (examples/mock_cluster.rs;
# no broker on the machine's cores, no read-back comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/streamproof/target}"
pairs="${1:-3}"
records="${2:-3000000}"
size="${SIZE:-256}"
acks="${ACKS:-all}"
cache="${STREAMPROOF_CACHE:-$HOME/.cache/streamproof}"
if [ "$acks" = all ]; then idempotence=true; else idempotence=false; fi

cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/streamproof"

# librdkafka's tool, from the very sources streamproof's client is built from.
rdkafka_performance="$cache/peers/librdkafka-2.12.1/examples/rdkafka_performance"
if [ ! -x "$rdkafka_performance" ]; then
    source_dir=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/rdkafka-sys-4.10.0+2.12.1/librdkafka | head -1)
    rm -rf "$cache/peers/librdkafka-2.12.1"
    mkdir -p "$cache/peers"
    cp -r "$source_dir" "$cache/peers/librdkafka-2.12.1"
    (cd "$cache/peers/librdkafka-2.12.1" &&
        ./configure --disable-gssapi --disable-zstd --disable-curl --disable-sasl >/dev/null &&
        make -j2 libs >/dev/null && make -C examples rdkafka_performance >/dev/null)
fi
tools="$cache/peer-tools-4.1.1"
if [ ! -f "$tools/.complete" ]; then
    mvn -q -B -f benches/peer/kafka-tools-pom.xml dependency:copy-dependencies \
        -DoutputDirectory="$tools" -DincludeScope=runtime
    touch "$tools/.complete"
fi

work="$(mktemp -d -t streamproof-compare.XXXXXX)"
if [ "${MOCK:-0}" = 1 ]; then
    cargo build --release --quiet --example mock_cluster
    mkfifo "$work/mock-input"
    "$CARGO_TARGET_DIR/release/examples/mock_cluster" 3 6 <"$work/mock-input" >"$work/mock-output" &
    mock_pid=$!
    exec 7>"$work/mock-input"
    # Closing its input ends the mock cluster; the pid is the one started here.
    trap 'exec 7>&-; wait "$mock_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
    until [ -s "$work/mock-output" ]; do sleep 0.1; done
    bootstrap=$(head -1 "$work/mock-output")
    # The mock cluster has the standard topics already and cannot create or describe any.
    printf 'kafka:\n  bootstrap_servers: %s\n  topics: existing\n' "$bootstrap" >"$work/platform.yaml"
    connection=(--platform "$work/platform.yaml")
    peers="streamproof rdkafka_performance"
else
    # The broker's data is gigabytes per run: nothing of it is kept.
    trap '"$bin" down --dir "$work/cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
    "$bin" up --brokers 1 --dir "$work/cluster" --base-port 49092 --heap-mb 1024 >/dev/null
    bootstrap=127.0.0.1:49092
    connection=(--bootstrap-servers "$bootstrap")
    peers="streamproof rdkafka_performance perf_test"
fi

sed -e "s/^  payload_bytes: .*/  payload_bytes: $size/" \
    -e "s/^    compression.type: none/    compression.type: none\n    acks: $acks\n    enable.idempotence: $idempotence/" \
    scenarios/bench/producer-ceiling.yaml >"$work/scenario.yaml"

if [ "${MOCK:-0}" != 1 ] && ! command -v kcat >/dev/null; then
    echo "kcat is missing: install Debian's kcat package (apt-get install kcat)" >&2
    exit 2
fi

run_streamproof() {
    rm -rf "$work/run"
    "$bin" run "$work/scenario.yaml" "${connection[@]}" --out "$work/run" >/dev/null 2>&1 || true
    read -r eps cpu records read_seconds start_ms < <(python3 - "$work/run/result.json" <<'PY'
import datetime, json, sys
r = json.load(open(sys.argv[1]))
eps = r["throughput"]["achieved_eps"]
cpu_us = r["generator"]["cpu_percent"] / 100 / eps * 1e6
raw = next(s for s in r["verification"]["steps"] if s["layer"] == "raw")
start = datetime.datetime.fromisoformat(r["started_at"].replace("Z", "+00:00"))
print(f"{eps:.0f} {cpu_us:.2f} {raw['records_read']} {raw['seconds']:.3f} {int(start.timestamp() * 1000)}")
PY
    )
    if [ "${MOCK:-0}" = 1 ]; then
        echo "$eps $cpu"
        return
    fi
    echo "streamproof $(python3 -c "print(f'{$records / $read_seconds:.0f}')")" >>"$work/readback"
    local started ended format reader
    # kcat printing key and value, then key, value and headers: the fields the checker reads.
    for format in '%k %s\n' '%k %s %h\n'; do
        started=$(date +%s.%N)
        kcat -C -b "$bootstrap" -t raw-events -o "s@$start_ms" -e -q \
            -X isolation.level=read_committed -f "$format" >/dev/null
        ended=$(date +%s.%N)
        reader=kcat
        [[ "$format" == *%h* ]] && reader=kcat_with_headers
        echo "$reader $(python3 -c "print(f'{$records / ($ended - $started):.0f}')")" >>"$work/readback"
    done
    echo "$eps $cpu"
}

run_rdkafka_performance() {
    /usr/bin/time -f "%U %S" -o "$work/time" "$rdkafka_performance" -P -t raw-events \
        -b "$bootstrap" -s "$size" -c "$records" -u -X acks="$acks" \
        -X enable.idempotence="$idempotence" -X linger.ms=5 -X batch.size=65536 \
        -X compression.codec=none >"$work/rp.out" 2>&1
    python3 - "$work/rp.out" "$work/time" "$records" <<'PY'
import sys
rows = [l for l in open(sys.argv[1]) if l.startswith("|") and l.split("|")[1].strip().isdigit()]
eps = float(rows[-1].split("|")[6])
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
print(f"{eps:.0f} {(user + system) / int(sys.argv[3]) * 1e6:.2f}")
PY
}

run_perf_test() {
    /usr/bin/time -f "%U %S" -o "$work/time" java -Xmx1g -cp "$tools/*" \
        org.apache.kafka.tools.ProducerPerformance --topic raw-events --num-records "$records" \
        --record-size "$size" --throughput -1 --producer-props bootstrap.servers="$bootstrap" \
        acks="$acks" enable.idempotence="$idempotence" linger.ms=5 batch.size=65536 \
        compression.type=none >"$work/pt.out" 2>/dev/null
    python3 - "$work/pt.out" "$work/time" "$records" <<'PY'
import re, sys
last = open(sys.argv[1]).read().strip().splitlines()[-1]
eps = float(re.search(r"([0-9.]+) records/sec", last).group(1))
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
print(f"{eps:.0f} {(user + system) / int(sys.argv[3]) * 1e6:.2f}")
PY
}

: >"$work/results"
: >"$work/readback"
for pair in $(seq 1 "$pairs"); do
    for tool in $peers; do
        echo "$tool $(run_$tool)" | tee -a "$work/results"
    done
done

python3 - "$work/results" "$size" "$acks" "$work/readback" "${MOCK:-0}" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    tool, eps, cpu = line.split()
    runs.setdefault(tool, []).append((float(eps), float(cpu)))
med = {t: (statistics.median(e for e, _ in v), statistics.median(c for _, c in v)) for t, v in runs.items()}
where = "librdkafka's mock cluster (3 brokers)" if len(sys.argv) > 5 and sys.argv[5] == "1" else "one local broker"
print(f"\n{sys.argv[2]}-byte values, acks={sys.argv[3]}, {where}, medians of {len(runs['streamproof'])} runs each")
print("| tool | records/s | client CPU per record |")
print("| --- | --- | --- |")
for tool, (eps, cpu) in med.items():
    print(f"| {tool} | {eps:,.0f} | {cpu:.2f} µs |")
sp = med["streamproof"]
for peer in [p for p in ("rdkafka_performance", "perf_test") if p in med]:
    eps, cpu = med[peer]
    print(f"streamproof / {peer}: {sp[0] / eps:.2f}x records/s, {sp[1] / cpu:.2f}x CPU per record")
reads = {}
for line in open(sys.argv[4]):
    tool, rate = line.split()
    reads.setdefault(tool, []).append(float(rate))
if not reads:
    sys.exit(0)
print(f"\nread-back of each streamproof run's records, medians of {len(reads['streamproof'])}")
print("| reader | records/s |")
print("| --- | --- |")
for tool, rates in reads.items():
    print(f"| {tool} | {statistics.median(rates):,.0f} |")
for peer in ("kcat", "kcat_with_headers"):
    print(f"streamproof verification / {peer}: {statistics.median(reads['streamproof']) / statistics.median(reads[peer]):.2f}x records/s")
PY
