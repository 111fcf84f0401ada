package io.cairn.engine.mvcc;

import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: the embedding snippet in README.md works as written. Method: the same calls, with the values checked.
 */
class EmbeddingExampleTest {
    @TempDir
    Path dir;

    @Test
    void shouldRunReadmeSnippet() throws IOException {
        final List<String> seen = new ArrayList<>();
        try (MvccStore store = MvccStore.open(MvccConfig.defaults(dir.resolve("data/kv")))) {
            final CommandEncoder command = new CommandEncoder();
            final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(4096);
            store.beginBatch();
            command.reset().put("foo".getBytes(), "bar".getBytes(), 0, 0);
            store.apply(command.buffer(), 0, command.length(), response, 0);
            store.commit(1, 1);
            assertEquals(MvccError.OK, MvccResponse.status(response, 0));
            try (MvccReader reader = store.newReader()) {
                final UnsafeBuffer key = new UnsafeBuffer("foo".getBytes());
                command.reset().range(key, 0, key.capacity(), null, 0, 0, 0, 0, 0);
                reader.range(command.buffer(), 0, kv -> {
                    seen.add(new String(kv.keyBytes()) + "=" + new String(kv.valueBytes()) + "@" + kv.modRevision());
                    return true;
                });
            }
        }
        assertEquals(List.of("foo=bar@2"), seen);
    }
}
