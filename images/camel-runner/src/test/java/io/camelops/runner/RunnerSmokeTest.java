package io.camelops.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;

/** Starts Camel Main with the image's configuration and a YAML route, and checks the /observe endpoints. */
class RunnerSmokeTest {
    @Test
    void startsYamlRoutesAndServesObserveEndpoints() throws Exception {
        Main main = new Main();
        main.configure().withRoutesIncludePattern("classpath:sample.camel.yaml");
        main.start();
        try {
            assertEquals(1, main.getCamelContext().getRoutes().size());
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> ready = http.send(
                HttpRequest.newBuilder(URI.create("http://localhost:9876/observe/health/ready")).build(),
                HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ready.statusCode());
            HttpResponse<String> metrics = http.send(
                HttpRequest.newBuilder(URI.create("http://localhost:9876/observe/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
            assertTrue(metrics.body().contains("camel_exchanges_total"), "camel_exchanges_total is exported");
        } finally {
            main.stop();
        }
    }
}
