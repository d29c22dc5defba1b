package dev.vessel.node.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Protobuf messages to and from JSON (the proto3 mapping, snake_case field names out, either form in).
 * A request is first checked against the message's descriptor, so that an unknown field or a wrong
 * type is reported with its path ({@code resources.memory_bytes}, {@code volumes[0].target});
 * {@link JsonFormat}'s own messages do not say which field. Numbers are checked as written, before
 * anything converts them, and every value an error quotes is cut short ({@link Quoted}).
 */
final class ProtoJson {
    /** The longest integer accepted, in characters: uint64's largest and int64's smallest both have 20. */
    static final int MAX_INTEGER_CHARS = 20;
    /*
     * Bounds checked while the body is tokenised, before any value is built: a number token past
     * MAX_NUMBER_CHARS never becomes a BigInteger or BigDecimal (a short exponent such as 1e6400000 is
     * only expanded by code that asks for its digits, which nothing here does), and nesting past
     * MAX_DEPTH stops the parse instead of recursing. Shorter numbers reach the field checks below, which
     * name the field.
     */
    static final int MAX_NUMBER_CHARS = 100;
    static final int MAX_STRING_CHARS = 1 << 20;
    static final int MAX_DEPTH = 64;
    /** Floats are read as BigDecimal, which keeps the written digits and exponent for the checks (a double would not). */
    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNumberLength(MAX_NUMBER_CHARS)
                            .maxStringLength(MAX_STRING_CHARS).maxNestingDepth(MAX_DEPTH).build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES) // 10.0 stays 10.0, not 1E+1
            .build();
    private static final Pattern INTEGER = Pattern.compile("[-+]?[0-9]+");
    /** The most digits a floating field takes on each side of the point. */
    private static final int MAX_DECIMAL_DIGITS = 20;
    private static final Pattern PLAIN_DECIMAL = Pattern.compile(
            "[-+]?[0-9]{1,%1$d}(\\.[0-9]{1,%1$d})?".formatted(MAX_DECIMAL_DIGITS));
    /** Parser and JsonFormat messages may quote the body; this much of them is enough to act on. */
    private static final int MAX_PARSER_MESSAGE_CHARS = 256;
    private static final JsonFormat.Parser PARSER = JsonFormat.parser();
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().preservingProtoFieldNames()
            .omittingInsignificantWhitespace();
    private static final BigInteger[] INT32 = {BigInteger.valueOf(Integer.MIN_VALUE), BigInteger.valueOf(Integer.MAX_VALUE)};
    private static final BigInteger[] UINT32 = {BigInteger.ZERO, BigInteger.ONE.shiftLeft(32).subtract(BigInteger.ONE)};
    private static final BigInteger[] INT64 = {BigInteger.valueOf(Long.MIN_VALUE), BigInteger.valueOf(Long.MAX_VALUE)};
    private static final BigInteger[] UINT64 = {BigInteger.ZERO, BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE)};

    private ProtoJson() {
    }

    /** The request body as a JSON object; anything else is refused. */
    static ObjectNode readObject(byte[] body) {
        if (body.length == 0) {
            throw VesselException.invalid("body", "a JSON object is required");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (JacksonException e) {
            throw VesselException.invalid("body", "malformed JSON: "
                    + Quoted.truncated(e.getOriginalMessage(), MAX_PARSER_MESSAGE_CHARS)
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr()
                            + ", column " + e.getLocation().getColumnNr() + ")"));
        } catch (java.io.IOException e) {
            throw VesselException.invalid("body", "unreadable: " + e.getMessage());
        }
        if (!(node instanceof ObjectNode object)) {
            throw VesselException.invalid("body", "must be a JSON object");
        }
        return object;
    }

    /** Merges {@code json} into {@code builder}; {@code path} prefixes field names in errors ("" at the top). */
    static <B extends Message.Builder> B merge(ObjectNode json, B builder, String path) {
        checkMessage(json, builder.getDescriptorForType(), path);
        try {
            PARSER.merge(json.toString(), builder);
        } catch (InvalidProtocolBufferException e) {
            throw VesselException.invalid(path.isEmpty() ? "body" : path,
                    Quoted.truncated(String.valueOf(e.getMessage()), MAX_PARSER_MESSAGE_CHARS));
        }
        return builder;
    }

    static String print(MessageOrBuilder message) {
        try {
            return PRINTER.print(message);
        } catch (InvalidProtocolBufferException e) {
            throw VesselException.internal(message.getDescriptorForType().getName(), "cannot print as JSON", e);
        }
    }

    private static void checkMessage(JsonNode node, Descriptor type, String path) {
        if (!node.isObject()) {
            throw VesselException.invalid(path.isEmpty() ? "body" : path, "must be a JSON object, got " + kind(node));
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            FieldDescriptor field = type.findFieldByName(e.getKey());
            if (field == null) {
                field = type.getFields().stream().filter(f -> f.getJsonName().equals(e.getKey())).findFirst().orElse(null);
            }
            if (field == null) {
                throw VesselException.invalid(join(path, Quoted.truncated(e.getKey())), "unknown field");
            }
            String at = join(path, field.getName());
            JsonNode value = e.getValue();
            if (value.isNull()) {
                continue; // the proto3 mapping reads null as the default
            }
            if (field.isMapField()) {
                if (!value.isObject()) {
                    throw VesselException.invalid(at, "must be a JSON object, got " + kind(value));
                }
                FieldDescriptor valueField = field.getMessageType().findFieldByName("value");
                for (Map.Entry<String, JsonNode> entry : value.properties()) {
                    checkValue(valueField, entry.getValue(), at + "." + Quoted.truncated(entry.getKey()));
                }
            } else if (field.isRepeated()) {
                if (!value.isArray()) {
                    throw VesselException.invalid(at, "must be a JSON array, got " + kind(value));
                }
                for (int i = 0; i < value.size(); i++) {
                    checkValue(field, value.get(i), at + "[" + i + "]");
                }
            } else {
                checkValue(field, value, at);
            }
        }
    }

    private static void checkValue(FieldDescriptor field, JsonNode value, String at) {
        switch (field.getJavaType()) {
            case INT, LONG -> integer(field, value, at);
            case FLOAT, DOUBLE -> {
                if (!isPlainDecimal(value)) {
                    throw VesselException.invalid(at, "must be a plain decimal number (at most " + MAX_DECIMAL_DIGITS
                            + " digits before and after the point, no exponent), got " + kind(value));
                }
            }
            case BOOLEAN -> {
                if (!value.isBoolean()) {
                    throw VesselException.invalid(at, "must be true or false, got " + kind(value));
                }
            }
            case STRING, BYTE_STRING -> {
                if (!value.isTextual()) {
                    throw VesselException.invalid(at, "must be a string, got " + kind(value));
                }
            }
            case ENUM -> {
                boolean known = value.isTextual() ? field.getEnumType().findValueByName(value.asText()) != null
                        : value.canConvertToInt() && value.isIntegralNumber()
                                && field.getEnumType().findValueByNumber(value.asInt()) != null;
                if (!known) {
                    throw VesselException.invalid(at, "must be one of " + field.getEnumType().getValues().stream()
                            .filter(v -> v.getNumber() != 0).map(v -> v.getName()).collect(Collectors.joining(", "))
                            + ", got " + Quoted.truncated(value));
                }
            }
            case MESSAGE -> {
                // well-known types (Timestamp, …) have their own JSON forms; JsonFormat checks those
                if (!field.getMessageType().getFullName().startsWith("google.protobuf.")) {
                    checkMessage(value, field.getMessageType(), at);
                }
            }
        }
    }

    /**
     * proto3 JSON takes integers as numbers or as strings (64-bit values do not fit a double); either
     * way only plain digits of bounded length, checked before any conversion, so that an exponent never
     * expands into millions of digits.
     */
    private static void integer(FieldDescriptor field, JsonNode value, String at) {
        String text = value.isIntegralNumber() || value.isTextual() ? value.asText() : null;
        if (text == null || text.length() > MAX_INTEGER_CHARS || !INTEGER.matcher(text).matches()) {
            throw VesselException.invalid(at, "must be an integer: a JSON integer, or a string of digits with an"
                    + " optional sign, at most " + MAX_INTEGER_CHARS + " characters, no fraction or exponent; got "
                    + kind(value));
        }
        BigInteger number = new BigInteger(text);
        BigInteger[] range = switch (field.getType()) {
            case UINT32, FIXED32 -> UINT32;
            case UINT64, FIXED64 -> UINT64;
            case INT64, SINT64, SFIXED64 -> INT64;
            default -> INT32;
        };
        if (number.compareTo(range[0]) < 0 || number.compareTo(range[1]) > 0) {
            throw VesselException.invalid(at, number + " is out of range " + Arrays.toString(range));
        }
    }

    /** A JSON number or a string, written as digits with at most one point: no exponent, NaN or Infinity. */
    private static boolean isPlainDecimal(JsonNode value) {
        if (value.isTextual()) {
            return PLAIN_DECIMAL.matcher(value.asText()).matches();
        }
        if (value.isIntegralNumber()) {
            return value.asText().length() <= MAX_DECIMAL_DIGITS + 1; // +1: the sign
        }
        if (value.isBigDecimal()) {
            // read as written: a negative scale is an exponent, and the digits on each side are bounded
            BigDecimal decimal = value.decimalValue();
            int scale = decimal.scale();
            return scale >= 0 && scale <= MAX_DECIMAL_DIGITS && decimal.precision() - scale <= MAX_DECIMAL_DIGITS;
        }
        return false;
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string " + Quoted.truncated(node);
            case NUMBER -> "the number " + Quoted.truncated(node);
            case BOOLEAN -> node.toString();
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }
}
