package dev.vessel.core.isolation;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Merges the launch infos of several isolators: repeated fields concatenate in chain order; a singular
 * field may be set by one isolator only, or by several to the same value. Two isolators disagreeing
 * (say, both setting the hostname differently) is a conflict reported with both names. A singular
 * message field (such as {@code vm}) is merged field by field by the same rules, so that one isolator
 * can size a VM and another give it NICs.
 */
final class LaunchInfoMerger {
    private final LaunchInfo.Builder merged = LaunchInfo.newBuilder();
    /** Who set each singular field first and to what (its wire value), by its path ("hostname", "vm.vcpus"). */
    private final Map<String, SetBy> setBy = new HashMap<>();

    private record SetBy(String isolator, Object value) {
    }

    void add(String isolator, LaunchInfo info) {
        if (info.getSerializedSize() == 0) {
            return; // most isolators set nothing
        }
        try {
            checkSingularFields(LaunchInfo.getDescriptor(), info.toByteString(), "", isolator);
        } catch (IOException e) {
            throw new IllegalStateException("a built launch info did not parse", e); // protobuf wrote it
        }
        merged.mergeFrom(info); // repeated fields concatenate, message fields merge, the rest is checked equal above
    }

    /**
     * Reads which singular fields {@code bytes} sets, from its wire format rather than through protobuf's reflection,
     * which asks every field of the message in turn (milliseconds per isolator in the guest's interpreted JVM), and
     * fails on one set before to another value. A message field is read field by field.
     */
    private void checkSingularFields(Descriptor type, ByteString bytes, String prefix, String isolator)
            throws IOException {
        CodedInputStream in = bytes.newCodedInput();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            FieldDescriptor field = type.findFieldByNumber(WireFormat.getTagFieldNumber(tag));
            if (field == null || field.isRepeated()) {
                in.skipField(tag);
                continue;
            }
            String path = prefix + field.getName();
            if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                checkSingularFields(field.getMessageType(), in.readBytes(), path + ".", isolator);
                continue;
            }
            Object value = switch (WireFormat.getTagWireType(tag)) {
                case WireFormat.WIRETYPE_VARINT -> in.readRawVarint64();
                case WireFormat.WIRETYPE_FIXED32 -> in.readRawLittleEndian32();
                case WireFormat.WIRETYPE_FIXED64 -> in.readRawLittleEndian64();
                default -> in.readBytes();
            };
            SetBy previous = setBy.putIfAbsent(path, new SetBy(isolator, value));
            if (previous != null && !previous.value().equals(value)) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "launch_info." + path,
                        "isolators '" + previous.isolator() + "' and '" + isolator + "' set it to different values");
            }
        }
    }

    LaunchInfo result() {
        return merged.build();
    }
}
