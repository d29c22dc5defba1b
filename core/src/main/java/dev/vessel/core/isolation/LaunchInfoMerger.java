package dev.vessel.core.isolation;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
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
    /** Which isolator set a singular field first, by its path ("hostname", "vm.vcpus"). */
    private final Map<String, String> setBy = new HashMap<>();

    void add(String isolator, LaunchInfo info) {
        merge(merged, info, "", isolator);
    }

    private void merge(Message.Builder into, Message from, String prefix, String isolator) {
        for (Map.Entry<FieldDescriptor, Object> field : from.getAllFields().entrySet()) {
            FieldDescriptor descriptor = field.getKey();
            String path = prefix + descriptor.getName();
            if (descriptor.isRepeated()) {
                for (Object element : (Iterable<?>) field.getValue()) {
                    into.addRepeatedField(descriptor, element);
                }
                continue;
            }
            if (descriptor.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                merge(into.getFieldBuilder(descriptor), (Message) field.getValue(), path + ".", isolator);
                continue;
            }
            String previous = setBy.putIfAbsent(path, isolator);
            if (previous != null && !into.getField(descriptor).equals(field.getValue())) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "launch_info." + path,
                        "isolators '" + previous + "' and '" + isolator + "' set it to different values");
            }
            into.setField(descriptor, field.getValue());
        }
    }

    LaunchInfo result() {
        return merged.build();
    }
}
