package dev.vessel.provisioner.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * An HTTP proxy on 127.0.0.1 in front of a registry: counts GETs per path and can rewrite blob bodies
 * (to serve corrupt content) or answer some requests itself (to play a token-auth registry).
 */
public final class RegistryProxy implements AutoCloseable {
    /** Answers a request instead of the upstream registry; returns false to pass it on. */
    @FunctionalInterface
    public interface Interceptor {
        boolean handle(HttpExchange exchange) throws IOException;
    }

    private static final List<String> COPIED_HEADERS = List.of("Content-Type", "Docker-Content-Digest",
            "WWW-Authenticate", "Location", "Docker-Distribution-Api-Version");

    private final HttpServer server;
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    private final Map<String, AtomicInteger> gets = new ConcurrentHashMap<>();
    private volatile UnaryOperator<byte[]> blobRewriter = UnaryOperator.identity();
    private volatile Interceptor interceptor = exchange -> false;

    public RegistryProxy(String upstream) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            try (exchange) {
                gets.computeIfAbsent(exchange.getRequestURI().getPath(), p -> new AtomicInteger()).incrementAndGet();
                if (!interceptor.handle(exchange)) {
                    forward(upstream, exchange);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    public String address() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public void rewriteBlobs(UnaryOperator<byte[]> rewriter) {
        this.blobRewriter = rewriter;
    }

    public void intercept(Interceptor interceptor) {
        this.interceptor = interceptor;
    }

    /** How many requests reached this path (any method). */
    public int requests(String path) {
        AtomicInteger n = gets.get(path);
        return n == null ? 0 : n.get();
    }

    public Map<String, AtomicInteger> requests() {
        return gets;
    }

    private void forward(String upstream, HttpExchange exchange) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + upstream + exchange.getRequestURI()))
                .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(exchange.getRequestBody().readAllBytes()));
        for (String h : List.of("Accept", "Authorization", "Content-Type")) {
            String v = exchange.getRequestHeaders().getFirst(h);
            if (v != null) {
                request.header(h, v);
            }
        }
        HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        byte[] body = response.body();
        if (exchange.getRequestURI().getPath().contains("/blobs/") && response.statusCode() == 200) {
            body = blobRewriter.apply(body);
        }
        for (String h : COPIED_HEADERS) {
            response.headers().allValues(h).forEach(v -> exchange.getResponseHeaders().add(h, v));
        }
        exchange.sendResponseHeaders(response.statusCode(), body.length == 0 ? -1 : body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        http.close();
    }
}
