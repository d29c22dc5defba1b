package dev.vessel.core.error;

/**
 * A client's value inside an error message, cut to {@link #MAX_CHARS} characters: an error must never
 * echo an unbounded input back (a 1 MB string in a field would make a 1 MB answer, and a log line).
 */
public final class Quoted {
    /** How much of a value an error message shows; enough to recognise it. */
    public static final int MAX_CHARS = 64;

    private Quoted() {
    }

    /** {@code 'value'}, cut to {@link #MAX_CHARS} characters with an ellipsis. */
    public static String of(Object value) {
        return "'" + truncated(value) + "'";
    }

    /** The value as text, cut to {@link #MAX_CHARS} characters with an ellipsis. */
    public static String truncated(Object value) {
        return truncated(String.valueOf(value), MAX_CHARS);
    }

    /** The text cut to {@code max} characters with an ellipsis, never splitting a surrogate pair. */
    public static String truncated(String text, int max) {
        if (text.length() <= max) {
            return text;
        }
        int end = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
        return text.substring(0, end) + "…";
    }
}
