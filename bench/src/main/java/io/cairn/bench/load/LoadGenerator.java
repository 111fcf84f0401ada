package io.cairn.bench.load;

import io.cairn.bench.HardwareProfile;
import io.grpc.Status;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One load run: optional prefill, warmup, the measured window, then the drain of what is still in flight.
 *
 * <ul>
 *   <li>Closed loop: {@code clients} chains, each sending its next request from the callback of the last one, on
 *   Netty's event loop; after an error a chain waits {@link #ERROR_BACKOFF_NS} on a timer thread, so that a dead
 *   endpoint is not a busy loop (and a call failing inside {@code call} cannot recurse).</li>
 *   <li>Fixed rate: {@link FixedRateScheduler} on its own thread, at most {@code clients} requests in flight; a
 *   request waiting for a slot is still timed from its intended start. The warmup and the measured window are
 *   scheduled separately: ops of the warmup not sent by its end are dropped, not carried into the window.</li>
 * </ul>
 *
 * <p>An operation belongs to the measured window if its intended start does; the window's length is the duration
 * asked for, and throughput is successful operations over it. The main thread prints progress once a second and
 * reads the given processes' CPU time at the window's two ends.
 */
final class LoadGenerator {
    static final long PROGRESS_INTERVAL_NS = TimeUnit.SECONDS.toNanos(1);
    static final long ERROR_BACKOFF_NS = TimeUnit.MILLISECONDS.toNanos(1);
    /** How long past the end requests may still be answered: their deadline and a margin. */
    private static final long DRAIN_MARGIN_NS = TimeUnit.SECONDS.toNanos(1);

    private final LoadConfig config;
    private final NanoClock clock;
    private final PrintStream progressOut;

    /**
     * @param config the run.
     * @param clock the time it is scheduled and measured by.
     * @param progressOut where the once-a-second progress lines go.
     */
    LoadGenerator(final LoadConfig config, final NanoClock clock, final PrintStream progressOut) {
        this.config = config;
        this.clock = clock;
        this.progressOut = progressOut;
    }

    /**
     * @return what the run measured.
     * @throws IOException if a process of {@code --pids} cannot be read at the start.
     * @throws InterruptedException if interrupted.
     */
    LoadResult run() throws IOException, InterruptedException {
        final List<Long> pids = new ArrayList<>(config.pids);
        pids.add(ProcessHandle.current().pid());
        for (final long pid : config.pids) {
            try {
                ProcessCpu.readTicks(pid);
            } catch (final IOException e) {
                throw new IOException("--pids: cannot read /proc/" + pid + "/stat (no such process?)", e);
            }
        }
        final long ticksPerSecond = ProcessCpu.ticksPerSecond();
        final String profileJson = HardwareProfile.probe(Path.of(".")).toJson();
        final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            final Thread thread = new Thread(runnable, "load-timer");
            thread.setDaemon(true);
            return thread;
        });
        try (KvClient client = new KvClient(config)) {
            if (config.prefill) {
                prefill(client);
            }
            final long startNs = clock.nanoTime();
            final long measureStartNs = startNs + config.warmupNs;
            final long endNs = measureStartNs + config.durationNs;
            final LatencyRecorder recorder = new LatencyRecorder(measureStartNs);
            final Driver driver = config.fixedRate()
                ? new FixedRateDriver(client, recorder, startNs, measureStartNs, endNs)
                : new ClosedLoopDriver(client, recorder, timer, endNs);
            driver.start();
            final Window window = report(recorder, pids, startNs, measureStartNs, endNs);
            final long[] cpuAfterTicks = readCpuTicks(pids);
            if (!driver.awaitDrained(endNs + config.timeoutNs + DRAIN_MARGIN_NS)) {
                progressOut.println("some requests were still in flight past their deadline; left out");
            }
            recorder.collect();
            final List<LoadResult.OpResult> opResults = new ArrayList<>();
            for (final OpType type : config.workload.opTypes()) {
                opResults.add(new LoadResult.OpResult(type, recorder.correctedTotal(type),
                    recorder.uncorrectedTotal(type), recorder.errorsByCode(type)));
            }
            final List<LoadResult.CpuUsage> cpu = new ArrayList<>();
            for (int i = 0; i < pids.size(); i++) {
                if (window.cpuBeforeTicks[i] >= 0 && cpuAfterTicks[i] >= 0) {
                    final boolean self = i == pids.size() - 1;
                    cpu.add(new LoadResult.CpuUsage(self ? "load generator" : "pid " + pids.get(i), pids.get(i),
                        (cpuAfterTicks[i] - window.cpuBeforeTicks[i]) / (double)ticksPerSecond));
                }
            }
            return new LoadResult(config, window.startTime, config.durationNs, opResults, driver.unsentOps(), cpu,
                profileJson);
        } finally {
            timer.shutdownNow();
        }
    }

    /** The measured window's wall-clock start and the CPU ticks read then. */
    private static final class Window {
        final Instant startTime;
        final long[] cpuBeforeTicks;

        Window(final Instant startTime, final long[] cpuBeforeTicks) {
            this.startTime = startTime;
            this.cpuBeforeTicks = cpuBeforeTicks;
        }
    }

    private Window report(final LatencyRecorder recorder, final List<Long> pids, final long startNs,
        final long measureStartNs, final long endNs) {
        Window window = null;
        long nextProgressNs = startNs + PROGRESS_INTERVAL_NS;
        long lastNs = startNs;
        long lastWarmupOps = 0;
        // Measured ops collected so far are those answered in [measureStartNs, collectedNs).
        long collectedNs = measureStartNs;
        long ops = 0;
        while (true) {
            clock.parkUntil(Math.min(nextProgressNs, window == null ? measureStartNs : endNs));
            final long nowNs = clock.nanoTime();
            if (window == null && nowNs >= measureStartNs) {
                window = new Window(Instant.now(), readCpuTicks(pids));
            }
            if (nowNs >= nextProgressNs) {
                final double elapsedSeconds = (nowNs - startNs) / 1e9;
                // A tick just after the window opened has too little of it to show: report the warmup instead.
                if (window != null && nowNs - measureStartNs >= PROGRESS_INTERVAL_NS / 10) {
                    final long intervalOps = recorder.collect();
                    ops += intervalOps;
                    progressOut.printf(Locale.ROOT, "[%5.0fs] %.0f ops/s, avg %.0f ops/s, p99 %d us, errors %d%n",
                        elapsedSeconds, intervalOps / ((nowNs - collectedNs) / 1e9),
                        ops / ((nowNs - measureStartNs) / 1e9), recorder.progress().getValueAtPercentile(99),
                        recorder.errorCount());
                    collectedNs = nowNs;
                } else {
                    final long warmupOps = recorder.warmupOps();
                    progressOut.printf(Locale.ROOT, "[%5.0fs] warmup %.0f ops/s%n", elapsedSeconds,
                        (warmupOps - lastWarmupOps) / ((Math.min(nowNs, measureStartNs) - lastNs) / 1e9));
                    lastWarmupOps = warmupOps;
                }
                lastNs = nowNs;
                nextProgressNs += PROGRESS_INTERVAL_NS;
            }
            if (nowNs >= endNs || Thread.currentThread().isInterrupted()) {
                return window != null ? window : new Window(Instant.now(), readCpuTicks(pids));
            }
        }
    }

    private long[] readCpuTicks(final List<Long> pids) {
        final long[] ticks = new long[pids.size()];
        for (int i = 0; i < ticks.length; i++) {
            try {
                ticks[i] = ProcessCpu.readTicks(pids.get(i));
            } catch (final IOException | IllegalArgumentException e) {
                progressOut.println("cannot read the CPU time of pid " + pids.get(i) + " (exited?): " + e);
                ticks[i] = -1;
            }
        }
        return ticks;
    }

    private void prefill(final KvClient client) throws InterruptedException {
        final long startNs = clock.nanoTime();
        progressOut.printf(Locale.ROOT, "prefill: putting each of %d keys once%n", config.keyCount);
        final Semaphore permits = new Semaphore(config.clientCount);
        final AtomicLong failures = new AtomicLong();
        for (long keyIndex = 0; keyIndex < config.keyCount; keyIndex++) {
            permits.acquire();
            client.call(OpType.PUT, keyIndex, code -> {
                if (code != Status.Code.OK) {
                    failures.incrementAndGet();
                }
                permits.release();
            });
        }
        permits.acquire(config.clientCount);
        permits.release(config.clientCount);
        progressOut.printf(Locale.ROOT, "prefill: done in %.1f s, %d puts failed%n",
            (clock.nanoTime() - startNs) / 1e9, failures.get());
    }

    /** Sends the run's requests. */
    private interface Driver {
        void start();

        /**
         * @param deadlineNs how long to wait for outstanding requests.
         * @return whether none are left.
         * @throws InterruptedException if interrupted.
         */
        boolean awaitDrained(long deadlineNs) throws InterruptedException;

        /**
         * @return operations due in the measured window and never sent (fixed rate only).
         */
        long unsentOps();
    }

    private final class ClosedLoopDriver implements Driver {
        private final KvClient client;
        private final LatencyRecorder recorder;
        private final ScheduledExecutorService timer;
        private final long endNs;
        private final CountDownLatch running = new CountDownLatch(config.clientCount);

        ClosedLoopDriver(final KvClient client, final LatencyRecorder recorder, final ScheduledExecutorService timer,
            final long endNs) {
            this.client = client;
            this.recorder = recorder;
            this.timer = timer;
            this.endNs = endNs;
        }

        @Override
        public void start() {
            for (int i = 0; i < config.clientCount; i++) {
                new Chain().sendNext();
            }
        }

        @Override
        public boolean awaitDrained(final long deadlineNs) throws InterruptedException {
            return running.await(Math.max(0, deadlineNs - clock.nanoTime()), TimeUnit.NANOSECONDS);
        }

        @Override
        public long unsentOps() {
            return 0;
        }

        /** One closed-loop client: one request in flight, its state in fields (read after the call's hand-off). */
        private final class Chain implements KvClient.Completion {
            private OpType type;
            private long startNs;

            void sendNext() {
                final long nowNs = clock.nanoTime();
                if (nowNs >= endNs) {
                    running.countDown();
                    return;
                }
                final ThreadLocalRandom random = ThreadLocalRandom.current();
                type = config.workload.next(random.nextDouble(), config.readRatio);
                startNs = nowNs;
                client.call(type, random.nextLong(config.keyCount), this);
            }

            @Override
            public void completed(final Status.Code code) {
                final long nowNs = clock.nanoTime();
                if (code == Status.Code.OK) {
                    recorder.recordSuccess(type, startNs, startNs, nowNs);
                    sendNext();
                    return;
                }
                recorder.recordError(type, code, startNs);
                try {
                    timer.schedule(this::sendNext, ERROR_BACKOFF_NS, TimeUnit.NANOSECONDS);
                } catch (final RejectedExecutionException e) {
                    running.countDown();
                }
            }
        }
    }

    private final class FixedRateDriver implements Driver {
        private final KvClient client;
        private final LatencyRecorder recorder;
        private final long startNs;
        private final long measureStartNs;
        private final long endNs;
        private final FixedRateScheduler scheduler;
        private final Semaphore permits = new Semaphore(config.clientCount);
        private final Thread thread;
        private volatile long unsentOps;

        FixedRateDriver(final KvClient client, final LatencyRecorder recorder, final long startNs,
            final long measureStartNs, final long endNs) {
            this.client = client;
            this.recorder = recorder;
            this.startNs = startNs;
            this.measureStartNs = measureStartNs;
            this.endNs = endNs;
            this.scheduler = new FixedRateScheduler(clock, config.ratePerSecond);
            this.thread = new Thread(this::schedule, "load-scheduler");
            thread.setDaemon(true);
        }

        @Override
        public void start() {
            thread.start();
        }

        private void schedule() {
            // The measured window gets a schedule of its own: an overloaded server would otherwise leave a backlog
            // of warmup ops that the window spends its time sending, and measure none of its own.
            scheduler.run(startNs, measureStartNs, this::send);
            final long sentOps = scheduler.run(measureStartNs, endNs, this::send);
            unsentOps = scheduler.scheduledBefore(measureStartNs, endNs) - sentOps;
        }

        private boolean send(final long opIndex, final long intendedStartNs) {
            try {
                if (!permits.tryAcquire(Math.max(0, endNs - clock.nanoTime()), TimeUnit.NANOSECONDS)) {
                    return false;
                }
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            final long actualStartNs = clock.nanoTime();
            final ThreadLocalRandom random = ThreadLocalRandom.current();
            final OpType type = config.workload.next(random.nextDouble(), config.readRatio);
            client.call(type, random.nextLong(config.keyCount), code -> {
                final long nowNs = clock.nanoTime();
                if (code == Status.Code.OK) {
                    recorder.recordSuccess(type, intendedStartNs, actualStartNs, nowNs);
                } else {
                    recorder.recordError(type, code, intendedStartNs);
                }
                permits.release();
            });
            return true;
        }

        @Override
        public boolean awaitDrained(final long deadlineNs) throws InterruptedException {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - clock.nanoTime())));
            final long remainingNs = Math.max(0, deadlineNs - clock.nanoTime());
            if (thread.isAlive() || !permits.tryAcquire(config.clientCount, remainingNs, TimeUnit.NANOSECONDS)) {
                return false;
            }
            permits.release(config.clientCount);
            return true;
        }

        @Override
        public long unsentOps() {
            return unsentOps;
        }
    }
}
