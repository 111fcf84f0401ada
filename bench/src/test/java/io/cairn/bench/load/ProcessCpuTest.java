package io.cairn.bench.load;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Goal: a process's CPU time is read from /proc/PID/stat as utime + stime even when its command name holds spaces
 * and parentheses, and malformed lines are refused. Method: stat lines written out by hand in proc(5)'s format, and
 * one read of this JVM's own stat.
 */
class ProcessCpuTest {
    @Test
    void shouldAddUserAndSystemTicksWhenCommandNameHasSpacesAndParentheses() {
        final String line = "4242 (java (main) x) S 1 4242 4242 0 -1 4194560 5000 0 12 0 250 75 3 1 20 0 31 0 "
            + "123456 3000000000 40000 18446744073709551615 1 1 0 0 0 0 0 4096 17 1 0 0 0 0 0\n";
        assertEquals(325, ProcessCpu.parseTicks(line));
    }

    @Test
    void shouldRefuseLineWhenNotInProcFormat() {
        assertThrows(IllegalArgumentException.class, () -> ProcessCpu.parseTicks("no parentheses here"));
        assertThrows(IllegalArgumentException.class, () -> ProcessCpu.parseTicks("1 (x) S 1 2 3"));
        assertThrows(IllegalArgumentException.class,
            () -> ProcessCpu.parseTicks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s 0 0 20 0 1 0"));
    }

    @Test
    void shouldReadOwnCpuTimeWhenProcIsMounted() throws IOException {
        assumeTrue(Files.exists(Path.of("/proc/self/stat")), "needs Linux /proc");
        final long ticks = ProcessCpu.readTicks(ProcessHandle.current().pid());
        assertTrue(ticks >= 0, "ticks " + ticks);
        assertThrows(IOException.class, () -> ProcessCpu.readTicks(Integer.MAX_VALUE));
    }
}
