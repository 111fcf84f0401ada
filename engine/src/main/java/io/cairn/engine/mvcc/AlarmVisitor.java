package io.cairn.engine.mvcc;

/**
 * Receives raised alarms.
 */
@FunctionalInterface
public interface AlarmVisitor {
    /**
     * @param memberId the member that raised it.
     * @param alarm    {@link MvccCommand#ALARM_NOSPACE} or {@link MvccCommand#ALARM_CORRUPT}.
     */
    void onAlarm(long memberId, int alarm);
}
