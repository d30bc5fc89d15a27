package dev.streamproof.flink;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * A record value in a schema registry's wire format (a zero byte, the schema id as four
 * big-endian bytes, the encoded value) as the platform's JSON envelope: an Avro datum decoded
 * with its writer schema, fetched from the registry by id, or a JSON Schema value's JSON text.
 * NULL when the value is not in the wire format, names a schema the registry does not have,
 * or does not decode with it: the pipeline sends those records to the DLQ instead of failing,
 * which is what a format that decodes at the source would do.
 */
public class RegisteredJson extends ScalarFunction {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Writer> WRITERS = new ConcurrentHashMap<>();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** A registered schema: Avro (parsed) or JSON Schema (its text is not needed). */
    private static final class Writer {
        final Schema avro;

        Writer(Schema avro) {
            this.avro = avro;
        }
    }

    /**
     * @param value the record value
     * @param registry the base URL of the registry's Confluent-compatible API
     * @param authorization an HTTP Authorization header value, or NULL
     */
    public String eval(byte[] value, String registry, String authorization) {
        if (value == null || value.length < 5 || value[0] != 0) {
            return null;
        }
        int id = ByteBuffer.wrap(value, 1, 4).getInt();
        Writer writer = writer(registry, authorization, id);
        if (writer == null) {
            return null;
        }
        if (writer.avro == null) {
            String text = new String(value, 5, value.length - 5, StandardCharsets.UTF_8);
            return text;
        }
        try {
            BinaryDecoder decoder =
                    DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null);
            Object datum = new GenericDatumReader<Object>(writer.avro).read(null, decoder);
            return decoder.isEnd() ? GenericData.get().toString(datum) : null;
        } catch (Exception | StackOverflowError undecodable) {
            return null;
        }
    }

    public String eval(byte[] value, String registry) {
        return eval(value, registry, null);
    }

    private static Writer writer(String registry, String authorization, int id) {
        String key = registry + "#" + id;
        Writer known = WRITERS.get(key);
        if (known != null) {
            return known;
        }
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(
                            URI.create(registry.replaceAll("/+$", "") + "/schemas/ids/" + id))
                    .timeout(Duration.ofSeconds(30))
                    .header("Accept", "application/vnd.schemaregistry.v1+json");
            if (authorization != null && !authorization.isEmpty()) {
                request.header("Authorization", authorization);
            }
            HttpResponse<String> response =
                    HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                // An unknown id stays unknown for this record; a later one may be registered.
                return null;
            }
            JsonNode answer = JSON.readTree(response.body());
            String type = answer.path("schemaType").asText("AVRO");
            Writer writer = "AVRO".equals(type)
                    ? new Writer(new Schema.Parser().parse(answer.path("schema").asText()))
                    : new Writer(null);
            WRITERS.put(key, writer);
            return writer;
        } catch (Exception unreachable) {
            throw new RuntimeException(
                    "the schema registry at " + registry + " could not give schema " + id,
                    unreachable);
        }
    }
}
