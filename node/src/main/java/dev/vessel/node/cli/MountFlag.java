package dev.vessel.node.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * podman's {@code --mount type=bind|volume|tmpfs,KEY=VALUE,…}: the volumes {@code -v} and {@code --tmpfs} give,
 * in the key=value form docker's and podman's {@code --mount} write them. Keys: {@code type}; {@code source}
 * ({@code src}) and {@code target} ({@code dst}, {@code destination}); {@code ro} ({@code readonly}, with an optional
 * {@code =true|false}) and {@code rw}; {@code bind-propagation=private|rprivate} (a container's mounts are
 * private); and for a tmpfs {@code tmpfs-size}, {@code tmpfs-mode}, {@code exec}, {@code noexec} (the default, as
 * {@code --tmpfs}'s).
 */
final class MountFlag implements ITypeConverter<MountFlag.Parsed> {
    /** What one {@code --mount} is: a volume as {@code -v} gives it, or a tmpfs as {@code --tmpfs} does. */
    sealed interface Parsed permits Volume, Scratch {
    }

    record Volume(RunCommand.Mount mount) implements Parsed {
    }

    record Scratch(RunCommand.Tmpfs tmpfs) implements Parsed {
    }

    @Override
    public Parsed convert(String spec) {
        String type = null;
        String source = null;
        String target = null;
        boolean readOnly = false;
        long size = 0;
        int mode = 0;
        Boolean noexec = null;
        boolean tmpfsOnly = false;
        for (String option : spec.split(",", -1)) {
            int equals = option.indexOf('=');
            String key = (equals < 0 ? option : option.substring(0, equals)).toLowerCase(Locale.ROOT);
            String value = equals < 0 ? null : option.substring(equals + 1);
            switch (key) {
                case "type" -> type = value(spec, key, value);
                case "source", "src" -> source = value(spec, key, value);
                case "target", "dst", "destination" -> target = value(spec, key, value);
                case "ro", "readonly" -> readOnly = value == null || bool(spec, key, value);
                case "rw" -> readOnly = value != null && !bool(spec, key, value);
                case "bind-propagation" -> {
                    if (!value(spec, key, value).equals("private") && !value.equals("rprivate")) {
                        throw new TypeConversionException("'" + spec + "': bind-propagation=" + value + " is not"
                                + " supported: a Vessel container's mounts are private");
                    }
                }
                case "tmpfs-size" -> {
                    size = Sizes.parse(value(spec, key, value));
                    tmpfsOnly = true;
                }
                case "tmpfs-mode" -> {
                    mode = RunCommand.TmpfsConverter.mode(spec, value(spec, key, value));
                    tmpfsOnly = true;
                }
                case "exec", "noexec" -> {
                    if (value != null) {
                        throw new TypeConversionException("'" + spec + "': '" + key + "' takes no value");
                    }
                    noexec = key.equals("noexec");
                }
                default -> throw new TypeConversionException("'" + spec + "': unknown key '" + key + "' (known: type,"
                        + " source, target, ro, rw, bind-propagation, tmpfs-size, tmpfs-mode, exec, noexec)");
            }
        }
        if (type == null) {
            throw new TypeConversionException("'" + spec + "': type is missing (bind, volume or tmpfs)");
        }
        if (target == null || !target.startsWith("/")) {
            throw new TypeConversionException("'" + spec + "': the target must be given as an absolute path");
        }
        switch (type) {
            case "bind", "volume" -> {
                if (tmpfsOnly || noexec != null) {
                    throw new TypeConversionException("'" + spec + "': tmpfs-size, tmpfs-mode, exec and noexec are"
                            + " for type=tmpfs");
                }
                if (source == null || (type.equals("bind") != source.startsWith("/"))) {
                    throw new TypeConversionException("'" + spec + "': " + (type.equals("bind")
                            ? "a bind's source must be an absolute host path" : "a volume's source must be its name"));
                }
                return new Volume(new RunCommand.Mount(source, target, readOnly));
            }
            case "tmpfs" -> {
                if (source != null) {
                    throw new TypeConversionException("'" + spec + "': a tmpfs has no source");
                }
                return new Scratch(new RunCommand.Tmpfs(target, size, mode, readOnly, noexec == null || noexec));
            }
            default -> throw new TypeConversionException("'" + spec + "': type=" + type + " is not supported (bind,"
                    + " volume or tmpfs)");
        }
    }

    private static String value(String spec, String key, String value) {
        if (value == null || value.isEmpty()) {
            throw new TypeConversionException("'" + spec + "': '" + key + "' needs a value (" + key + "=…)");
        }
        return value;
    }

    private static boolean bool(String spec, String key, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw new TypeConversionException("'" + spec + "': " + key + "=" + value
                    + " is not true or false");
        };
    }
}
