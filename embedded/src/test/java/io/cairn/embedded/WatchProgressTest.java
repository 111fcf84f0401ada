package io.cairn.embedded;

import io.cairn.embedded.kv.WatchOptions;
import io.cairn.engine.mvcc.KeyValueView;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a watch that asked for progress notifications gets one after the configured interval without a response
 * (etcd's {@code --experimental-watch-progress-notify-interval}), and a watch that did not ask gets none. Method: one
 * node with a 200-ms interval, two watches on an idle key for 1.5 s.
 */
class WatchProgressTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(30)
    void shouldNotifyProgressAtTheConfiguredInterval() throws Exception {
        final NodeConfig config = NodeConfig.of("n1", "n1=http://127.0.0.1:" + FreePorts.udp(), dir.resolve("n1"))
            .withWatchProgressNotifyMs(200);
        try (CairnNode node = CairnNode.start(config)) {
            final AtomicInteger notified = new AtomicInteger();
            final AtomicInteger silent = new AtomicInteger();
            node.watch(WatchOptions.key("idle").withProgressNotify(), sink(notified));
            node.watch(WatchOptions.key("idle"), sink(silent));
            Thread.sleep(1_500);
            assertTrue(notified.get() >= 4 && notified.get() <= 8, "about one per 200 ms: " + notified.get());
            assertEquals(0, silent.get());
        }
    }

    private static WatchSink sink(final AtomicInteger progress) {
        return new WatchSink() {
            @Override
            public void onEvent(final KeyValueView change, final KeyValueView previous) {
            }

            @Override
            public void onBatchEnd(final long revision) {
            }

            @Override
            public void onCompacted(final long compactRevision, final long revision) {
            }

            @Override
            public void onProgress(final long revision) {
                progress.incrementAndGet();
            }
        };
    }
}
