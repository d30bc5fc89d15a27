// Lists the brokers of a cluster with Kafka's own Java admin client, so tests can check the
// local platform with a client that is not part of streamproof. Prints one node id per line.
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Node;

public class ListBrokers {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        try (Admin admin = Admin.create(props)) {
            for (Node node : admin.describeCluster().nodes().get()) {
                System.out.println(node.id() + " " + node.host() + ":" + node.port());
            }
        }
    }
}
