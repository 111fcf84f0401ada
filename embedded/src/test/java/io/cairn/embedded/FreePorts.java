package io.cairn.embedded;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free UDP ports for members' peer URLs, each handed out once per JVM. Asking the kernel for port 0 and closing the
 * socket can give the same port twice in a row, and then two members of one test share it ("b and c have the same
 * peer address", seen in EmbeddedClusterTest); ports are drawn below Linux's ephemeral range and remembered.
 */
final class FreePorts {
    private static final int MIN = 20_000;
    private static final int SPAN = 12_000;
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    static int udp() throws IOException {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            final int port = MIN + ThreadLocalRandom.current().nextInt(SPAN);
            if (!HANDED_OUT.add(port)) {
                continue;
            }
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
                return port;
            } catch (final IOException taken) {
                continue; // in use: another
            }
        }
        throw new IOException("no free UDP port in " + MIN + ".." + (MIN + SPAN));
    }
}
