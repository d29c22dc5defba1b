package dev.vessel.core.containerizer;

import dev.vessel.core.isolation.IsolatorChain;
import dev.vessel.core.isolation.IsolatorGraph;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A node's isolators as chains: one of every isolator, for recovery, and per isolation class the
 * sub-chain of the isolators that apply to it, which its containers run.
 */
final class IsolatorChains {
    private final IsolatorChain all;
    private final Map<Isolation, IsolatorChain> byIsolation = new EnumMap<>(Isolation.class);

    /** Refuses a broken isolator graph; {@code prepareInOrder}: see {@link IsolatorChain#inOrder}. */
    IsolatorChains(List<Isolator> isolators, boolean prepareInOrder) {
        Set<Key<?>> seedKeys = Set.of(ContainerKeys.ROOTFS, ContainerKeys.IMAGE_LAYERS, ContainerKeys.SANDBOX,
                ContainerKeys.POD_TASK);
        Function<IsolatorGraph, IsolatorChain> chain = prepareInOrder ? IsolatorChain::inOrder : IsolatorChain::new;
        this.all = chain.apply(IsolatorGraph.build(isolators, seedKeys, ContainerKeys.PROVIDER));
        for (Isolation isolation : List.of(Isolation.PROCESS, Isolation.VM)) {
            List<Isolator> applying = isolators.stream().filter(i -> i.appliesTo(isolation)).toList();
            byIsolation.put(isolation, chain.apply(IsolatorGraph.build(applying, seedKeys, ContainerKeys.PROVIDER)));
        }
    }

    /** Every isolator, whether or not any container uses it. */
    IsolatorChain all() {
        return all;
    }

    /** The isolators that apply to the container's isolation class. */
    IsolatorChain of(Container c) {
        return byIsolation.get(c.record.getConfig().getIsolation());
    }
}
