package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class DomainNamesTest {
    @Test
    void domainNamesAreSafeAndDistinct() {
        assertEquals("vessel-web-1", DomainNames.forContainer("web-1"));
        assertNotEquals(DomainNames.forContainer("a/b"), DomainNames.forContainer("a_b"));
        assertNotEquals(DomainNames.forContainer("a/b"), DomainNames.forContainer("a:b"));
        assertFalse(DomainNames.forContainer("a/b").contains("/"));
    }
}
