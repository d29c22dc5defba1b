package dev.vessel.core.paths;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RuntimePaths#containerLineages()}: the walk of the containers tree that recovery starts from. */
class ContainerLineagesTest {
    @TempDir
    Path tmp;

    RuntimePaths paths;

    @BeforeEach
    void setUp() {
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
    }

    @Test
    void noContainersDirectoryMeansNoContainers() {
        assertEquals(List.of(), paths.containerLineages());
    }

    @Test
    void anEmptyContainersDirectoryMeansNoContainers() throws Exception {
        Files.createDirectories(paths.containersDir());

        assertEquals(List.of(), paths.containerLineages());
    }

    @Test
    void nestedContainersFollowTheirParentDepthFirstAndSiblingsComeInNameOrder() throws Exception {
        for (List<String> lineage : List.of(List.of("b"), List.of("a", "a2"), List.of("a", "a1", "deep"),
                List.of("a", "a1"), List.of("c"))) {
            Files.createDirectories(paths.containerDir(lineage));
        }

        assertEquals(List.of(List.of("a"), List.of("a", "a1"), List.of("a", "a1", "deep"), List.of("a", "a2"),
                List.of("b"), List.of("c")), paths.containerLineages());
    }

    @Test
    void entriesThatAreNotDirectoriesAreNotContainers() throws Exception {
        Path a = Files.createDirectories(paths.containerDir(List.of("a")));
        Files.writeString(paths.containersDir().resolve("stray"), "not a container");
        Files.writeString(paths.containerRecord(a), "a record, not a container");
        Files.createDirectories(paths.nestedContainersDir(a));
        Files.writeString(paths.nestedContainersDir(a).resolve("stray"), "not a container");

        assertEquals(List.of(List.of("a")), paths.containerLineages());
    }

    @Test
    void directoriesOfAContainerOtherThanItsContainersAreNotWalked() throws Exception {
        Path a = Files.createDirectories(paths.containerDir(List.of("a")));
        Files.createDirectories(paths.sandboxDir(a).resolve("inner"));
        Files.createDirectories(paths.isolatorCheckpointsDir(a));

        assertEquals(List.of(List.of("a")), paths.containerLineages());
    }
}
