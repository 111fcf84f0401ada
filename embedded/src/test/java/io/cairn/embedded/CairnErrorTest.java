package io.cairn.embedded;

import io.cairn.engine.mvcc.MvccError;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: every keyspace refusal reaches embedding users as the typed error with etcd's text, including codes added
 * later (CORRUPT). Method: each code from 1 to {@link MvccError#LAST} maps to the error whose message is the code's.
 */
class CairnErrorTest {
    @Test
    void shouldMapEveryKeyspaceCodeToTheErrorWithItsMessage() {
        for (int code = 1; code <= MvccError.LAST; code++) {
            assertEquals(MvccError.message(code), CairnError.ofKeyspace(code).message(), "code " + code);
        }
        assertEquals(CairnError.CORRUPT, CairnError.ofKeyspace(MvccError.CORRUPT));
        assertEquals(CairnError.MALFORMED, CairnError.ofKeyspace(MvccError.LAST + 1));
    }
}
