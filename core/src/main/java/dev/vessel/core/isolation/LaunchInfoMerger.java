package dev.vessel.core.isolation;

import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import java.util.HashMap;
import java.util.Map;

/**
 * Merges the launch infos of several isolators: repeated fields concatenate in chain order; a singular
 * field may be set by one isolator only, or by several to the same value. Two isolators disagreeing
 * (say, both setting the hostname differently) is a conflict reported with both names.
 */
final class LaunchInfoMerger {
    private final LaunchInfo.Builder merged = LaunchInfo.newBuilder();
    private final Map<FieldDescriptor, String> setBy = new HashMap<>();

    void add(String isolator, LaunchInfo info) {
        for (Map.Entry<FieldDescriptor, Object> field : info.getAllFields().entrySet()) {
            FieldDescriptor descriptor = field.getKey();
            if (descriptor.isRepeated()) {
                for (Object element : (Iterable<?>) field.getValue()) {
                    merged.addRepeatedField(descriptor, element);
                }
                continue;
            }
            String previous = setBy.putIfAbsent(descriptor, isolator);
            if (previous != null && !merged.getField(descriptor).equals(field.getValue())) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "launch_info." + descriptor.getName(),
                        "isolators '" + previous + "' and '" + isolator + "' set it to different values");
            }
            merged.setField(descriptor, field.getValue());
        }
    }

    LaunchInfo result() {
        return merged.build();
    }
}
