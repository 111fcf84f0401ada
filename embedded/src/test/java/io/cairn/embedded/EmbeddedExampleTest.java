package io.cairn.embedded;

import io.cairn.embedded.kv.Compare;
import io.cairn.embedded.kv.KeyValue;
import io.cairn.embedded.kv.Op;
import io.cairn.embedded.kv.OpResult;
import io.cairn.embedded.kv.RangeQuery;
import io.cairn.embedded.kv.Txn;
import io.cairn.embedded.kv.TxnResult;
import io.cairn.embedded.kv.WatchEvent;
import io.cairn.embedded.kv.WatchOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the embedding example in README.md compiles and does what README says, and README shows exactly this code.
 * Method: the example's body (between the README markers below) runs three nodes in this JVM over Aeron on loopback;
 * the test then compares it with the README's {@code java} block after the {@code embedded-example} marker.
 */
class EmbeddedExampleTest {
    @TempDir
    Path dataDir;

    @Test
    void shouldRunTheReadmeExample() throws Exception {
        final int[] ports = {freePort(), freePort(), freePort()};
        // CHECKSTYLE:OFF FinalLocalVariable: README shows the code as a service would write it
        // README begin
        String cluster = "a=http://127.0.0.1:" + ports[0] + ",b=http://127.0.0.1:" + ports[1]
            + ",c=http://127.0.0.1:" + ports[2];
        List<CairnNode> nodes = new ArrayList<>();
        for (String name : List.of("a", "b", "c")) {
            nodes.add(CairnNode.start(NodeConfig.of(name, cluster, dataDir.resolve(name))));
        }
        CairnNode a = nodes.get(0);
        a.awaitLeader();

        long written = a.kv().put("/config/mode", "fast").get().revision();
        // Linearizable: c answers from its own map after one ReadIndex round with the leader.
        Optional<KeyValue> mode = nodes.get(2).kv().get("/config/mode").get();

        // Compare-and-swap: only if the value is still "fast".
        TxnResult swap = a.kv().txn(Txn.when(Compare.value("/config/mode", Compare.Result.EQUAL, "fast"))
            .then(Op.put("/config/mode", "safe"))
            .orElse(Op.get(RangeQuery.key("/config/mode")))).get();

        // Serializable: b's map as it is now, no round trip.
        OpResult.Range config = nodes.get(1).kv().range(RangeQuery.prefix("/config/").asSerializable()).get();

        // Watch /config/ from the first write on (history, then live), on a thread the service chooses.
        BlockingQueue<WatchEvent> seen = new LinkedBlockingQueue<>();
        Watch watch = nodes.get(1).watch(WatchOptions.prefix("/config/").fromRevision(written),
            ForkJoinPool.commonPool(), (events, revision) -> seen.addAll(events));
        WatchEvent first = seen.poll(5, TimeUnit.SECONDS);
        WatchEvent second = seen.poll(5, TimeUnit.SECONDS);
        watch.cancel();

        for (CairnNode node : nodes) {
            node.close();
        }
        // README end
        // CHECKSTYLE:ON
        assertTrue(written > 1, "a put writes a new revision");
        assertEquals("fast", mode.orElseThrow().valueString());
        assertEquals(written, mode.orElseThrow().modRevision());
        assertTrue(swap.succeeded());
        assertEquals(written + 1, swap.revision());
        assertTrue(config.count() <= 1, "one key under /config/ (b may not have applied it yet: serializable)");
        assertEquals("fast", first.kv().valueString());
        assertEquals(written, first.kv().modRevision());
        assertEquals("safe", second.kv().valueString());
        assertEquals(WatchEvent.Type.PUT, second.type());
        assertExampleInReadme();
    }

    private static int freePort() throws IOException {
        return FreePorts.udp();
    }

    private static void assertExampleInReadme() throws IOException {
        final Path root = Path.of(System.getProperty("cairn.root", ".."));
        final String test = Files.readString(root.resolve(
            "embedded/src/test/java/io/cairn/embedded/EmbeddedExampleTest.java"));
        final String code = test.substring(test.indexOf("// README begin") + "// README begin".length(),
            test.indexOf("        // README end"));
        final String readme = Files.readString(root.resolve("README.md"));
        final Matcher block = Pattern.compile("<!-- embedded-example -->\\s*```java\\n(.*?)```", Pattern.DOTALL)
            .matcher(readme);
        assertTrue(block.find(), "README.md has the embedded example");
        assertEquals(normalize(code), normalize(block.group(1)), "README's example is the tested one");
        assertFalse(normalize(code).isEmpty());
    }

    private static String normalize(final String code) {
        return code.lines().map(String::strip).filter(line -> !line.isEmpty())
            .reduce("", (all, line) -> all + line + "\n");
    }
}
