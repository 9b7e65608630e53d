package io.quiver.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Byte sizes as the command line takes them: {@code 1048576}, {@code 64k}, {@code 512m}, {@code 2g}, {@code 1t}. */
public final class Sizes {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(?:([kmgt])(?:i?b)?|b)?", Pattern.CASE_INSENSITIVE);
    private static final String UNITS = "kmgt";

    private Sizes() {}

    /**
     * Parses a size: a whole number of bytes, optionally followed by k, m, g or t (powers of 1024; {@code MiB}
     * and {@code MB} spellings accepted, both binary).
     *
     * @throws IllegalArgumentException naming the bad text and the accepted forms
     */
    public static long parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("size is missing; use a number of bytes or e.g. 512m, 2g");
        }
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid size '" + text + "': use a whole number of bytes, or one "
                    + "followed by k, m, g or t, e.g. 1048576, 512m, 2g");
        }
        int shift = m.group(2) == null ? 0 : 10 * (UNITS.indexOf(m.group(2).toLowerCase(Locale.ROOT)) + 1);
        try {
            long number = Long.parseLong(m.group(1));
            if (number > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return number << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("size '" + text + "' is too large; the most is " + (Long.MAX_VALUE >> 40)
                    + "t", e);
        }
    }

    /** A human form: {@code 512 MiB}, {@code 1.5 GiB}, {@code 100 B}. */
    public static String format(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return (value == Math.rint(value) ? String.format(Locale.ROOT, "%.0f", value)
                : String.format(Locale.ROOT, "%.1f", value)) + " " + units[unit];
    }

    /** picocli converter for options that take a size. */
    static final class Converter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
