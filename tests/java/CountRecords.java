// Counts the records one streamproof run left in the raw topics, with Kafka's own Java
// consumer (read_committed), so tests can reconcile a run's result with a client that is not
// part of streamproof. Usage: CountRecords <bootstrap> <run id>. Prints the count.
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class CountRecords {
    public static void main(String[] args) {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("isolation.level", "read_committed");
        props.put("enable.auto.commit", "false");
        String[] topics = {"raw-events", "raw-transactions", "raw-system-events", "raw-metrics", "raw-logs"};
        long count = 0;
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                for (PartitionInfo info : consumer.partitionsFor(topic)) {
                    partitions.add(new TopicPartition(topic, info.partition()));
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            while (true) {
                boolean done = true;
                for (TopicPartition partition : partitions) {
                    if (consumer.position(partition) < ends.get(partition)) {
                        done = false;
                    }
                }
                if (done) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    Header run = record.headers().lastHeader("streamproof.run");
                    if (run != null && new String(run.value(), StandardCharsets.UTF_8).equals(args[1])) {
                        count++;
                    }
                }
            }
        }
        System.out.println(count);
    }
}
