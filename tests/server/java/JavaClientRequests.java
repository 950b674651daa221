import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * Sends OpenLineage events the way the OpenLineage Java client's HttpTransport (openlineage-java, what the Spark
 * integration uses) sends them, with the JDK's own HTTP client: the real jar needs Maven, which this environment
 * cannot reach. Written for nblineage's tests from a reading of that transport; none of its code is used.
 *
 * <p>What the transport does, and what this repeats: one POST per event, HTTP/1.1; the endpoint is the configured
 * url itself when it has a path, else that url with the path /api/v1/lineage; the headers Accept and Content-Type
 * "application/json; charset=UTF-8", Authorization "Bearer " + apiKey (an api_key token provider),
 * Content-Encoding "gzip" when compression is gzip; the body is the event's JSON text in UTF-8, sent with its
 * Content-Length, or gzip-compressed (java.util.zip.GZIPOutputStream, as Apache HttpClient's
 * GzipCompressingEntity) and sent chunked (Transfer-Encoding: chunked, the length being unknown). Apache
 * HttpClient 5 adds its User-Agent and Accept-Encoding; they are sent as it would. A status of 400 or more is an
 * error for the transport (it throws); anything else is success.
 *
 * <p>Usage: java JavaClientRequests.java URL API_KEY none|gzip EVENTS.jsonl. Prints "STATUS TAB BODY" for each
 * event; exits 1 when any answer was an error.
 */
public final class JavaClientRequests {
    private static final String JSON = "application/json; charset=UTF-8";
    private static final String USER_AGENT = "Apache-HttpClient/5.6.4 (Java/" + System.getProperty("java.version") + ")";

    private JavaClientRequests() {}

    public static void main(String[] args) throws Exception {
        URI endpoint = endpoint(URI.create(args[0]));
        String apiKey = args[1];
        boolean gzip = "gzip".equals(args[2]);
        List<String> events = Files.readAllLines(Path.of(args[3]), StandardCharsets.UTF_8);
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        int errors = 0;
        for (String event : events) {
            if (event.isBlank()) {
                continue;
            }
            HttpRequest request = request(endpoint, apiKey, gzip, event.getBytes(StandardCharsets.UTF_8));
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println(response.statusCode() + "\t" + response.body().replace('\n', ' '));
            if (response.statusCode() >= 400) {
                errors++;
            }
        }
        System.exit(errors == 0 ? 0 : 1);
    }

    /** The url as configured when it has a path; else the url with /api/v1/lineage. */
    static URI endpoint(URI url) {
        String path = url.getRawPath();
        if (path != null && !path.isBlank()) {
            return url;
        }
        String query = url.getRawQuery() == null ? "" : "?" + url.getRawQuery();
        return URI.create(url.getScheme() + "://" + url.getRawAuthority() + "/api/v1/lineage" + query);
    }

    static HttpRequest request(URI endpoint, String apiKey, boolean gzip, byte[] json) throws IOException {
        HttpRequest.Builder builder = HttpRequest.newBuilder(endpoint)
                .timeout(Duration.ofSeconds(60))
                .header("Accept", JSON)
                .header("Content-Type", JSON)
                .header("Authorization", "Bearer " + apiKey)
                .header("User-Agent", USER_AGENT)
                .header("Accept-Encoding", "gzip, x-gzip, deflate");
        if (!gzip) {
            return builder.POST(HttpRequest.BodyPublishers.ofByteArray(json)).build();
        }
        byte[] compressed = compress(json);
        builder.header("Content-Encoding", "gzip");
        // No length given: the JDK client then sends the body chunked, as HttpClient does a GzipCompressingEntity.
        return builder.POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(compressed)))
                .build();
    }

    static byte[] compress(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(data);
        }
        return out.toByteArray();
    }
}
